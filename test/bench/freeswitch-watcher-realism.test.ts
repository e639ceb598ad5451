// The FreeSWITCH stand-in answers the watcher and the reconciler (src/media/) as FreeSWITCH 1.10.12
// did in test/traces/freeswitch/watcher-orphan-* : the same flow (test/traces/record/watcher-flow.ts)
// runs against the stand-ins, and what crossed the event sockets is compared with the recording:
// the kinds and order of commands, replies and events; the `status`, `show channels`, uuid_getvar,
// uuid_kill and originate replies; and the headers of HEARTBEAT and of the null channel's events.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChannelList, parseStatus } from '../../src/media/freeswitch-status.js';
import { watcherFlow, type WatcherFlowResult } from '../traces/record/watcher-flow.js';
import { connectSrf, disconnectSrf } from './drachtio/harness.js';
import { startDrachtio, type DrachtioStandIn } from './drachtio/standin.js';
import { startFreeSwitch, type FreeSwitchStandIn } from './freeswitch/index.js';
import { connApi, connEvents, connSteps, eslSteps, readTrace } from './freeswitch-traces.js';

const REAL = readTrace('watcher-orphan-inbound-esl.txt');

/** Steps of one connection without HEARTBEATs (they come every 20 s there, every 300 ms here). */
const steps = (text: string, nth: number) => connSteps(eslSteps(text), nth).filter((s) => s !== 'HEARTBEAT');
const isEvent = (s: string) => /^[A-Z_]+( |$)/.test(s);

