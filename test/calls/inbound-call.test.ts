// Edge cases of one inbound 400 call (src/calls/inbound-call.ts, member-dialer.ts, meter.ts) with a
// real ledger, concurrency slots and inbound state on redis-server, and fakes for drachtio (srf
// dialogs) and FreeSWITCH (endpoints), so the races (CANCEL while the ledger is read or members
// ring, hangups and shutdown during IVR, ringing and answer, media and Redis failures) can be
// staged deterministically. Same fake style as outbound-call.test.ts.
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shiftedClock } from '../../src/calls/clock.js';
import { InboundCallHandler } from '../../src/calls/inbound-call.js';
import { InboundState, missedDay } from '../../src/calls/inbound-state.js';
import type { LiveCall } from '../../src/calls/outbound-call.js';
import type { Cdr } from '../../src/cdr/model.js';
import type { CdrWriter } from '../../src/cdr/writer.js';
import type { ConfigSnapshot } from '../../src/config/types.js';
import { ConcurrencySlots, slotKey } from '../../src/ledger/concurrency.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { recoverOrphans } from '../../src/ledger/recovery.js';
import { rateFromMeta, recoveryCdrs } from '../../src/calls/recovery-cdrs.js';
import { CdrWriter as RedisCdrWriter } from '../../src/cdr/writer.js';
import type { MediaGateway } from '../../src/media/media-gateway.js';
import type { RegistrarStore } from '../../src/registrar/store.js';
import { edit, exampleCopy, load, removeTempDirs } from '../config/fixture.js';
import { AgentStore } from '../../src/agents/agent-store.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { deferred, FakeDialog, FakeMedia, FakeRes, FakeSrf, tick, UnackedAnswer, until } from './fakes.js';

class FakeReq extends EventEmitter {
  method = 'INVITE';
  uri: string;
  body = 'v=0 caller';
  source_address = '127.0.0.1';
  source_port = 5060;
  canceled?: boolean;
  constructor(readonly callId: string, number: string, readonly caller = '01062345678') {
    super();
    this.uri = `sip:${number}@dialgate.test`;
    // As app.ts does for every INVITE before dispatching it.
    this.on('cancel', () => { this.canceled = true; });
  }
  has(): boolean { return false; }
  get(h: string): string {
    if (h === 'Call-ID') return this.callId;
    if (h === 'From') return `<sip:${this.caller}@carrier.test>;tag=1`;
    return '';
  }
}

const MONDAY_10 = Date.parse('2026-11-23T10:00:00+08:00');

interface PlanOptions {
  wrapUpSeconds?: number;
  strategy?: string;
  members?: string;
  noAnswerSeconds?: number;
  welcome?: boolean;
  pin?: boolean;
  increments?: string;
  overflow?: string;
}

