// The flow recorded in test/traces/freeswitch/watcher-orphan-*: dialgate's FreeSWITCH watcher and
// reconciler (src/media/) through a logging relay, against whatever event socket it is given: the
// real FreeSWITCH (watcher.ts, the recorder) or the call bench's stand-in (the realism test).
//   conn 1: the watcher's own event socket (subscriptions, status, show channels, the kill);
//   conn 2: a raw connection that follows the orphan's events, originates it and asks about the
//           live endpoint's owner and about a channel that does not exist.
// An fsmrf endpoint stands for a live call's channel (held); `originate null/… &park` leaves an
// orphan, as a lost teardown does; one reconcile round kills the orphan and leaves the endpoint;
// after a HEARTBEAT a second round finds nothing to kill; the endpoint is destroyed.
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { createRequire } from 'node:module';
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { systemClock } from '../../../src/calls/clock.js';
import { ChannelReconciler, type ReconcileReport } from '../../../src/media/channel-reconciler.js';
import { FreeSwitchWatcher, type FreeSwitchHealth } from '../../../src/media/freeswitch-watcher.js';
import { startRelay, TraceFile } from './proxy.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-fsmrf ships no types */
const require = createRequire(import.meta.url);
const Mrf = require('drachtio-fsmrf') as new (srf: Srf) => { connect(o: Record<string, unknown>): Promise<any> };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WatcherFlowResult {
  /** The relayed event sockets, in the trace format (conn 1 the watcher, conn 2 the raw one). */
  trace: TraceFile;
  orphan: string;
  endpoint: string;
  /** Replies on conn 2: the endpoint's X-esl-outbound, then getvar and kill of a uuid that does not exist. */
  replies: { originate: string; endpointOwner: string; getvarNobody: string; killNobody: string };
  self: string;
  rounds: [ReconcileReport | null, ReconcileReport | null];
  health: { connected: FreeSwitchHealth; afterHeartbeat: FreeSwitchHealth; end: FreeSwitchHealth };
}

/** A raw event-socket client: one command at a time, its reply body (or head when it has none). */
async function rawEsl(port: number, password: string): Promise<{ cmd(text: string): Promise<string>; close(): void }> {
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  let waiting: ((body: string) => void) | null = null;
  sock.on('data', (d) => {
    buf += d.toString();
    for (;;) {
      const end = buf.indexOf('\n\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const len = Number(/Content-Length: (\d+)/.exec(head)?.[1] ?? 0);
      if (buf.length < end + 2 + len) return;
      const body = buf.slice(end + 2, end + 2 + len);
      buf = buf.slice(end + 2 + len);
      if (/Content-Type: (api\/response|command\/reply)/.test(head)) waiting?.(len ? body : head);
    }
  });
  await new Promise((r) => sock.once('connect', r));
  await sleep(100);
  const cmd = (text: string) => new Promise<string>((resolve) => {
    waiting = resolve;
    sock.write(`${text}\n\n`);
  });
  await cmd(`auth ${password}`);
  return { cmd, close: () => sock.end('exit\n\n') };
}

export async function watcherFlow(o: {
  esl: { host: string; port: number; password: string };
  /** An srf connected to the drachtio-server that fronts this FreeSWITCH. */
  srf: Srf;
  log: Logger;
  /** How long to wait for a HEARTBEAT (FreeSWITCH sends one every 20 s). */
  heartbeatWaitMs?: number;
}): Promise<WatcherFlowResult> {
  const t0 = Date.now();
  const trace = new TraceFile('', t0);
  let conn = 0;
  const relay = await startRelay({ target: { host: o.esl.host, port: o.esl.port }, kind: 'esl', file: trace, names: ['APP ==> FS', 'FS ==> APP'], nextConn: () => ++conn });
  // fsmrf's own event socket goes straight to FreeSWITCH: only the watcher's is recorded.
  const ms = await new Mrf(o.srf).connect({ address: o.esl.host, port: o.esl.port, secret: o.esl.password, listenAddress: '127.0.0.1' });
  const self = `${ms.advertisedAddress}:${ms.advertisedPort}`;
  const watcher = new FreeSwitchWatcher({ host: '127.0.0.1', port: relay.port, password: o.esl.password }, { clock: systemClock, log: o.log });
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
  try {
    watcher.start();
    for (let i = 0; !watcher.connected; i++) {
      if (i > 200) throw new Error('the watcher did not connect');
      await sleep(25);
    }
    const connected = watcher.health();
    const sdp = ['v=0', 'o=peer 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${peer.address().port} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', ''].join('\r\n');
    const ep = await ms.createEndpoint({ remoteSdp: sdp });
    // conn 2 follows the orphan's own events (its uuid chosen up front, so a filter can name it).
    const raw = await rawEsl(relay.port, o.esl.password);
    const orphan = randomUUID();
    await raw.cmd(`filter Unique-ID ${orphan}`);
    await raw.cmd('event json ALL');
    const replies = {
      originate: await raw.cmd(`api originate {origination_uuid=${orphan}}null/dialgate-orphan &park`),
      endpointOwner: await raw.cmd(`api uuid_getvar ${ep.uuid} sip_h_X-esl-outbound`),
      getvarNobody: await raw.cmd('api uuid_getvar 00000000-0000-0000-0000-000000000000 sip_h_X-esl-outbound'),
      killNobody: await raw.cmd('api uuid_kill 00000000-0000-0000-0000-000000000000'),
    };
    await sleep(1200);
    const reconciler = new ChannelReconciler({
      watcher, held: () => new Set([ep.uuid]), self: () => self, clock: systemClock, log: o.log,
      settings: () => ({ enabled: true, intervalMs: 60_000, graceMs: 1_000 }),
    });
    const round1 = await reconciler.runOnce();
    const before = watcher.health().reportedAt;
    const until = Date.now() + (o.heartbeatWaitMs ?? 25_000);
    while (watcher.health().reportedAt === before && Date.now() < until) await sleep(50);
    const afterHeartbeat = watcher.health();
    const round2 = await reconciler.runOnce();
    await ep.destroy();
    await sleep(500);
    const end = watcher.health();
    raw.close();
    return { trace, orphan, endpoint: ep.uuid, replies, self, rounds: [round1, round2], health: { connected, afterHeartbeat, end } };
  } finally {
    await sleep(300);
    watcher.stop();
    ms.disconnect();
    peer.close();
    await sleep(300);
    await relay.close();
  }
}