describe('the watcher and the reconciler against the stand-in, compared with real FreeSWITCH 1.10.12', () => {
  let drachtio: DrachtioStandIn;
  let fsw: FreeSwitchStandIn;
  let ours: WatcherFlowResult;
  let text: string;

  beforeAll(async () => {
    drachtio = await startDrachtio();
    fsw = await startFreeSwitch({ heartbeatMs: 300, sessionsPerSecond: 100 });
    const srf = await connectSrf(drachtio.adminPort);
    try {
      ours = await watcherFlow({ esl: { host: '127.0.0.1', port: fsw.eslPort, password: fsw.password }, srf, log: pino({ level: 'silent' }), heartbeatWaitMs: 3000 });
    } finally {
      await disconnectSrf(srf);
    }
    text = ours.trace.text();
  }, 30_000);
  afterAll(async () => {
    await fsw?.stop();
    await drachtio?.stop();
  });

  it('the watcher\'s connection: subscriptions, status, listings, the kill and the events, in the recorded order', () => {
    expect(steps(text, 1)).toEqual(steps(REAL, 1));
    // conn 1 subscribed to CHANNEL_CREATE, CHANNEL_DESTROY and HEARTBEAT only, and took back modesl's two.
    const kinds = new Set(connEvents(text, 1).map((e) => e['Event-Name']));
    expect([...kinds].sort()).toEqual(['CHANNEL_CREATE', 'CHANNEL_DESTROY', 'HEARTBEAT']);
  });

  it('the orphan\'s own events on the second connection, and the commands there, as recorded', () => {
    // The stand-in's park starts a few ms later than the real one's, so events and commands are
    // compared each in their own order rather than interleaved.
    expect(steps(text, 2).filter(isEvent)).toEqual(steps(REAL, 2).filter(isEvent));
    expect(steps(text, 2).filter((s) => !isEvent(s))).toEqual(steps(REAL, 2).filter((s) => !isEvent(s)));
  });

  it('originate, uuid_getvar and uuid_kill reply as the real server did', () => {
    const real = connApi(REAL, 2).map((a) => a.body);
    expect(ours.replies.originate).toBe(`+OK ${ours.orphan}\n`);
    expect(real[0]).toMatch(/^\+OK [0-9a-f-]{36}\n$/);
    // The live endpoint's owner is the address fsmrf advertised: what the reconciler compares.
    expect(ours.replies.endpointOwner).toBe(ours.self);
    expect(real[1]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ours.replies.getvarNobody).toBe(real[2]);
    expect(ours.replies.killNobody).toBe(real[3]);
    const kill = (t: string) => connApi(t, 1).find((a) => a.command.startsWith('api uuid_kill'))!.body;
    const getvar = (t: string) => connApi(t, 1).find((a) => a.command.startsWith('api uuid_getvar'))!.body;
    expect(kill(text)).toBe(kill(REAL));
    expect(getvar(text)).toBe(getvar(REAL));
  });

  it('status and show channels have the recorded form, and read the same', () => {
    const status = (t: string) => connApi(t, 1).find((a) => a.command === 'api status')!.body;
    const shape = (s: string) => s.split('\n').map((l) => l.replace(/\d+(\.\d+)?/g, 'N'));
    expect(shape(status(text))).toEqual(shape(status(REAL)));
    expect(parseStatus(status(text))).toMatchObject({ maxSessions: 1000, idleCpu: 97.9, version: '1.10.12-release' });
    expect(parseStatus(status(REAL))).toMatchObject({ maxSessions: 1000, version: '1.10.12-release' });

    const listings = (t: string) => connApi(t, 1).filter((a) => a.command === 'api show channels as json').map((a) => a.body);
    // The first listing is empty (the exact text), the second has the endpoint and the orphan.
    expect(listings(text)[0]).toBe(listings(REAL)[0]);
    const rows = (t: string) => JSON.parse(listings(t)[1]!).rows as Array<Record<string, string>>;
    const byDirection = (t: string) => Object.fromEntries(rows(t).map((r) => [r['direction'], Object.keys(r)]));
    expect(byDirection(text)).toEqual(byDirection(REAL));
    const nullRow = (t: string) => rows(t).find((r) => r['direction'] === 'outbound')!;
    for (const k of ['name', 'state', 'application', 'context', 'read_codec', 'callstate', 'cid_name', 'callee_num']) {
      expect(nullRow(text)[k], k).toBe(nullRow(REAL)[k]);
    }
    expect(parseChannelList(listings(text)[1]!).map((r) => r.application).sort()).toEqual(['park', 'socket']);
  });

  it('HEARTBEAT and the null channel\'s CHANNEL_CREATE carry the recorded headers', () => {
    const keys = (e: Record<string, string> | undefined) => Object.keys(e ?? {}).sort();
    const heartbeat = (t: string) => connEvents(t, 1).find((e) => e['Event-Name'] === 'HEARTBEAT');
    expect(keys(heartbeat(text))).toEqual(keys(heartbeat(REAL)));
    const created = (t: string) => connEvents(t, 2).find((e) => e['Event-Name'] === 'CHANNEL_CREATE');
    expect(keys(created(text))).toEqual(keys(created(REAL)));
    for (const k of ['Channel-Name', 'Call-Direction', 'Caller-Source', 'Caller-Context', 'Channel-Read-Codec-Name', 'variable_originate_endpoint']) {
      expect(created(text)![k], k).toBe(created(REAL)![k]);
    }
    const destroyed = (t: string) => connEvents(t, 2).find((e) => e['Event-Name'] === 'CHANNEL_DESTROY');
    expect(destroyed(text)!['Hangup-Cause']).toBe(destroyed(REAL)!['Hangup-Cause']);
  });

  it('the reconciler killed the orphan and left the held endpoint, on both', () => {
    expect(ours.rounds[0]).toMatchObject({ channels: 2, held: 1, killed: 1, leftToOwner: 0 });
    expect(ours.rounds[1]).toMatchObject({ channels: 1, held: 1, killed: 0 });
    expect(ours.health.afterHeartbeat).toMatchObject({ connected: true, sessions: 1, maxSessions: 1000, idleCpu: 97.9 });
    expect(ours.health.end.sessions).toBe(0);
    expect(fsw.channels()).toEqual([]);
  });
});