describe('inbound 400 call edge cases', () => {
  let redis: RedisInstance;
  let client: Redis;
  let ledger: Ledger;
  let slots: ConcurrencySlots;
  let state: InboundState;
  let n = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => { unhandled.push(e); };

  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    ledger = new Ledger(client, { instanceId: 'unit-in', heartbeatMs: 60_000 });
    slots = new ConcurrencySlots(client);
    state = new InboundState(client);
    await ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 10_000_000 });
    await ledger.topUp('telesales', 'initial', 10_000_000, 'test');
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.disconnect();
    await redis?.stop();
    await removeTempDirs();
  });
  afterEach(() => { unhandled.length = 0; });

  async function config(i: number, o: PlanOptions): Promise<{ cfg: ConfigSnapshot; number: string; account: string }> {
    const number = `40080506${String(i).padStart(2, '0')}`;
    const account = `pkg-${i}`;
    const dir = await exampleCopy();
    if (o.wrapUpSeconds !== undefined) await edit(dir, 'tenants.yaml', ['    maxConcurrent: 30', `    maxConcurrent: 30\n    wrapUpSeconds: ${o.wrapUpSeconds}`]);
    const members = o.members ?? '[{ seat: "1001" }, { seat: "1002" }]';
    await writeFile(join(dir, 'plans400.yaml'), `plans400:
  - number: "${number}"
    owner: telesales
    account: ${account}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", increments: ${o.increments ?? '60/60'}, startDate: "2026-01-01" }
    announcements: { unavailable: busy.wav }
${o.welcome ? '    welcome: welcome.wav\n' : ''}${o.pin ? '    pin: { digits: "2468", maxAttempts: 3 }\n' : ''}    group: g
    groups:
      - { id: g, strategy: ${o.strategy ?? 'ring-all'}, noAnswerSeconds: ${o.noAnswerSeconds ?? 10}, members: ${members}${o.overflow ? `, overflow: ${o.overflow}` : ''} }
${o.overflow ? `      - { id: ${o.overflow}, members: [{ seat: "1003" }] }\n` : ''}`);
    const r = await load(dir);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return { cfg: r.snapshot, number, account };
  }

  async function setup(o: PlanOptions & {
    ledger?: Ledger; balance?: number; chunkSeconds?: number; heartbeatMs?: number; beforeHandle?: (s: { req: FakeReq }) => void;
    media?: FakeMedia; mediaAvailable?: boolean;
    /** Agent state (issue 13) and the tenant's wrap-up seconds; the call's clock starts at `at`. */
    agents?: AgentStore; wrapUpSeconds?: number; at?: number; plan?: { cfg: ConfigSnapshot; number: string; account: string };
    /** Seats registered from a browser (sip.js over WebSocket), not a desktop phone. */
    browserSeats?: string[];
  } = {}) {
    const i = ++n;
    const callId = `in-unit-${i}-${Date.now()}`;
    const { cfg, number, account } = o.plan ?? await config(i, o);
    await ledger.createAccount(account, { tenant: 'telesales', prepaidTotal: 10_000_000 });
    await ledger.topUp(account, 'package', o.balance ?? 1_000_000, 'test');
    const srf = new FakeSrf();
    srf.provisional = 180; // members ring
    const media = o.media ?? new FakeMedia();
    media.available = o.mediaAvailable ?? true;
    const cdrs: Cdr[] = [];
    const cdr = { write: async (c: Cdr) => { cdrs.push(c); return 'written' as const; } } as unknown as CdrWriter;
    const live = new Map<string, LiveCall>();
    const clock = shiftedClock(o.at ?? MONDAY_10);
    const registrar = {
      lookup: async (aor: string) => [o.browserSeats?.includes(aor)
        ? { contact: `sip:k2j4hq7p@x8rk1m3vq2.invalid;transport=ws`, transport: 'ws', registeredAt: 1 }
        : { contact: `sip:${aor}@10.0.0.${aor.slice(-1)}:5070`, transport: 'udp', registeredAt: 1 }],
    } as unknown as RegistrarStore;
    const handler = new InboundCallHandler({
      srf: srf as never, media: media as unknown as MediaGateway, ledger: o.ledger ?? ledger, slots, cdr, registrar, state,
      ...(o.agents ? { agents: o.agents } : {}), clock, log: pino({ level: 'silent' }), live,
      settings: { chunkSeconds: o.chunkSeconds ?? 120, heartbeatMs: o.heartbeatMs ?? 60_000, recordingsDir: '/tmp/rec', defaultWarning: 'tone', sipDomain: 'dialgate.test' },
    });
    const req = new FakeReq(callId, number);
    const res = new FakeRes();
    const done = handler.handle(req as never, res as never, cfg);
    o.beforeHandle?.({ req });
    return { callId, srf, media, cdrs, live, req, res, done, account, number, cfg, clock };
  }

  type Setup = Awaited<ReturnType<typeof setup>>;
  /** Nothing held after the call: no reservation (package, tenant), no trunk slot, no live entry, one CDR, media released. */
  async function expectClean(s: Setup, cdrs = 1): Promise<void> {
    await until(() => s.cdrs.length >= cdrs, 'the CDR');
    await tick(50);
    expect(s.cdrs).toHaveLength(cdrs);
    expect((await ledger.getAccount(s.account))!.reserved).toBe(0);
    expect((await ledger.getAccount('telesales'))!.reserved).toBe(0);
    for (const id of ['trunk-a', 'trunk-b']) expect(await slots.count(slotKey('trunk', id))).toBe(0);
    expect(s.live.size).toBe(0);
    expect(s.media.eps.filter((e) => e.destroyed === 0).map((e) => e.uuid)).toEqual([]);
    expect(unhandled).toEqual([]);
  }

  const uacsTo = (s: Setup, part: string) => s.srf.uacs.filter((u) => u.uri.includes(part));

  it('a CANCEL while the package account is read stops the call: nobody is rung, one 487 CDR', async () => {
    const s = await setup({ beforeHandle: ({ req }) => req.emit('cancel') });
    await s.done;
    expect(s.srf.uacs).toHaveLength(0);
    await expectClean(s);
    expect(s.cdrs[0]!.sipStatus).toBe(487);
    expect(s.cdrs[0]!.hangupBy).toBe('caller');
  });

  it('agent state: the answering seat is on-call, then in wrap-up for wrapUpSeconds (injected clock), and not rung meanwhile', async () => {
    await client.del('dialgate:agents:{agents}:records');
    const agents = new AgentStore(client);
    const plan = await config(++n, { strategy: 'sequential', wrapUpSeconds: 30 });
    const first = (s: Setup) => until(() => s.srf.uacs.length >= 1, 'the first member INVITE').then(() => s.srf.uacs[0]!.uri);
    // 1001 (first in order) answers.
    const a = await setup({ plan, agents });
    expect(await first(a)).toContain('sip:1001@');
    a.srf.uacs[0]!.result.resolve(new FakeDialog());
    await until(() => a.srf.uas.length === 1, 'createUAS');
    const caller = new FakeDialog();
    a.srf.uas[0]!.resolve(caller);
    await until(() => a.live.get(a.callId)?.answeredAt != null, 'the answer');
    // While 1001 talks, the next call starts at 1002.
    const b = await setup({ plan, agents, at: MONDAY_10 + 5_000 });
    expect(await first(b)).toContain('sip:1002@');
    b.req.emit('cancel');
    await b.done;
    caller.emit('destroy');
    await a.done;
    const endAt = a.cdrs[0]!.endAt;
    // 29 s after the end 1001 is still in wrap-up: skipped, and the CDR trace says why.
    const c = await setup({ plan, agents, at: endAt + 29_000 });
    expect(await first(c)).toContain('sip:1002@');
    c.req.emit('cancel');
    await c.done;
    expect(c.cdrs[0]!.trace.find((t) => t.step === 'members')!.detail).toContain('skipped 1001 wrap-up');
    // 30 s after it, 1001 is rung first again.
    const d = await setup({ plan, agents, at: endAt + 30_000 });
    expect(await first(d)).toContain('sip:1001@');
    d.req.emit('cancel');
    await d.done;
  });

  it('nobody available (both seats away): nobody is rung, 480 No answer, counted as a missed call', async () => {
    await client.del('dialgate:agents:{agents}:records');
    const agents = new AgentStore(client);
    await agents.setAway('1001', MONDAY_10 - 1000);
    await agents.setAway('1002', MONDAY_10 - 1000);
    const s = await setup({ agents });
    await s.done;
    expect(s.srf.uacs).toHaveLength(0);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 480, hangupCause: 'no-answer' });
    expect(s.cdrs[0]!.trace.find((t) => t.step === 'members')!.detail).toContain('nobody available [skipped 1001 away, 1002 away]');
    expect(await state.missedCount(s.number, missedDay(MONDAY_10))).toBeGreaterThanOrEqual(1);
    await client.del('dialgate:agents:{agents}:records');
  });

  it('authorises one initial increment of the package at start, not a whole chunk', async () => {
    const s = await setup({ members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    // 0.25 yuan per 60 s, 60/60: the first increment costs 2500; the 120 s chunk would be 5000.
    expect((await ledger.getAccount(s.account))!.reserved).toBe(2500);
    s.req.emit('cancel');
    await s.done;
    await expectClean(s);
  });

  it('a caller CANCEL while ring-all rings cancels every member, writes one 487 CDR and counts a missed call', async () => {
    const s = await setup();
    await until(() => s.srf.uacs.length === 2 && s.srf.uacs.every((u) => u.requestSent), 'both member INVITEs');
    s.req.emit('cancel');
    await s.done;
    expect(s.srf.uacs.map((u) => u.cancels)).toEqual([1, 1]);
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 487, hangupBy: 'caller', hangupCause: 'cancel' });
    expect(await state.missedCount(s.number, missedDay(MONDAY_10))).toBe(1);
  });

  it('ring-all: two members answering at once connect one; the other gets a BYE that may cross its own', async () => {
    const s = await setup();
    await until(() => s.srf.uacs.length === 2, 'both member INVITEs');
    s.srf.cancelAnswers487 = false;
    const a = new FakeDialog(), b = new FakeDialog();
    b.failDestroy = true;
    s.srf.uacs[0]!.result.resolve(a);
    s.srf.uacs[1]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const caller = new FakeDialog();
    s.srf.uas[0]!.resolve(caller);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    expect(a.destroyed + b.destroyed).toBe(1);
    caller.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.seat).toBe('1001');
  });

  it('a browser seat is rung without SDP: its offer is answered by FreeSWITCH in the ACK, and its own endpoint is bridged to the caller', async () => {
    const s = await setup({ browserSeats: ['1002'] });
    await until(() => s.srf.uacs.length === 2, 'both member INVITEs');
    const desk = uacsTo(s, '10.0.0.1')[0]!, browser = uacsTo(s, 'transport=ws')[0]!;
    // The desktop phone is offered FreeSWITCH's plain RTP; the browser nothing (it offers DTLS-SRTP itself).
    expect(desk.opts.localSdp).toBe(s.media.eps[1]!.local.sdp);
    expect(browser.opts.localSdp).toBeUndefined();
    expect(browser.opts.noAck).toBe(true); // else srf ACKs the browser's offer itself
    const answer = new UnackedAnswer('v=0 browser UDP/TLS/RTP/SAVPF');
    browser.result.resolve(answer as never);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    expect(s.media.lateOffers).toEqual(['v=0 browser UDP/TLS/RTP/SAVPF']);
    expect(answer.acked).toBe('fs-answer');
    expect(desk.cancels).toBe(1);
    const caller = new FakeDialog();
    s.srf.uas[0]!.resolve(caller);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    const [epA, offering, browserEp] = s.media.eps;
    // The caller's endpoint bridged to the browser's; the plain-RTP offerer let go, never modified.
    expect(epA!.bridgedTo).toBe(browserEp);
    expect(offering!.destroyed).toBe(1);
    expect(offering!.modified).toEqual([]);
    caller.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(answer.dialog.destroyed).toBe(1);
    expect(s.cdrs[0]).toMatchObject({ seat: '1002', media: 'anchored', mediaNote: 'anchored: WebRTC seat' });
  });

  it('a browser seat answering while the caller hangs up: its late answer is ACKed and hung up, its endpoint released', async () => {
    const s = await setup({ browserSeats: ['1001'], members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the browser INVITE');
    const gate = deferred<void>();
    s.media.gate = gate; // FreeSWITCH slow to make the browser's endpoint
    const answer = new UnackedAnswer('v=0 browser');
    s.srf.uacs[0]!.result.resolve(answer as never);
    await until(() => s.media.lateOffers.length === 1, 'the offer at the media server');
    s.req.emit('cancel');
    gate.resolve();
    await s.done;
    await expectClean(s);
    expect(answer.dialog.destroyed).toBe(1);
    expect(s.srf.uas).toHaveLength(0);
    expect(s.cdrs[0]!.sipStatus).toBe(487);
  });

  it('a browser seat hanging up while FreeSWITCH is still making its endpoint: not bridged to nobody; its endpoint released, the attempt 487', async () => {
    const s = await setup({ browserSeats: ['1001'], members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the browser INVITE');
    const gate = deferred<void>();
    s.media.gate = gate; // ICE/DTLS and the event socket still to come
    const answer = new UnackedAnswer('v=0 browser');
    s.srf.uacs[0]!.result.resolve(answer as never);
    await until(() => answer.acked !== null, 'the ACK with FreeSWITCH\'s answer');
    await tick();
    answer.dialog.emit('destroy'); // the agent's BYE
    gate.resolve();
    await s.done;
    await expectClean(s);
    expect(s.srf.uas).toHaveLength(0); // the caller was never answered
    expect(s.cdrs[0]!.trunks).toEqual([expect.objectContaining({ trunk: 'seat:1001', sipStatus: 487 })]);
    expect(s.cdrs[0]!.sipStatus).toBe(480);
  });

  it('a browser seat that answered just before the ring timeout is connected, though its endpoint is ready after it', async () => {
    const s = await setup({ browserSeats: ['1001'], members: '[{ seat: "1001" }]', noAnswerSeconds: 1 });
    await until(() => s.srf.uacs.length === 1, 'the browser INVITE');
    const gate = deferred<void>();
    s.media.gate = gate;
    await tick(700);
    const answer = new UnackedAnswer('v=0 browser');
    s.srf.uacs[0]!.result.resolve(answer as never);
    await tick(2500); // the ring timeout and a CANCEL's 2 s grace pass while FreeSWITCH answers
    gate.resolve();
    await until(() => s.srf.uas.length === 1, 'the caller answered');
    const caller = new FakeDialog();
    s.srf.uas[0]!.resolve(caller);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    expect(answer.dialog.destroyed).toBe(0);
    caller.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ seat: '1001', sipStatus: 200 });
  });

  it('a browser seat is not rung when no media server can answer its offer (a caller\'s plain RTP would reach it): the desktop seat is', async () => {
    const s = await setup({ browserSeats: ['1002'], mediaAvailable: false });
    await until(() => s.srf.uacs.length === 1, 'the desktop INVITE');
    await tick(50);
    expect(s.srf.uacs.map((u) => u.uri)).toEqual([expect.stringContaining('10.0.0.1')]);
    s.req.emit('cancel');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.trunks).toContainEqual(expect.objectContaining({ trunk: 'seat:1002', sipStatus: 488 }));
  });

  it('the member hanging up while the caller leg is being answered ends both legs', async () => {
    const s = await setup({ members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    b.emit('destroy'); // BYE from the member before the caller's 200 OK went out
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(a.destroyed).toBe(1);
    expect(s.cdrs[0]!.hangupBy).toBe('callee');
    await s.done;
    await expectClean(s);
  });

  it('the caller hanging up while the media bridge is set up ends the member leg', async () => {
    const s = await setup({ members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const gate = deferred<void>();
    s.media.eps[0]!.bridgeGate = gate;
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick();
    a.emit('destroy'); // BYE from the caller while epA.bridge is pending
    gate.resolve();
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(b.destroyed).toBe(1);
    expect(s.cdrs[0]!.hangupBy).toBe('caller');
    await s.done;
    await expectClean(s);
  });

  it('a media bridge failure after the caller was answered hangs up both legs and frees the trunk slot', async () => {
    const s = await setup({ members: '[{ number: "13800138000" }]' });
    await until(() => s.srf.uacs.length === 1, 'the forwarded INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const gate = deferred<void>();
    s.media.eps[0]!.bridgeGate = gate;
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick();
    gate.reject(new Error('-ERR bridge failed'));
    await s.done;
    await expectClean(s);
    expect(a.destroyed).toBe(1);
    expect(b.destroyed).toBe(1);
  });

  it('shutdown while the first member rings stops the call: no overflow is rung, the caller gets a final answer', async () => {
    const s = await setup({ strategy: 'sequential', members: '[{ seat: "1001" }, { seat: "1002" }]', overflow: 'spill' });
    await until(() => s.srf.uacs.length === 1 && s.srf.uacs[0]!.requestSent, 'the first member INVITE');
    s.live.get(s.callId)!.hangup('shutdown');
    await s.done;
    expect(s.srf.uacs).toHaveLength(1);
    expect(s.srf.uacs[0]!.cancels).toBe(1);
    expect(s.res.sent.at(-1)).toBeGreaterThanOrEqual(400);
    await expectClean(s);
    expect(s.cdrs[0]!.hangupBy).toBe('system');
    expect(s.cdrs[0]!.hangupCause).toBe('shutdown');
    // Our own shutdown is not a missed call the owner could be charged for (002 §3.5).
    expect(await state.missedCount(s.number, missedDay(MONDAY_10))).toBe(0);
  });

  it('shutdown while the caller leg is being answered still ends both legs', async () => {
    const s = await setup({ members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    s.live.get(s.callId)!.hangup('shutdown');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(a.destroyed).toBe(1);
    expect(b.destroyed).toBe(1);
    await s.done;
    await expectClean(s);
  });

  it('shutdown during the PIN prompt hangs up on the caller and writes the CDR', async () => {
    const media = new FakeMedia();
    media.playGate = () => deferred<void>();
    const s = await setup({ pin: true, members: '[{ seat: "1001" }]', media });
    await until(() => s.srf.uas.length === 1, 'the IVR answer');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick(50);
    s.live.get(s.callId)!.hangup('shutdown');
    await until(() => s.cdrs.length === 1, 'the CDR');
    expect(a.destroyed).toBe(1);
    expect(s.srf.uacs).toHaveLength(0);
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ hangupBy: 'system', hangupCause: 'shutdown' });
  });

  it('the caller hanging up during the PIN is recorded as a hangup, not a PIN failure', async () => {
    const media = new FakeMedia();
    media.playGate = () => deferred<void>();
    const s = await setup({ pin: true, members: '[{ seat: "1001" }]', media });
    await until(() => s.srf.uas.length === 1, 'the IVR answer');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick(50);
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ hangupBy: 'caller', hangupCause: 'bye' });
    expect(s.cdrs[0]!.trace.find((t) => t.step === 'pin')?.detail ?? '').not.toContain('wrong PIN');
  });

  it('a media server failure during the PIN hangs up on the caller without an unhandled rejection', async () => {
    const media = new FakeMedia();
    media.failExecute = true;
    const s = await setup({ pin: true, members: '[{ seat: "1001" }]', media });
    await until(() => s.srf.uas.length === 1, 'the IVR answer');
    const a = new FakeDialog();
    a.failDestroy = true; // the caller's BYE crosses ours
    s.srf.uas[0]!.resolve(a);
    await s.done;
    await expectClean(s);
    expect(a.destroyed).toBe(1);
    expect(s.srf.uacs).toHaveLength(0);
  });

  it('a CANCEL while the media endpoints are created releases them', async () => {
    const media = new FakeMedia();
    media.gate = deferred<void>();
    const s = await setup({ media });
    await until(() => media.eps.length >= 1, 'the endpoint request');
    s.req.emit('cancel');
    media.gate.resolve();
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.sipStatus).toBe(487);
  });

  it('a ledger heartbeat failure at answer does not end the answered call', async () => {
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
    const s = await setup({ ledger: flaky, members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await tick(100);
    expect(s.cdrs).toHaveLength(0);
    expect(b.destroyed).toBe(0);
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 200, hangupBy: 'caller' });
    expect(s.cdrs[0]!.cost).toBeGreaterThan(0);
  });

  it('a reservation extension that never returns cannot let the call run past the paid boundary', async () => {
    const hung = new Proxy(ledger, {
      get(t, p, r) {
        if (p === 'extend') return () => new Promise(() => {});
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const s = await setup({ ledger: hung, increments: '1/1', chunkSeconds: 1, members: '[{ seat: "1001" }]' });
    await until(() => s.srf.uacs.length === 1, 'the member INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.cdrs.length === 1, 'the cut-off', 4000);
    expect(s.cdrs[0]!.hangupBy).toBe('cutoff');
    expect(s.cdrs[0]!.billedSeconds).toBeLessThanOrEqual(1);
    expect(a.destroyed).toBe(1);
    expect(b.destroyed).toBe(1);
    await s.done;
    await expectClean(s);
  });

  it('a long ring is kept alive by heartbeats: recovery does not take a live call\'s reservations', async () => {
    const fast = new Ledger(client, { instanceId: 'unit-in-hb', heartbeatMs: 50, staleMs: 200 });
    const s = await setup({ ledger: fast, heartbeatMs: 50, members: '[{ number: "13800138000" }]' });
    await until(() => s.srf.uacs.length === 1, 'the forwarded INVITE');
    await tick(500);
    const outcomes = await recoverOrphans(fast, s.clock.now(), () => 0);
    expect(outcomes.filter((o) => o.callId.startsWith(s.callId) && o.outcome !== 'live')).toEqual([]);
    s.req.emit('cancel');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.recovered ?? false).toBe(false);
  });

  it('a Redis failure while the package account is read still answers and writes one CDR', async () => {
    const broken = new Proxy(ledger, {
      get(t, p, r) {
        if (p === 'getAccount') return async () => { throw new Error('redis down'); };
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const s = await setup({ ledger: broken });
    await s.done.catch(() => {});
    expect(s.res.finalResponseSent).toBe(true);
    expect(s.res.sent.at(-1)).toBeGreaterThanOrEqual(500);
    await expectClean(s);
  });

  // ---- issue 11 ----------------------------------------------------------------------------------

  /** Answers the one forwarded leg and the caller; returns both dialogs. */
  async function answerForward(s: Setup): Promise<{ a: FakeDialog; b: FakeDialog }> {
    await until(() => s.srf.uacs.length === 1, 'the forwarded INVITE');
    const b = new FakeDialog();
    s.srf.uacs[0]!.result.resolve(b);
    await until(() => s.srf.uas.length === 1, 'createUAS');
    const a = new FakeDialog();
    s.srf.uas[0]!.resolve(a);
    await until(() => s.live.get(s.callId)?.answeredAt != null, 'the answer');
    return { a, b };
  }

  it('ring-all with silent members: a caller CANCEL ends the call within 2 s of the CANCELs, not at Timer B', async () => {
    const s = await setup();
    s.srf.provisional = null;
    s.srf.cancelAnswers487 = false; // the members' phones never answer the INVITE nor its CANCEL
    await until(() => s.srf.uacs.length === 2 && s.srf.uacs.every((u) => u.requestSent), 'both member INVITEs');
    const cancelledAt = Date.now();
    s.req.emit('cancel');
    await until(() => s.cdrs.length === 1, 'the CDR', 4000);
    expect(Date.now() - cancelledAt).toBeLessThan(3000);
    expect(s.srf.uacs.map((u) => u.cancels)).toEqual([1, 1]);
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]).toMatchObject({ sipStatus: 487, hangupBy: 'caller' });
  });

  it('sequential overflow past a silent member: the next member rings within 2 s of the no-answer CANCEL', async () => {
    const s = await setup({ strategy: 'sequential', members: '[{ seat: "1001" }]', noAnswerSeconds: 1, overflow: 'spill' });
    s.srf.provisional = null;
    s.srf.cancelAnswers487 = false;
    await until(() => s.srf.uacs.length === 1 && s.srf.uacs[0]!.requestSent, 'the first member INVITE');
    await until(() => s.srf.uacs[0]!.cancels === 1, 'the no-answer CANCEL', 2500);
    const cancelledAt = Date.now();
    await until(() => s.srf.uacs.length === 2, 'the overflow member INVITE', 4000);
    expect(Date.now() - cancelledAt).toBeLessThan(2800);
    expect(s.srf.uacs[1]!.uri).toContain('1003');
    s.req.emit('cancel');
    await s.done;
    await expectClean(s);
    expect(s.cdrs[0]!.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['seat:1001', 408], ['seat:1003', 487]]);
  });

  it('a call forwarded to a number shows the forward\'s cost in its CDR, next to the package\'s', async () => {
    const s = await setup({ members: '[{ number: "13800138000" }]' });
    const owner = (await ledger.getAccount('telesales'))!.balance;
    const { a } = await answerForward(s);
    await tick(100);
    a.emit('destroy');
    await s.done;
    await expectClean(s);
    const cdr = s.cdrs[0]!;
    expect(cdr.cost).toBe(2500); // the package: 0.25 yuan for the answered minute
    const paidByOwner = owner - (await ledger.getAccount('telesales'))!.balance;
    expect(paidByOwner).toBeGreaterThan(0);
    expect(cdr.charges).toEqual([
      { account: s.account, reservation: s.callId, cost: 2500 },
      { account: 'telesales', reservation: `${s.callId}:number:13800138000`, cost: paidByOwner },
    ]);
  });

  it('recovery of a crashed forwarded call writes both reservations\' costs, each in a CDR of its own', async () => {
    let crashed = false;
    const fast = new Ledger(client, { instanceId: 'unit-in-crash', heartbeatMs: 50, staleMs: 200 });
    // The instance "dies" after the answer: its heartbeats stop reaching Redis.
    const dying = new Proxy(fast, {
      get(t, p, r) {
        if (p === 'heartbeat') return async (...args: Parameters<Ledger['heartbeat']>) => (crashed ? { ok: true } : t.heartbeat(...args));
        const v = Reflect.get(t, p, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const s = await setup({ ledger: dying, heartbeatMs: 50, members: '[{ number: "13800138000" }]' });
    const owner = (await ledger.getAccount('telesales'))!.balance;
    const pkg = (await ledger.getAccount(s.account))!.balance;
    await answerForward(s);
    await tick(150);
    crashed = true;
    await tick(400);
    const outcomes = (await recoverOrphans(fast, s.clock.now(), rateFromMeta)).filter((o) => o.callId.startsWith(s.callId));
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['settled', 'settled']);
    const cdrs = recoveryCdrs(outcomes);
    const writer = new RedisCdrWriter({ redis: client, dir: '/tmp/dialgate-unit-cdr' });
    const results = await Promise.all(cdrs.map((c) => writer.write(c)));
    expect(results).toEqual(['written', 'written']);
    const byId = new Map(cdrs.map((c) => [c.cdrId, c]));
    const pkgCdr = byId.get(`in-${s.callId}`)!;
    const fwdCdr = byId.get(`in-${s.callId}:number:13800138000`)!;
    expect(pkgCdr).toMatchObject({ callId: s.callId, direction: 'inbound', recovered: true });
    expect(fwdCdr).toMatchObject({ callId: s.callId, direction: 'inbound', recovered: true, calleeNormalised: '13800138000' });
    expect(pkgCdr.cost).toBe(pkg - (await ledger.getAccount(s.account))!.balance);
    expect(fwdCdr.cost).toBe(owner - (await ledger.getAccount('telesales'))!.balance);
    expect(pkgCdr.cost).toBeGreaterThan(0);
    expect(fwdCdr.cost).toBeGreaterThan(0);
    s.live.get(s.callId)?.hangup('test over');
    await s.done;
  });
});
