// Records the FreeSWITCH realism flows from the real servers (/work/shared/realstack, up) through
// logging relays:
//   npx tsx test/traces/record/flows.ts <flow> <out-prefix> [--rtp] [--wait=S] [--broadcast] [--park] [--exec="app arg"]
// flows: nosdp (createEndpoint() with no SDP); bridge-destroy (two endpoints bridged, record_session,
// destroy() one, after --wait uuid_kill it, or uuid_park with --park; --broadcast tries uuid_broadcast
// first; --rtp makes both peers send RTP); play-silent (a sipp caller that sends no RTP gets 183 and
// a playback, or --exec's application; after --wait uuid_break, then destroy()).
// Writes <out-prefix>-drachtio-wire.txt, -inbound-esl.txt, -outbound-esl.txt and -freeswitch-log.txt.
// A developer tool: the tests never run it (they run the same flows against the call bench).
import dgram from 'node:dgram';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import Srf from 'drachtio-srf';
import { startRelay, TraceFile } from './proxy.js';
import { runSipp } from '../../bench/sipp.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-fsmrf ships no types */
const require = createRequire(import.meta.url);
const Mrf = require('drachtio-fsmrf') as new (srf: Srf) => { connect(o: Record<string, unknown>): Promise<any> };

const FS_LOG = `${process.env.REALSTACK_HOME ?? '/work/realstack-home'}/logs/freeswitch.log`;
const SOUND = `${process.env.REALSTACK_HOME ?? '/work/realstack-home'}/run/sounds/dialgate/window-closed.wav`;
const [flow, prefix] = process.argv.slice(2);
const withRtp = process.argv.includes('--rtp');
const waitS = Number(process.argv.find((a) => a.startsWith('--wait='))?.slice(7) ?? '8');
/** play-silent: run this application (`app arg`) instead of endpoint.play(); bridge-destroy: uuid_broadcast first. */
const execArg = process.argv.find((a) => a.startsWith('--exec='))?.slice(7);
const broadcast = process.argv.includes('--broadcast');
/** bridge-destroy: end the held hangup with uuid_park (the channel leaves the bridge) instead of uuid_kill. */
const park = process.argv.includes('--park');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const note = (s: string) => console.log(`+${Date.now() - t0}ms ${s}`);

function peerSdp(port: number): string {
  return ['v=0', 'o=peer 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', ''].join('\r\n');
}

/** A media peer: a UDP port that receives FreeSWITCH's RTP and, with --rtp, sends 20 ms PCMU frames back. */
async function mediaPeer(): Promise<{ port: number; received: () => number; sendTo(sdp: string): void; close(): void }> {
  const sock = dgram.createSocket('udp4');
  let got = 0;
  let timer: NodeJS.Timeout | undefined;
  sock.on('message', () => { got++; });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    received: () => got,
    sendTo(sdp) {
      if (!withRtp) return;
      const port = Number(/m=audio (\d+) RTP\/S?AVP/.exec(sdp)?.[1]);
      let seq = 1;
      const ssrc = Math.floor(Math.random() * 0xffffffff);
      timer = setInterval(() => {
        const pkt = Buffer.alloc(172, 0xff);
        pkt[0] = 0x80; pkt[1] = 0;
        pkt.writeUInt16BE(seq & 0xffff, 2); pkt.writeUInt32BE((seq * 160) >>> 0, 4); pkt.writeUInt32BE(ssrc, 8);
        seq++;
        sock.send(pkt, port, '127.0.0.1');
      }, 20);
    },
    close() { clearInterval(timer); sock.close(); },
  };
}

