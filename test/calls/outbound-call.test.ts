// Edge cases of one outbound call (src/calls/outbound-call.ts) with a real ledger and concurrency
// slots on redis-server, and fakes for drachtio (srf dialogs) and FreeSWITCH (endpoints), so the
// races (CANCEL/BYE while the caller leg is being answered, shutdown while dialling, media and
// Redis failures) can be staged deterministically.
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shiftedClock } from '../../src/calls/clock.js';
import { OutboundCallHandler, type LiveCall } from '../../src/calls/outbound-call.js';
import type { Cdr } from '../../src/cdr/model.js';
import type { CdrWriter } from '../../src/cdr/writer.js';
import { ConcurrencySlots, slotKey } from '../../src/ledger/concurrency.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { recoverOrphans } from '../../src/ledger/recovery.js';
import type { MediaGateway } from '../../src/media/media-gateway.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { deferred, FakeDialog, FakeMedia, FakeRes, FakeSrf, tick, until } from './fakes.js';
import { beijing, rate, seat, snapshot, tenant, trunk } from '../policy/fixtures.js';
import type { Redis } from 'ioredis';
import { agentState } from '../../src/agents/agent-state.js';
import { AgentStore } from '../../src/agents/agent-store.js';

class FakeReq extends EventEmitter {
  method = 'INVITE';
  uri = 'sip:13812345678@dialgate.test';
  body = 'v=0\r\nm=audio 40000 RTP/AVP 8\r\n';
  /** The seat's SIP transport as drachtio reports it (`tcp` for WebSocket too) and its top Via. */
  protocol = 'udp';
  via = 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1';
  constructor(readonly callId: string) { super(); }
  get(h: string): string {
    if (h === 'Call-ID') return this.callId;
    if (h === 'From') return '<sip:01088886666@dialgate.test>;tag=1';
    if (h === 'Content-Type') return 'application/sdp';
    if (h === 'Via') return this.via;
    return '';
  }
  has(h: string): boolean { return this.get(h) !== ''; }
}

const NOON = beijing('2026-03-10T12:00');

