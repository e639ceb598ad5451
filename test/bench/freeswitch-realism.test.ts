// Conformance with three behaviours of real FreeSWITCH 1.10.12 (the project's profile) that the
// stand-in used to get wrong. Each flow is the one recorded in test/traces/freeswitch/ (see its
// README), run here against the stand-ins with drachtio-fsmrf 4.1.2 through the same logging relays,
// and compared by the kinds and order of what crossed the event sockets:
//  1. a no-SDP INVITE (createEndpoint() with no remoteSdp) gets 480 unless the profile enables 3pcc;
//  2. a channel inside uuid_bridge whose peer sends no RTP holds queued applications (the `execute
//     hangup` of Endpoint.destroy()); uuid_kill still ends it, uuid_park releases the queue;
//  3. a playback to a leg whose peer sends no RTP stalls; uuid_break ends it at the next media read.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import Srf from 'drachtio-srf';
import { afterEach, describe, expect, it } from 'vitest';
import { startDrachtio, type DrachtioStandIn } from './drachtio/standin.js';
import { connectSrf, disconnectSrf, verbs } from './drachtio/harness.js';
import { parseTraceFile } from './drachtio/trace.js';
import { startFreeSwitch, type FreeSwitchOptions, type FreeSwitchStandIn } from './freeswitch/index.js';
import { DEFAULT_PROFILE_XML } from './freeswitch/profile.js';
import { startRtpStream, type RtpStream } from './freeswitch/rtp-peer.js';
import { connSteps, eslSteps, readTrace } from './freeswitch-traces.js';
import { runSipp } from './sipp.js';
import { startRelay, TraceFile, type Relay } from '../traces/record/proxy.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-fsmrf ships no types */
const require = createRequire(import.meta.url);
const Mrf = require('drachtio-fsmrf') as new (srf: Srf) => { connect(o: Record<string, unknown>): Promise<any> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PROFILE_3PCC = '<profile name="drachtio_mrf"><settings><param name="enable-3pcc" value="true"/></settings></profile>';
/** The project's own profile file (enable-3pcc, rtp-timer-name soft). */
const PROFILE_DEFAULT_REPO = DEFAULT_PROFILE_XML;
const PROFILE_PLAIN = '<profile name="drachtio_mrf"><settings><param name="context" value="mrf"/></settings></profile>';

interface Rig {
  drachtio: DrachtioStandIn;
  fsw: FreeSwitchStandIn;
  srf: Srf;
  ms: any;
  outbound: TraceFile;
  invites: Array<(req: any, res: any) => void>;
  api(cmd: string): Promise<string>;
}

let cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/**
 * drachtio + FreeSWITCH stand-ins, srf and fsmrf, with the outbound event socket relayed and logged.
 * Unless a test says otherwise the media server has no RTP timer, as when the traces were recorded
 * (the project's profile now sets rtp-timer-name; see the last describe).
 */
async function rig(opts: FreeSwitchOptions): Promise<Rig> {
  const t0 = Date.now();
  const drachtio = await startDrachtio();
  cleanup.push(() => drachtio.stop());
  const fsw = await startFreeSwitch({ silentLegStalls: opts.profileXml === undefined ? true : undefined, ...opts });
  cleanup.push(() => fsw.stop());
  const outbound = new TraceFile('', t0);
  let conn = 0;
  const appEslPort = 20000 + Math.floor(Math.random() * 20000);
  const relay: Relay = await startRelay({
    target: { host: '127.0.0.1', port: appEslPort }, kind: 'esl', file: outbound, names: ['FS ==> APP', 'APP ==> FS'], nextConn: () => ++conn,
  });
  cleanup.push(() => relay.close());
  const invites: Rig['invites'] = [];
  const srf = await connectSrf(drachtio.adminPort, 'cymru', (s) => verbs(s).invite((req, res) => invites.shift()?.(req, res)));
  cleanup.push(() => disconnectSrf(srf));
  const ms = await new Mrf(srf).connect({
    address: '127.0.0.1', port: fsw.eslPort, secret: 'ClueCon', listenAddress: '127.0.0.1', listenPort: appEslPort, advertisedPort: relay.port,
  });
  cleanup.push(() => ms.disconnect());
  const api = (cmd: string) => new Promise<string>((r) => ms.api(cmd, (res: any) => r(typeof res === 'string' ? res : String(res?.body ?? ''))));
  return { drachtio, fsw, srf, ms, outbound, invites, api };
}

/** An SDP for a peer on a UDP port that receives and never sends (a silent seat or trunk). */
async function silentPeer(): Promise<{ sdp: string; close(): void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  cleanup.push(() => { try { sock.close(); } catch { /* closed */ } });
  const sdp = ['v=0', 'o=peer 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', ''].join('\r\n');
  return { sdp, close: () => sock.close() };
}

function talk(fsw: FreeSwitchStandIn, uuid: string): RtpStream {
  const s = startRtpStream(fsw.channel(uuid)!.rtpPort);
  cleanup.push(() => s.stop());
  return s;
}

/** Event-socket steps of one connection that do not depend on timing: commands and events, no replies. */
function significant(steps: string[]): string[] {
  return steps.filter((s) => !/^(reply|api-response|HEARTBEAT|CHANNEL_DATA$|connect$|event$|filter$|api uuid_(set_media_stats|dump))/.test(s));
}

/** The steps after the first occurrence of `marker`. */
function after(steps: string[], marker: string): string[] {
  const i = steps.indexOf(marker);
  expect(i, `${marker} in ${steps.join(', ')}`).toBeGreaterThanOrEqual(0);
  return steps.slice(i + 1);
}

const traced = (file: string, nth: number) => significant(connSteps(eslSteps(readTrace(file)), nth));
const ours = (r: Rig, nth: number) => significant(connSteps(eslSteps(r.outbound.text()), nth));

/** Resolves true when `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(() => { settled = true; }, () => { settled = true; });
  const until = Date.now() + ms;
  while (!settled && Date.now() < until) await sleep(20);
  return settled;
}

describe('3pcc: createEndpoint() with no SDP', () => {
  it('is refused with 480 (Q.850 cause 96) and no event socket when the profile lacks enable-3pcc, as traced', async () => {
    const r = await rig({ profileXml: PROFILE_PLAIN });
    const err = await r.ms.createEndpoint().then(() => undefined, (e: any) => e);
    expect(err?.status).toBe(480);
    const mine = r.drachtio.frames.find((f) => f.dir === 'SERVER ==> APP' && f.payload.includes('\r\nSIP/2.0 480'))?.payload ?? '';
    const real = parseTraceFile(readTrace('3pcc-off-drachtio-wire.txt')).find((f) => f.dir === 'SERVER ==> APP' && f.payload.includes('\r\nSIP/2.0 480'))?.payload ?? '';
    for (const text of [mine, real]) {
      expect(text).toContain('SIP/2.0 480 Temporarily Unavailable\r\n');
      expect(text).toContain('\r\nReason: Q.850;cause=96;text="MANDATORY_IE_MISSING"\r\n');
    }
    await sleep(300);
    expect(readTrace('3pcc-off-outbound-esl.txt')).toBe('');
    expect(r.outbound.text()).toBe('');
    expect(r.fsw.channels()).toEqual([]);
    const hangup = await r.fsw.waitForEvent((e) => e.name === 'CHANNEL_HANGUP');
    expect(hangup.event.get('Hangup-Cause')).toBe('MANDATORY_IE_MISSING');
  });

  it('gets a 200 OK with an offer (RTP/SAVP then RTP/AVP) when enable-3pcc is true, and destroy() hangs it up as traced', async () => {
    const r = await rig({ profileXml: PROFILE_3PCC });
    const ep = await r.ms.createEndpoint();
    const real200 = parseTraceFile(readTrace('3pcc-on-drachtio-wire.txt')).find((f) => f.payload.includes('\r\nSIP/2.0 200 OK') && f.payload.includes('m=audio'))!.payload;
    const mlines = (sdp: string) => [...sdp.matchAll(/^m=audio \d+ (\S+)/gm)].map((m) => m[1]);
    expect(mlines(ep.local.sdp)).toEqual(mlines(real200));
    await ep.destroy();
    await sleep(100);
    expect(ours(r, 1)).toEqual(traced('3pcc-on-outbound-esl.txt', 1));
  });

  it('reads enable-3pcc from a profile file, and the enable3pcc option overrides it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'drachtio_mrf.xml');
    fs.writeFileSync(file, PROFILE_3PCC.replace('value="true"', 'value="proxy"'));
    const on = await rig({ profileXml: file });
    const ep = await on.ms.createEndpoint();
    await ep.destroy();
    const forced = await rig({ profileXml: file, enable3pcc: false });
    expect((await forced.ms.createEndpoint().then(() => undefined, (e: any) => e))?.status).toBe(480);
  });
});

/** Two endpoints bridged as the app anchors a call: A answers a peer's offer, B (3pcc) offers to a trunk. */
async function bridged(r: Rig): Promise<{ a: any; b: any }> {
  const seat = await silentPeer();
  const trunk = await silentPeer();
  const a = await r.ms.createEndpoint({ remoteSdp: seat.sdp });
  const b = await r.ms.createEndpoint();
  await b.modify(trunk.sdp);
  await a.bridge(b);
  return { a, b };
}

describe('a channel inside uuid_bridge and the queued `execute hangup` of Endpoint.destroy()', () => {
  it('with a silent peer the hangup is held: no BYE, both channels up; uuid_kill ends it at once (bridge-held)', async () => {
    const r = await rig({ enable3pcc: true });
    const { a, b } = await bridged(r);
    await sleep(300);
    const gone = a.destroy();
    expect(await settlesWithin(gone, 2000)).toBe(false);
    expect(r.fsw.channel(a.uuid)?.queued).toEqual(['hangup']);
    expect(r.fsw.channel(a.uuid)?.bridgedTo).toBe(b.uuid);
    expect(r.fsw.channels()).toHaveLength(2);
    expect(await r.api(`uuid_kill ${a.uuid}`)).toBe('+OK\n');
    expect(await settlesWithin(gone, 1000)).toBe(true);
    expect(r.fsw.channel(b.uuid)?.state).toBe('CS_PARK');
    await b.destroy();
    await sleep(100);
    // Leg A: nothing at all between the queued hangup and the disconnect that uuid_kill brings.
    const mine = ours(r, 1);
    const real = traced('bridge-held-outbound-esl.txt', 1);
    for (const steps of [mine, real]) {
      expect(after(steps, 'sendmsg hangup').filter((s) => !s.startsWith('CHANNEL_CALLSTATE'))).toEqual(['disconnect disconnect']);
      // (the recorded flow also started record_session, which ran in soft-execute there)
      const bridge = steps.filter((s) => !s.includes('record_session')).slice(0, 3);
      expect(bridge).toEqual(['api uuid_bridge', 'CHANNEL_EXECUTE_COMPLETE socket', 'CHANNEL_EXECUTE uuid_bridge']);
    }
    // Leg B: parked by A's hangup, its own destroy() runs at once.
    expect(ours(r, 2)).toEqual(traced('bridge-held-outbound-esl.txt', 2));
  });

  it('with RTP from the peer the hangup runs after the bridge has read its lead frames (bridge-rtp)', async () => {
    const r = await rig({ enable3pcc: true });
    const { a, b } = await bridged(r);
    talk(r.fsw, a.uuid);
    await sleep(500);
    expect(await settlesWithin(a.destroy(), 1000)).toBe(true);
    await b.destroy();
    await sleep(100);
    const mine = ours(r, 1);
    const real = traced('bridge-rtp-outbound-esl.txt', 1);
    for (const steps of [mine, real]) {
      expect(after(steps, 'sendmsg hangup').filter((s) => !s.startsWith('CHANNEL_CALLSTATE'))).toEqual([
        'CHANNEL_EXECUTE hangup', 'CHANNEL_EXECUTE_COMPLETE hangup', 'disconnect disconnect',
      ]);
    }
  });

  it('uuid_park takes the channel out of the bridge: the held applications run in order (bridge-park)', async () => {
    const r = await rig({ enable3pcc: true });
    const { a, b } = await bridged(r);
    await sleep(300);
    // the record_session the app starts after bridging: sent once the loop runs, it is held too
    const rec = a.execute('record_session', path.join(os.tmpdir(), `realism-${a.uuid}.wav`));
    const gone = a.destroy();
    expect(await settlesWithin(gone, 1500)).toBe(false);
    expect(r.fsw.channel(a.uuid)?.queued).toEqual(['record_session', 'hangup']);
    await r.api(`uuid_park ${a.uuid}`);
    expect(await settlesWithin(Promise.all([rec, gone]), 1000)).toBe(true);
    await b.destroy();
    await sleep(100);
    const tail = (steps: string[]) => after(steps, 'sendmsg hangup');
    expect(tail(ours(r, 1))).toEqual(tail(traced('bridge-park-outbound-esl.txt', 1)));
    fs.rmSync(path.join(os.tmpdir(), `realism-${a.uuid}.wav`), { force: true });
  });
});

/** A sipp caller that sends no RTP gets 183 with an endpoint's SDP, then `app` runs; the app gives up after `stallMs`. */
async function earlyMediaToSilentCaller(r: Rig, run: (ep: any) => Promise<unknown>, stallMs: number): Promise<{ settledEarly: boolean; result: unknown; ep: any }> {
  let resolveOut: (v: { settledEarly: boolean; result: unknown; ep: any }) => void = () => undefined;
  const out = new Promise<{ settledEarly: boolean; result: unknown; ep: any }>((res) => { resolveOut = res; });
  r.invites.push((req, res) => void (async () => {
    const ep = await r.ms.createEndpoint({ remoteSdp: req.body });
    res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
    let result: unknown;
    const p = run(ep).then((v) => { result = v; });
    const settledEarly = await settlesWithin(p, stallMs);
    if (!settledEarly) {
      await r.api(`uuid_break ${ep.uuid} all`);
      await settlesWithin(p, 3000);
    }
    await ep.destroy();
    res.send(480);
    resolveOut({ settledEarly, result, ep });
  })());
  const sipp = runSipp({ scenario: 'call-expect-480', target: `127.0.0.1:${r.drachtio.sipPort}`, service: 'deny', calls: 1, timeoutMs: 20_000 });
  const o = await out;
  expect((await sipp).successful).toBe(1);
  await sleep(100);
  return o;
}

describe('media applications on a leg whose peer sends no RTP', () => {
  it('a playback stalls; uuid_break ends it at the next poll timeout with PLAYBACK_STOP break (play-stall)', async () => {
    const r = await rig({ silentPollMs: 1000 });
    r.fsw.setPlaybackDuration('announcement.wav', 1500);
    let brokeAt = 0;
    const o = await earlyMediaToSilentCaller(r, async (ep) => ep.play('/sounds/announcement.wav').finally(() => { brokeAt = Date.now(); }), 2500);
    expect(o.settledEarly).toBe(false);
    // a frame per read: one at the start, one per poll timeout, none of the 1.5 s played in 2.5 s
    expect(Number((o.result as any)?.playbackLastOffsetPos)).toBeLessThan(1500 * 8);
    expect(brokeAt).toBeGreaterThan(0);
    expect(ours(r, 1)).toEqual(traced('play-stall-outbound-esl.txt', 1));
  });

  it('the same playback runs its course when the peer sends RTP', async () => {
    const r = await rig({});
    r.fsw.setPlaybackDuration('announcement.wav', 600);
    const o = await earlyMediaToSilentCaller(r, async (ep) => {
      talk(r.fsw, ep.uuid);
      return ep.play('/sounds/announcement.wav');
    }, 2500);
    expect(o.settledEarly).toBe(true);
    expect((o.result as any)?.playbackMilliseconds).toBe('600');
    expect(ours(r, 1)).toContain('PLAYBACK_STOP done');
  });

  it('play_and_get_digits stalls in its prompt; the hangup of destroy() ends it and runs nested (pagd-stall)', async () => {
    const r = await rig({ silentPollMs: 60_000 });
    const args = '1 1 1 2000 # silence_stream://500 silence_stream://250 digits \\d 1000';
    const o = await earlyMediaToSilentCaller(r, (ep) => ep.execute('play_and_get_digits', args), 1500);
    expect(o.settledEarly).toBe(false);
    expect(after(ours(r, 1), 'sendmsg hangup')).toEqual(after(traced('pagd-stall-outbound-esl.txt', 1), 'sendmsg hangup'));
  });

  it('record with a time limit never reaches it and ignores uuid_break; the hangup ends it (record-stall)', async () => {
    const r = await rig({});
    const file = path.join(os.tmpdir(), `realism-rec-${Date.now()}.wav`);
    cleanup.push(() => fs.rmSync(file, { force: true }));
    const o = await earlyMediaToSilentCaller(r, (ep) => ep.execute('record', `${file} 1`), 1500);
    expect(o.settledEarly).toBe(false);
    expect(after(ours(r, 1), 'sendmsg hangup')).toEqual(after(traced('record-stall-outbound-esl.txt', 1), 'sendmsg hangup'));
  });
});

describe('the project\'s profile: an RTP read timer (rtp-timer-name soft)', () => {
  it('a playback to a silent leg runs its course (softtimer-play), as with a talking peer', async () => {
    const r = await rig({ profileXml: PROFILE_DEFAULT_REPO });
    r.fsw.setPlaybackDuration('announcement.wav', 600);
    const o = await earlyMediaToSilentCaller(r, (ep) => ep.play('/sounds/announcement.wav'), 2500);
    expect(o.settledEarly).toBe(true);
    expect((o.result as any)?.playbackMilliseconds).toBe('600');
    expect(ours(r, 1)).toContain('PLAYBACK_STOP done');
  });
});