async function main(): Promise<void> {
  if (!flow || !prefix) throw new Error('usage: flows.ts <nosdp|bridge-destroy|play-silent> <out-prefix> [--rtp] [--wait=S]');
  const logStart = fs.statSync(FS_LOG).size;
  const wire = new TraceFile(`${prefix}-drachtio-wire.txt`, t0);
  const inbound = new TraceFile(`${prefix}-inbound-esl.txt`, t0);
  const outbound = new TraceFile(`${prefix}-outbound-esl.txt`, t0);
  let conn = 0;
  const nextConn = () => ++conn;
  const admin = await startRelay({ target: { host: '127.0.0.1', port: 9022 }, kind: 'drachtio', file: wire, names: ['APP ==> SERVER', 'SERVER ==> APP'] });
  const esl = await startRelay({ target: { host: '127.0.0.1', port: 8021 }, kind: 'esl', file: inbound, names: ['APP ==> FS', 'FS ==> APP'], nextConn });
  // fsmrf listens on listenPort and advertises the relay's port in X-esl-outbound.
  const appEslPort = 18000 + Math.floor(Math.random() * 1000);
  const outRelay = await startRelay({ target: { host: '127.0.0.1', port: appEslPort }, kind: 'esl', file: outbound, names: ['FS ==> APP', 'APP ==> FS'], nextConn });

  const srf = new Srf();
  const invites: Array<(req: any, res: any) => void> = [];
  (srf as any).invite((req: any, res: any) => invites.shift()?.(req, res));
  await new Promise<void>((resolve, reject) => {
    srf.connect({ host: '127.0.0.1', port: admin.port, secret: 'cymru' } as any);
    srf.once('connect', () => resolve());
    srf.once('error', reject);
  });
  const ms = await new Mrf(srf).connect({
    address: '127.0.0.1', port: esl.port, secret: 'ClueCon', listenAddress: '127.0.0.1', listenPort: appEslPort, advertisedPort: outRelay.port,
  });
  note('connected');
  const api = (cmd: string) => new Promise<string>((r) => ms.api(cmd, (res: any) => r(typeof res === 'string' ? res : String(res?.body ?? res))));

  try {
    if (flow === 'nosdp') {
      try {
        const ep = await ms.createEndpoint();
        note(`createEndpoint ok ${ep.uuid}; local sdp has ${ep.local.sdp.split('m=audio').length - 1} m=audio lines`);
        await sleep(500);
        await ep.destroy();
        note('destroyed');
      } catch (err) {
        note(`createEndpoint failed: ${String(err)}`);
      }
    } else if (flow === 'bridge-destroy') {
      const pa = await mediaPeer();
      const pb = await mediaPeer();
      const epA = await ms.createEndpoint({ remoteSdp: peerSdp(pa.port) });
      pa.sendTo(epA.local.sdp);
      const epB = await ms.createEndpoint();
      await epB.modify(peerSdp(pb.port));
      pb.sendTo(epB.local.sdp);
      note(`A=${epA.uuid} B=${epB.uuid}`);
      await sleep(1000);
      await epA.bridge(epB);
      note('bridged');
      let recorded = false;
      void epA.execute('record_session', `/tmp/realism-${epA.uuid}.wav`).then(() => { recorded = true; note('record_session complete'); });
      await sleep(2000);
      note(`record_session done after 2 s: ${recorded}`);
      if (broadcast) {
        note(`uuid_broadcast: ${(await api(`uuid_broadcast ${epA.uuid} ${SOUND} aleg`)).trim()}`);
        await sleep(5000);
        note('5 s after uuid_broadcast');
      }
      let destroyed = false;
      const gone = epA.destroy().then(() => { destroyed = true; note('destroy resolved (BYE seen)'); });
      for (let s = 0; s < waitS && !destroyed; s++) await sleep(1000);
      note(`after ${waitS} s: destroyed=${destroyed}; show channels: ${(await api('show channels count')).trim()}`);
      if (!destroyed) {
        const cmd = park ? 'uuid_park' : 'uuid_kill';
        note(`${cmd}: ${(await api(`${cmd} ${epA.uuid}`)).trim()}`);
        await Promise.race([gone, sleep(3000)]);
        note(`after ${cmd}: destroyed=${destroyed}`);
      }
      await sleep(500);
      await Promise.race([epB.destroy(), sleep(3000)]);
      note(`B destroyed; rtp received from FS: A ${pa.received()} B ${pb.received()}`);
      pa.close();
      pb.close();
    } else if (flow === 'play-silent') {
      let done: () => void = () => undefined;
      const finished = new Promise<void>((r) => { done = r; });
      invites.push((req, res) => void (async () => {
        const ep = await ms.createEndpoint({ remoteSdp: req.body });
        res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
        note(`early media; playing ${SOUND} on ${ep.uuid}`);
        let played = false;
        const [app, ...rest] = (execArg ?? '').split(' ');
        const play = (execArg ? ep.execute(app, rest.join(' ')) : ep.play(SOUND)).then((r: unknown) => { played = true; note(`play resolved ${JSON.stringify(r)}`); });
        for (let s = 0; s < waitS && !played; s++) await sleep(1000);
        note(`after ${waitS} s: played=${played}`);
        if (!played) {
          note(`uuid_break: ${(await api(`uuid_break ${ep.uuid} all`)).trim()}`);
          await Promise.race([play, sleep(3000)]);
          note(`after uuid_break: played=${played}`);
        }
        await Promise.race([ep.destroy(), sleep(3000)]);
        note('endpoint destroyed');
        res.send(480);
        done();
      })());
      const sipp = runSipp({ scenario: 'call-expect-480', target: '127.0.0.1:5060', service: 'deny', calls: 1, timeoutMs: (waitS + 20) * 1000 });
      await finished;
      const r = await sipp;
      note(`sipp: ok=${r.successful} failed=${r.failed}`);
    } else throw new Error(`unknown flow ${flow}`);
  } finally {
    await sleep(500);
    ms.disconnect();
    srf.disconnect();
    await sleep(200);
    for (const r of [admin, esl, outRelay]) await r.close();
    wire.save();
    inbound.save();
    outbound.save();
    const log = fs.readFileSync(FS_LOG).subarray(logStart).toString('utf8');
    fs.writeFileSync(`${prefix}-freeswitch-log.txt`, log);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