describe('outbound call edge cases', () => {
  let redis: RedisInstance;
  let client: Redis;
  let ledger: Ledger;
  let slots: ConcurrencySlots;
  let n = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => { unhandled.push(e); };

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    ledger = new Ledger(client, { instanceId: 'unit', heartbeatMs: 60_000 });
    slots = new ConcurrencySlots(client);
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.disconnect();
    await redis?.stop();
  });
  afterEach(() => { unhandled.length = 0; });

  // Each test has its own tenant, account and trunks, so one test's leak cannot hide in another's.
  async function setup(o: {
    ledger?: Ledger; slots?: ConcurrencySlots; balance?: number; increments?: number; chunkSeconds?: number; heartbeatMs?: number;
    mediaAvailable?: boolean; recordingRequired?: boolean; routeMedia?: 'anchored' | 'direct'; via?: string; body?: string; agents?: AgentStore;
  } = {}) {
    const i = ++n;
    const callId = `unit-${i}-${Date.now()}`;
    const t = tenant({ id: `t${i}`, account: `acct-${i}`, warningSeconds: 1, recordingRequired: o.recordingRequired ?? false });
    await ledger.createAccount(t.account, { tenant: t.id, prepaidTotal: 1_000_000 });
    await ledger.topUp(t.account, 'initial', o.balance ?? 1_000_000, 'test');
    const trunkIds = [`a${i}`, `b${i}`] as const;
    const cfg = snapshot({
      tenants: [t],
      seats: [seat({ tenant: t.id })],
      trunks: trunkIds.map((id) => trunk({ id })),
      routes: [{ id: 'default', priority: 100, match: {}, trunks: trunkIds.map((id) => ({ trunk: id, weight: 1 })), media: o.routeMedia ?? 'anchored' }],
      tariffs: [{ id: 'telesales', rates: [rate(o.increments ? { initialIncrement: o.increments, subsequentIncrement: o.increments } : {})] }],
    });
    const srf = new FakeSrf();
    const media = new FakeMedia();
    media.available = o.mediaAvailable ?? true;
    const degraded: string[] = [];
    const cdrs: Cdr[] = [];
    const cdr = { write: async (c: Cdr) => { cdrs.push(c); return 'written' as const; } } as unknown as CdrWriter;
    const live = new Map<string, LiveCall>();
    const clock = shiftedClock(NOON);
    const handler = new OutboundCallHandler({
      srf: srf as never, media: media as unknown as MediaGateway, ledger: o.ledger ?? ledger, slots: o.slots ?? slots, cdr,
      clock, log: pino({ level: 'silent' }), live, onMediaDegraded: (note) => degraded.push(note), ...(o.agents ? { agents: o.agents } : {}),
      settings: { chunkSeconds: o.chunkSeconds ?? 120, heartbeatMs: o.heartbeatMs ?? 60_000, recordingsDir: '/tmp/rec', defaultWarning: 'tone', sipDomain: 'dialgate.test' },
    });
    const req = new FakeReq(callId);
    if (o.via) {
      req.via = o.via;
      req.protocol = 'tcp';
    }
    if (o.body) req.body = o.body;
    const res = new FakeRes();
    const done = handler.handle(req as never, res as never, seat({ tenant: t.id }), cfg);
    return { callId, srf, media, cdrs, live, req, res, done, tenant: t, trunkIds, clock, degraded };
  }

  /** Nothing held after the call: no reservation, no slot, no live entry, one CDR. */
  type Setup = Awaited<ReturnType<typeof setup>>;
  async function expectClean(s: Setup, cdrs = 1): Promise<void> {
    await until(() => s.cdrs.length >= cdrs, 'the CDR');
    await tick(50);
    expect(s.cdrs).toHaveLength(cdrs);
    const acct = await ledger.getAccount(s.tenant.account);
    expect(acct!.reserved).toBe(0);
    expect(await slots.count(slotKey('tenant', s.tenant.id))).toBe(0);
    for (const id of s.trunkIds) expect(await slots.count(slotKey('trunk', id))).toBe(0);
    expect(s.live.size).toBe(0);
    expect(unhandled).toEqual([]);
  }

  async function answerTrunkWebRtc(s: Setup): Promise<void> {
    await until(() => s.srf.uacs.length === 1, 'the trunk INVITE');
    s.srf.uacs[0]!.result.resolve(new FakeDialog());
    await until(() => s.media.webrtcDialogs.length === 1, 'the WebRTC answer');
  }

  async function answerTrunk(s: Setup): Promise<FakeDialog> {
    await until(() => s.srf.uacs.length === 1, 'the trunk INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    return b;
  }

  it('a CANCEL that arrives before the call reaches the dialler stops it: no trunk INVITE, a 487 CDR', async () => {
    const s = await setup();
    // The handler is still reading the ledger view when the seat gives up.
    s.req.emit('cancel');
    await until(() => s.cdrs.length > 0 || s.srf.uacs.length > 0, 'the CDR or a trunk INVITE');
    expect(s.srf.uacs).toHaveLength(0);
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.sipStatus).toBe(487);
    expect(s.cdrs[0]!.hangupCause).toBe('cancel');
  });

  it('a CANCEL while the first trunk\'s slot is still being taken (with the port and the money): the slot that lands is given back', async () => {
    let cancel = (): void => {};
    class SlowTrunk extends ConcurrencySlots {
      override async acquire(key: string, callId: string, limit: number, ttlMs: number) {
        if (key.includes('{trunk:')) {
          cancel();
          await tick(100);
        }
        return super.acquire(key, callId, limit, ttlMs);
      }
    }
    const s = await setup({ slots: new SlowTrunk(client), routeMedia: 'direct' });
    cancel = () => s.req.emit('cancel');
    await s.done;
    await tick(150); // past the slow acquire: a slot landing after the call's end would be held now
    await expectClean(s);
    expect(s.srf.uacs).toHaveLength(0);
    expect(s.cdrs[0]!.sipStatus).toBe(487);
  });

  it('the callee hanging up while the seat leg is being answered ends both legs', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    b.emit('destroy'); // BYE from the carrier before createUAS returned
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(a.destroyed).toBe(1);
    expect(s.cdrs[0]!.hangupBy).toBe('callee');
    await s.done;
    await expectClean(s);
    expect(s.media.eps.every((e) => e.destroyed > 0)).toBe(true);
  });

  it('agent state: the seat is on-call from the allowed INVITE, in wrap-up after an answered call, available after a failed one', async () => {
    const agents = new AgentStore(client);
    const seatOf = async (at: number) => agentState((await agents.records(['1001'])).get('1001')!, 20, at);
    const s = await setup({ agents });
    const b = await answerTrunk(s);
    expect((await seatOf(NOON + 1000)).state).toBe('on-call');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    b.emit('destroy');
    await s.done;
    await expectClean(s);
    const endAt = s.cdrs[0]!.endAt;
    expect(await seatOf(endAt + 19_999)).toMatchObject({ state: 'wrap-up', since: endAt });
    expect((await seatOf(endAt + 20_000)).state).toBe('available');
    // A call that never connects (CANCEL while dialling): no wrap-up.
    const c = await setup({ agents });
    await until(() => c.srf.uacs.length === 1, 'the trunk INVITE');
    expect((await seatOf(NOON + 1000)).state).toBe('on-call');
    c.req.emit('cancel');
    await c.done;
    expect(await seatOf(c.cdrs[0]!.endAt)).toMatchObject({ state: 'available', since: c.cdrs[0]!.endAt });
  });

  it('the seat hanging up while the media bridge is being set up ends the trunk leg', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    const gate = deferred<void>();
    s.media.eps[0]!.bridgeGate = gate;
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick();
    a.emit('destroy'); // BYE from the seat while epA.bridge is pending
    gate.resolve();
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(b.destroyed).toBe(1);
    expect(s.cdrs[0]!.hangupBy).toBe('caller');
    await s.done;
    await expectClean(s);
  });

  it('a media bridge failure after the seat was answered hangs up both legs', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    const gate = deferred<void>();
    s.media.eps[0]!.bridgeGate = gate;
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick();
    gate.reject(new Error('-ERR bridge failed'));
    await s.done;
    await expectClean(s);
    expect(b.destroyed).toBe(1);
    expect(a.destroyed).toBe(1);
  });

  it('shutdown while dialling answers the seat with a final response and writes the CDR', async () => {
    const s = await setup();
    await until(() => s.srf.uacs.length === 1 && s.srf.uacs[0]!.requestSent, 'the trunk INVITE');
    s.live.get(s.callId)!.hangup('shutdown');
    await s.done;
    expect(s.srf.uacs[0]!.cancels).toBe(1);
    expect(s.res.finalResponseSent).toBe(true);
    expect(s.res.sent.at(-1)).toBeGreaterThanOrEqual(400);
    await expectClean(s);
    expect(s.cdrs[0]!.hangupBy).toBe('system');
  });

  it('shutdown while the seat leg is being answered still ends the call', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    s.live.get(s.callId)!.hangup('shutdown');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(a.destroyed).toBe(1);
    expect(b.destroyed).toBe(1);
    await s.done;
    await expectClean(s);
  });

  it('a BYE that crosses ours (dialog already gone) does not become an unhandled rejection', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    b.failDestroy = true;
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    a.emit('destroy');
    await s.done;
    await expectClean(s);
  });

  it('a ledger heartbeat failure at answer neither settles the live call early nor writes two CDRs', async () => {
    let failHeartbeat = true;
    const flaky = new Proxy(ledger, {
      get(t, p, r) {
        if (p === 'heartbeat') return async (...args: Parameters<Ledger['heartbeat']>) => {
          if (failHeartbeat) { failHeartbeat = false; throw new Error('redis timeout'); }
          return t.heartbeat(...args);
        };
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const s = await setup({ ledger: flaky });
    const b = await answerTrunk(s);
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick(100);
    // Still up: nothing settled, no CDR yet, the trunk leg not torn down.
    expect(s.cdrs).toHaveLength(0);
    expect(b.destroyed).toBe(0);
    expect((await ledger.getAccount(s.tenant.account))!.reserved).toBeGreaterThan(0);
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.hangupBy).toBe('caller');
    expect(s.cdrs[0]!.cost).toBeGreaterThan(0);
  });

  it('a call that rings longer than the recovery staleness is not taken by recovery', async () => {
    // Heartbeat every 100 ms; recovery treats 300 ms of silence as a crashed instance.
    const fast = new Ledger(client, { instanceId: 'unit-fast', heartbeatMs: 100 });
    const s = await setup({ ledger: fast, heartbeatMs: 100 });
    await until(() => s.srf.uacs.length === 1, 'the trunk INVITE');
    await tick(800); // ringing, unanswered
    const outcomes = await recoverOrphans(fast, s.clock.now(), () => 0);
    expect(outcomes.filter((o) => o.callId === s.callId).map((o) => o.outcome)).not.toContain('released');
    expect((await ledger.getAccount(s.tenant.account))!.reserved).toBeGreaterThan(0);
    s.srf.uacs[0]!.result.resolve(new FakeDialog());
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick(50);
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.recovered).toBe(false);
    expect(s.cdrs[0]!.cost).toBeGreaterThan(0);
  });

  it('an unexpected error while dialling releases the media endpoints and answers 500', async () => {
    const broken = new Proxy(slots, {
      get(t, p, r) {
        if (p === 'acquire') return async (key: string, ...rest: [string, number, number]) => {
          if (key.includes('trunk')) throw new Error('redis down');
          return t.acquire(key, ...rest);
        };
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const s = await setup({ slots: broken });
    await s.done;
    await expectClean(s);
    expect(s.res.sent.at(-1)).toBe(500);
    expect(s.media.eps.length).toBe(2);
    expect(s.media.eps.every((e) => e.destroyed > 0)).toBe(true);
  });

  it('a reservation extension that never returns cannot let the call run past the paid boundary', async () => {
    const hung = new Proxy(ledger, {
      get(t, p, r) {
        if (p === 'extend') return () => new Promise(() => {});
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    // 1/1 increments at 0.13 yuan/min, 1 s chunks: the first grant pays 1 s, the extension hangs.
    const s = await setup({ ledger: hung, increments: 1, chunkSeconds: 1 });
    const b = await answerTrunk(s);
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the cut-off', 3000);
    expect(s.cdrs[0]!.hangupBy).toBe('cutoff');
    expect(s.cdrs[0]!.billedSeconds).toBeLessThanOrEqual(1);
    expect(a.destroyed).toBe(1);
    expect(b.destroyed).toBe(1);
    await s.done;
    await expectClean(s);
  });

  it('no media server: a recorded tenant\'s anchored call connects direct, and the CDR and metrics say it was not recorded', async () => {
    const s = await setup({ mediaAvailable: false });
    const b = await answerTrunk(s);
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(b.destroyed).toBe(1);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 200, media: 'direct', mediaNote: 'not recorded: media server unavailable', recordingPath: null });
    expect(s.degraded).toEqual(['not recorded: media server unavailable']);
  });

  const WEBRTC_OFFER = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\na=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\na=ice-ufrag:x\r\n';

  it('a WebRTC seat on a media: direct route: anchored anyway, its 200 sent through the media server, the CDR says why', async () => {
    const s = await setup({ routeMedia: 'direct', body: WEBRTC_OFFER });
    await until(() => s.srf.uacs.length === 1, 'the trunk INVITE');
    // Only the trunk's endpoint before the answer: the browser's needs its DTLS handshake, at the answer.
    expect(s.media.eps).toHaveLength(1);
    const trunkEp = s.media.eps[0]!;
    s.srf.uacs[0]!.result.resolve(new FakeDialog({ sdp: 'v=0 trunk answer' }));
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    expect(trunkEp.modified).toEqual(['v=0 trunk answer']);
    // The seat was answered through the media server (FreeSWITCH's DTLS answer), not by createUAS.
    expect(s.media.webrtcAnswers).toHaveLength(1);
    expect(s.srf.uas).toHaveLength(0);
    expect(s.media.eps[1]!.bridgedTo).toBe(trunkEp);
    s.media.webrtcDialogs[0]!.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 200, hangupBy: 'caller', media: 'anchored', mediaNote: 'anchored: WebRTC seat (route media: direct overridden)' });
    expect(s.cdrs[0]!.recordingPath).toMatch(/\.wav$/);
  });

  it('a seat on SIP over WebSocket counts as WebRTC even when its offer does not say so (its Via does; drachtio says tcp)', async () => {
    const s = await setup({ routeMedia: 'direct', via: 'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK7;received=192.0.2.20;rport=50412' });
    await answerTrunkWebRtc(s);
    s.media.webrtcDialogs[0]!.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ media: 'anchored', mediaNote: 'anchored: WebRTC seat (route media: direct overridden)' });
  });

  it('a WebRTC seat and no media server: 503 with a Reason, no trunk dialled (a browser cannot reach plain RTP)', async () => {
    const s = await setup({ routeMedia: 'direct', body: WEBRTC_OFFER, mediaAvailable: false });
    await s.done;
    await expectClean(s);
    expect(s.srf.uacs).toHaveLength(0);
    expect(s.res.sent.at(-1)).toBe(503);
    expect(s.res.headers.at(-1)?.Reason).toBe('SIP ;cause=503 ;text="WebRTC call, media server unavailable"');
    expect(s.cdrs[0]).toMatchObject({
      decision: 'deny', denyReason: 'webrtc-media-unavailable', sipStatus: 503, mediaNote: 'not connected: WebRTC seat, media server unavailable',
    });
    expect(s.degraded).toEqual([]);
  });

  it('recording: required and no media server: 503 with a Reason, no trunk dialled, a CDR that says why', async () => {
    const s = await setup({ mediaAvailable: false, recordingRequired: true });
    await s.done;
    await expectClean(s);
    expect(s.srf.uacs).toHaveLength(0);
    expect(s.res.sent.at(-1)).toBe(503);
    expect(s.res.headers.at(-1)?.Reason).toBe('SIP ;cause=503 ;text="Recording required, media server unavailable"');
    expect(s.cdrs[0]).toMatchObject({ decision: 'deny', denyReason: 'recording-unavailable', sipStatus: 503, mediaNote: 'not recorded: media server unavailable' });
    expect(s.cdrs[0]!.trace.at(-1)).toMatchObject({ step: 'media', outcome: 'deny' });
  });

  it('an anchored, recorded call records with uuid_record (an api runs on a bridged channel) and says anchored', async () => {
    const s = await setup();
    const b = await answerTrunk(s);
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.media.eps[0]?.apis.some((x) => x.startsWith('uuid_record')) ?? false, 'the recording');
    expect(s.media.eps[0]!.apis.find((x) => x.startsWith('uuid_record'))).toMatch(/^uuid_record ep-\d+ start \/tmp\/rec\/t\d+\/2026-03-10\/unit-/);
    b.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ media: 'anchored', mediaNote: null });
    expect(s.cdrs[0]!.recordingPath).toMatch(/\.wav$/);
    // Both endpoints released with uuid_kill as well as fsmrf's destroy.
    for (const ep of s.media.eps) expect(ep.apis).toContain(`uuid_kill ${ep.uuid}`);
  });
});
