// The FreeSWITCH stand-in against the recorded traces (traces/freeswitch/): inbound event socket with
// drachtio-modesl and raw frames, and the per-call outbound socket driven over real SIP/UDP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { header, param, serializeMessage } from './sip/message.js';
import { startFreeSwitch, type FreeSwitchStandIn } from './freeswitch/index.js';
import { startRtpStream } from './freeswitch/rtp-peer.js';
import { RawEsl, frameHeader, outboundListener, plainHeaders, type RawFrame } from './freeswitch/esl-reader.js';
import { CALLER_SDP, SipTestClient, type ClientDialog } from './freeswitch/sip-client.js';

interface EslEvent { getHeader(n: string): string | undefined; getBody(): string }
interface EslConnection {
  api(cmd: string, cb: (e: EslEvent) => void): void;
  bgapi(cmd: string, cb: (e: EslEvent) => void): void;
  subscribe(events: string[], cb?: () => void): void;
  on(ev: string, cb: (e: EslEvent) => void): void;
  once(ev: string, cb: (e: EslEvent) => void): void;
  disconnect(): void;
}
const require = createRequire(import.meta.url);
const esl = require('drachtio-modesl') as {
  Connection: new (host: string, port: number, password: string, ready: () => void) => EslConnection;
};

// The event list and order fsmrf's Endpoint subscribes with (traces/freeswitch/play-outbound-esl.txt).
const FSMRF_EVENTS =
  'event json CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_PROGRESS_MEDIA CHANNEL_CALLSTATE CHANNEL_ANSWER DTMF ' +
  'DETECTED_TONE SWITCH_EVENT_PLAYBACK_START SWITCH_EVENT_PLAYBACK_STOP CUSTOM conference::maintenance BACKGROUND_JOB';

let fsw: FreeSwitchStandIn;
let sip: SipTestClient;
let app: Awaited<ReturnType<typeof outboundListener>>;
const open: Array<{ close(): void }> = [];

beforeEach(async () => {
  // 3pcc on explicitly (the 3pcc test below), whatever the repo's profile says today.
  fsw = await startFreeSwitch({ heartbeatMs: 300, enable3pcc: true });
  sip = await SipTestClient.start();
  app = await outboundListener();
});

afterEach(async () => {
  for (const o of open.splice(0)) o.close();
  app.close();
  sip.close();
  await fsw.stop();
});

function apiBody(conn: EslConnection, cmd: string): Promise<string> {
  return new Promise((resolve) => conn.api(cmd, (e) => resolve(e.getBody())));
}

async function modeslInbound(): Promise<EslConnection> {
  const conn = await new Promise<EslConnection>((resolve) => {
    const c: EslConnection = new esl.Connection('127.0.0.1', fsw.eslPort, 'ClueCon', () => resolve(c));
  });
  open.push({ close: () => conn.disconnect() });
  return conn;
}

/**
 * INVITE with X-esl-outbound, then accept FS's outbound socket and send `connect`. The caller talks
 * (sends RTP) unless `silent`: media applications on a silent leg stall like the real server's.
 */
async function callIn(opts: { sdp?: string; ackSdp?: string; silent?: boolean } = {}): Promise<{ d: ClientDialog; out: RawEsl; data: RawFrame; uuid: string }> {
  const d = await sip.invite(fsw.sipPort, { esl: `127.0.0.1:${app.port}`, sdp: opts.sdp ?? CALLER_SDP, ackSdp: opts.ackSdp });
  const out = await app.next();
  open.push(out);
  out.send('connect\n\n');
  const data = await out.next((f) => f.head.startsWith('Event-Name: CHANNEL_DATA'));
  const uuid = frameHeader(data, 'Unique-ID')!;
  if (!opts.silent) open.push({ close: startRtpStream(fsw.channel(uuid)!.rtpPort).stop });
  return { d, out, data, uuid };
}

async function fsmrfSubscribe(out: RawEsl, uuid: string): Promise<void> {
  expect(frameHeader(await out.command(FSMRF_EVENTS), 'Reply-Text')).toBe('+OK event listener enabled json');
  expect(frameHeader(await out.command(`filter Unique-ID ${uuid}`), 'Reply-Text')).toBe(`+OK filter added. [Unique-ID]=[${uuid}]`);
}

function execute(out: RawEsl, uuid: string, app: string, arg: string, eventUuid: string): Promise<RawFrame> {
  return out.command(`sendmsg ${uuid}\nexecute-app-name: ${app}\nexecute-app-arg: ${arg}\ncall-command: execute\nEvent-UUID: ${eventUuid}\n\n`);
}

function eventFrame(out: RawEsl, name: string, extra: (e: Record<string, string>) => boolean = () => true, from = 0): Promise<RawFrame> {
  return out.next((f) => {
    if (frameHeader(f, 'Content-Type') !== 'text/event-json') return false;
    const e = JSON.parse(f.body) as Record<string, string>;
    return e['Event-Name'] === name && extra(e);
  }, from);
}

const json = (f: RawFrame) => JSON.parse(f.body) as Record<string, string>;

describe('inbound event socket', () => {
  it('asks for auth, rejects a wrong password with -ERR invalid and hangs up', async () => {
    const c = await RawEsl.connect(fsw.eslPort);
    open.push(c);
    const first = await c.next();
    expect(first.head).toBe('Content-Type: auth/request');
    const reply = await c.command('auth nope');
    expect(reply.head).toBe('Content-Type: command/reply\nReply-Text: -ERR invalid');
    const notice = await c.next((f) => frameHeader(f, 'Content-Type') === 'text/disconnect-notice');
    expect(notice.body).toBe('Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n');
    await c.waitClosed();
  });

  it('frames api/response exactly (Content-Type, then Content-Length of the body in bytes)', async () => {
    const c = await RawEsl.connect(fsw.eslPort);
    open.push(c);
    await c.next();
    expect((await c.command('auth ClueCon')).head).toBe('Content-Type: command/reply\nReply-Text: +OK accepted');
    const res = await c.command('api sofia status');
    expect(res.headers.map(([n]) => n)).toEqual(['Content-Type', 'Content-Length']);
    expect(frameHeader(res, 'Content-Type')).toBe('api/response');
    expect(Number(frameHeader(res, 'Content-Length'))).toBe(Buffer.byteLength(res.body));
    // same layout as the recorded one (388 bytes for sip:mod_sofia@127.0.0.1:5080)
    const lines = res.body.split('\n');
    expect(lines[0]).toBe('                     Name\t   Type\t                                      Data\tState');
    expect(lines[2]).toMatch(/^ {13}drachtio_mrf\tprofile\t {2}\s*sip:mod_sofia@127\.0\.0\.1:\d+\tRUNNING \(\d+\)$/);
    expect(lines[4]).toBe('1 profile 0 aliases');
    // fsmrf's MediaServer regex finds our SIP address
    const re = /^\s*drachtio_mrf\s.*sip:mod_sofia@((?:[0-9]{1,3}\.){3}[0-9]{1,3}:\d+)/m;
    expect(re.exec(res.body)?.[1]).toBe(fsw.sipAddress);
    const bad = await c.command('api no_such_thing arg');
    expect(bad.body).toBe('-ERR no_such_thing Command not found!\n');
    expect((await c.command('bogus')).head).toBe('Content-Type: command/reply\nReply-Text: -ERR command not found');
    expect((await c.command('event plain NOT_AN_EVENT')).head).toContain('-ERR no keywords supplied');
    expect((await c.command('linger')).head).toContain('-ERR not controlling a session');
    expect((await c.command('exit')).head).toBe('Content-Type: command/reply\nReply-Text: +OK bye');
    await c.waitClosed();
  });

  it('works with drachtio-modesl: auth, api, bgapi with BACKGROUND_JOB, json HEARTBEAT events', async () => {
    const conn = await modeslInbound();
    // inbound modesl subscribes to nothing by itself: BACKGROUND_JOB must be asked for, as with real FS
    await new Promise<void>((r) => conn.subscribe(['BACKGROUND_JOB', 'HEARTBEAT'], () => r()));
    // As recorded from 1.10.12 (watcher-orphan-inbound-esl.txt).
    expect(await apiBody(conn, 'status')).toMatch(/^UP 0 years, 0 days, .*\nFreeSWITCH \(Version 1\.10\.12-release git a88d069 2024-08-02 21:02:27Z 64bit\) is ready\n/);
    expect(await apiBody(conn, 'uuid_exists 00000000-0000-0000-0000-000000000000')).toBe('false');
    expect(await apiBody(conn, 'uuid_kill 00000000-0000-0000-0000-000000000000')).toBe('-ERR No such channel!\n');
    const job = await new Promise<EslEvent>((resolve) => conn.bgapi('status', resolve));
    expect(job.getHeader('Event-Name')).toBe('BACKGROUND_JOB');
    expect(job.getHeader('Job-Command')).toBe('status');
    expect(job.getBody()).toMatch(/^UP /);
    const hb = await new Promise<EslEvent>((resolve) => conn.once('esl::event::HEARTBEAT::**', resolve));
    expect(hb.getHeader('Event-Info')).toBe('System Ready');
    expect(hb.getHeader('FreeSWITCH-Version')).toBe('1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit');
    expect(Number(hb.getHeader('Max-Sessions'))).toBe(1000);
  });

  it('plain events are URL-encoded with a Content-Length; bgapi replies carry Job-UUID', async () => {
    const c = await RawEsl.connect(fsw.eslPort);
    open.push(c);
    await c.next();
    await c.command('auth ClueCon');
    expect(frameHeader(await c.command('event plain BACKGROUND_JOB'), 'Reply-Text')).toBe('+OK event listener enabled plain');
    const r = await c.command('bgapi status\nJob-UUID: 11111111-2222-3333-4444-555555555555');
    expect(r.head).toBe('Content-Type: command/reply\nReply-Text: +OK Job-UUID: 11111111-2222-3333-4444-555555555555\nJob-UUID: 11111111-2222-3333-4444-555555555555');
    const ev = await c.next((f) => frameHeader(f, 'Content-Type') === 'text/event-plain');
    expect(ev.headers.map(([n]) => n)).toEqual(['Content-Length', 'Content-Type']);
    expect(Number(frameHeader(ev, 'Content-Length'))).toBe(Buffer.byteLength(ev.body));
    const h = plainHeaders(ev.body.slice(0, ev.body.indexOf('\n\n')));
    expect(h[0]).toEqual(['Event-Name', 'BACKGROUND_JOB']);
    expect(ev.body).toMatch(/\nEvent-Date-Local: \d{4}-\d\d-\d\d%20\d\d%3A\d\d%3A\d\d\n/);
    expect(ev.body).toContain('Job-UUID: 11111111-2222-3333-4444-555555555555\n');
    const inner = /\nContent-Length: (\d+)\n\n([\s\S]*)$/.exec(ev.body);
    expect(Number(inner?.[1])).toBe(Buffer.byteLength(inner?.[2] ?? ''));
    expect(inner?.[2]).toMatch(/^UP /);
  });
});

describe('SIP UAS and the outbound event socket', () => {
  it('answers 100/200 with a PCMA answer and hands the call to X-esl-outbound with the traced CHANNEL_DATA block', async () => {
    const { d, data, uuid } = await callIn();
    expect(sip.received.some((m) => m.status === 100)).toBe(true);
    expect(d.final.status).toBe(200);
    expect(header(d.final, 'content-type')).toBe('application/sdp');
    expect(d.final.body).toMatch(/^v=0\r\no=Drachtio-Mediaserver \d+ \d+ IN IP4 127\.0\.0\.1\r\ns=Drachtio-Mediaserver\r\nc=IN IP4 127\.0\.0\.1\r\nt=0 0\r\nm=audio (\d+) RTP\/AVP 8 101\r\na=rtpmap:8 PCMA\/8000\r\na=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n$/);
    const port = Number(/m=audio (\d+)/.exec(d.final.body)?.[1]);
    expect(port % 2).toBe(0);
    expect(param(header(d.final, 'to'), 'tag')).toMatch(/^[A-Za-z0-9]{13}$/);
    expect(header(d.final, 'contact')).toBe(`<sip:drachtio@127.0.0.1:${fsw.sipPort};transport=udp>`);

    // header order of the recorded block: core headers, Channel-* profile, channel data, Caller-*, variables, reply
    const names = data.headers.map(([n]) => n);
    expect(names.slice(0, 14)).toEqual([
      'Event-Name', 'Core-UUID', 'FreeSWITCH-Hostname', 'FreeSWITCH-Switchname', 'FreeSWITCH-IPv4', 'FreeSWITCH-IPv6',
      'Event-Date-Local', 'Event-Date-GMT', 'Event-Date-Timestamp', 'Event-Calling-File', 'Event-Calling-Function',
      'Event-Calling-Line-Number', 'Event-Sequence', 'Channel-Direction',
    ]);
    expect(names.slice(-4)).toEqual(['Content-Type', 'Reply-Text', 'Socket-Mode', 'Control']);
    expect(data.headers.slice(-4).map(([, v]) => v)).toEqual(['command/reply', '%2BOK%0A', 'async', 'full']);
    expect(names.indexOf('Channel-State')).toBeLessThan(names.indexOf('Caller-Direction'));
    expect(names.indexOf('Caller-Privacy-Hide-Number')).toBeLessThan(names.indexOf('variable_direction'));
    const h = Object.fromEntries(plainHeaders(data.head));
    expect(h['Channel-Unique-ID']).toBe(uuid);
    expect(h['Answer-State']).toBe('answered');
    expect(h['Channel-Call-State']).toBe('ACTIVE');
    expect(h['Channel-State']).toBe('CS_EXECUTE');
    expect(h['Channel-Name']).toBe(`sofia/drachtio_mrf/nobody@127.0.0.1:${sip.port}`);
    expect(h['variable_sip_h_X-esl-outbound']).toBe(`127.0.0.1:${app.port}`);
    expect(h['variable_sip_user_agent']).toMatch(/^drachtio-fsmrf:/);
    expect(h['variable_switch_r_sdp']).toBe(CALLER_SDP);
    expect(h['variable_rtp_local_sdp_str']).toBe(d.final.body + 'a=sendrecv\r\n');
    expect(h['variable_local_media_port']).toBe(String(port));
    expect(h['variable_remote_media_port']).toBe('40000');
    expect(h['variable_dtmf_type']).toBe('rfc2833');
    expect(h['variable_current_application']).toBe('socket');
    expect(h['variable_current_application_data']).toBe(`127.0.0.1:${app.port} async full`);
    expect(h['variable_hangup_after_bridge']).toBe('false');
    expect(h['variable_park_after_bridge']).toBe('true');
    // encoded like FS: ':' '@' '=' CR LF escaped, '/' and ',' left alone
    expect(data.head).toContain(`variable_sofia_profile_url: sip%3Amod_sofia%40127.0.0.1%3A${fsw.sipPort}\n`);
    expect(data.head).toMatch(/\nEvent-Date-GMT: [A-Z][a-z]{2},%20\d\d%20/);
    expect(fsw.channels().map((c) => c.uuid)).toEqual([uuid]);
  });

  it('runs playback like the trace: +OK, CHANNEL_EXECUTE ~20 ms later, PLAYBACK_START/STOP, EXECUTE_COMPLETE after the audio time', async () => {
    const { out, uuid } = await callIn();
    await fsmrfSubscribe(out, uuid);
    const from = out.frames.length;
    const sent = Date.now();
    const ok = await execute(out, uuid, 'playback', 'silence_stream://500', 'a57b9573-b9a6-4b26-a92c-8671ad5ff926');
    expect(ok.head).toBe('Content-Type: command/reply\nReply-Text: +OK');
    const exec = await eventFrame(out, 'CHANNEL_EXECUTE', () => true, from);
    expect(exec.headers.map(([n]) => n)).toEqual(['Content-Length', 'Content-Type']);
    expect(Number(frameHeader(exec, 'Content-Length'))).toBe(Buffer.byteLength(exec.body));
    expect(exec.at - sent).toBeGreaterThanOrEqual(15);
    const e = json(exec);
    expect(e['Application']).toBe('playback');
    expect(e['Application-Data']).toBe('silence_stream://500');
    expect(e['Application-UUID']).toBe('a57b9573-b9a6-4b26-a92c-8671ad5ff926');
    expect(e['Unique-ID']).toBe(uuid);
    expect(e['variable_current_application']).toBe('playback');
    const start = json(await eventFrame(out, 'PLAYBACK_START', () => true, from));
    expect(start['Playback-File-Path']).toBe('silence_stream://500');
    const stop = json(await eventFrame(out, 'PLAYBACK_STOP', () => true, from));
    expect(stop['Playback-Status']).toBe('done');
    expect(stop['variable_playback_ms']).toBe('500');
    expect(stop['variable_playback_samples']).toBe('4000');
    const done = await eventFrame(out, 'CHANNEL_EXECUTE_COMPLETE', (x) => x['Application'] === 'playback', from);
    // the switch's own clock (Event-Date-Timestamp, µs), not arrival times on a busy test machine
    const micros = (f: RawFrame) => Number(json(f)['Event-Date-Timestamp']);
    expect(micros(done) - micros(exec)).toBeGreaterThanOrEqual(499_000);
    expect(json(done)['Application-Response']).toBe('FILE PLAYED');
    expect(json(done)['Application-UUID']).toBe('a57b9573-b9a6-4b26-a92c-8671ad5ff926');
    // tone_stream length comes from the tone spec: the traced one played 1000 ms
    expect(fsw.api('uuid_exists ' + uuid)).toBe('true');
  });

  it('uuid_break cuts a playback short; caller BYE ends the channel and closes the socket after the traced events', async () => {
    const { d, out, uuid } = await callIn();
    await fsmrfSubscribe(out, uuid);
    const from = out.frames.length;
    await execute(out, uuid, 'playback', '/no/such/prompt.wav', 'e1');
    await eventFrame(out, 'PLAYBACK_START', () => true, from);
    const inbound = await modeslInbound();
    expect(await apiBody(inbound, `uuid_break ${uuid}`)).toBe('+OK\n');
    const stop = json(await eventFrame(out, 'PLAYBACK_STOP', () => true, from));
    expect(stop['Playback-Status']).toBe('break');
    expect(json(await eventFrame(out, 'CHANNEL_EXECUTE_COMPLETE', () => true, from))['Application-Response']).toBe('FILE PLAYED');

    const after = out.frames.length;
    const byeRes = await sip.request(fsw.sipPort, d, d.invite, 'BYE');
    expect(byeRes.status).toBe(200);
    const sock = json(await eventFrame(out, 'CHANNEL_EXECUTE_COMPLETE', (x) => x['Application'] === 'socket', after));
    expect(sock['Answer-State']).toBe('hangup');
    expect(sock['Hangup-Cause']).toBe('NORMAL_CLEARING');
    expect(sock['Application-Data']).toBe(`127.0.0.1:${app.port} async full`);
    const cs = json(await eventFrame(out, 'CHANNEL_CALLSTATE', () => true, after));
    expect(cs['Channel-Call-State']).toBe('HANGUP');
    expect(cs['Original-Channel-Call-State']).toBe('ACTIVE');
    expect(cs['Channel-Call-State-Number']).toBe('7');
    expect(Object.keys(cs).some((k) => k.startsWith('variable_'))).toBe(false);
    const notice = await out.next((f) => frameHeader(f, 'Content-Type') === 'text/disconnect-notice', after);
    expect(notice.head).toBe(`Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${uuid}\nContent-Disposition: disconnect\nContent-Length: 67`);
    await out.waitClosed();
    await fsw.waitForEvent((e) => e.name === 'CHANNEL_DESTROY' && e.uuid === uuid);
    expect(fsw.channels()).toEqual([]);
  });

  it('the hangup application sends BYE with a Q.850 Reason and the traced event sequence', async () => {
    const { d, out, uuid } = await callIn();
    await fsmrfSubscribe(out, uuid);
    const from = out.frames.length;
    await execute(out, uuid, 'hangup', '', 'h1');
    const bye = await d.byeReceived;
    expect(header(bye, 'reason')).toBe('Q.850;cause=16;text="NORMAL_CLEARING"');
    expect(header(bye, 'call-id')).toBe(d.callId);
    expect(param(header(bye, 'from'), 'tag')).toBe(d.toTag);
    await out.waitClosed();
    const seq = out.frames.slice(from).map((f) => {
      if (frameHeader(f, 'Content-Type') !== 'text/event-json') return f.head.split('\n')[0]!.replace('Content-Type: ', '');
      const e = json(f);
      return `${e['Event-Name']}${e['Application'] ? ':' + e['Application'] : ''}`;
    });
    expect(seq).toEqual([
      'command/reply', 'CHANNEL_EXECUTE:hangup', 'CHANNEL_EXECUTE_COMPLETE:hangup', 'CHANNEL_EXECUTE_COMPLETE:socket',
      'CHANNEL_CALLSTATE', 'text/disconnect-notice',
    ]);
  });

  it('record_session and uuid_record write WAV files; linger keeps the socket for HANGUP_COMPLETE after uuid_kill', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsw-rec-'));
    const { out, uuid } = await callIn();
    expect(frameHeader(await out.command('linger 1'), 'Reply-Text')).toBe('+OK will linger 1 seconds');
    expect(frameHeader(await out.command('event json ALL'), 'Reply-Text')).toBe('+OK event listener enabled json');
    await out.command(`filter Unique-ID ${uuid}`);
    const rec = path.join(dir, 'a', 'call.wav');
    const from = out.frames.length;
    await execute(out, uuid, 'record_session', rec, 'r1');
    const done = json(await eventFrame(out, 'CHANNEL_EXECUTE_COMPLETE', (e) => e['Application'] === 'record_session', from));
    expect(done['Application-Response']).toBe('_none_');
    expect(fs.existsSync(rec)).toBe(true);
    await eventFrame(out, 'RECORD_START', () => true, from);
    const inbound = await modeslInbound();
    const rec2 = path.join(dir, 'b.wav');
    expect(await apiBody(inbound, `uuid_record ${uuid} start ${rec2}`)).toBe('+OK Success\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(await apiBody(inbound, `uuid_record ${uuid} stop ${rec2}`)).toBe('+OK Success\n');
    expect(fs.statSync(rec2).size).toBeGreaterThan(44 + 8000 * 2 * 0.25);
    expect(fs.readFileSync(rec2).toString('ascii', 0, 4)).toBe('RIFF');
    expect(await apiBody(inbound, `uuid_getvar ${uuid} park_after_bridge`)).toBe('true');
    expect(await apiBody(inbound, `uuid_setvar ${uuid} foo bar baz`)).toBe('+OK\n');
    expect(await apiBody(inbound, `uuid_getvar ${uuid} foo`)).toBe('bar baz');
    const dump = await apiBody(inbound, `uuid_dump ${uuid}`);
    expect(dump.startsWith('Event-Name: CHANNEL_DATA\n')).toBe(true);
    expect(dump.endsWith('\n\n')).toBe(true);
    expect(dump).toContain('variable_foo: bar%20baz\n');

    const before = out.frames.length;
    expect(await apiBody(inbound, `uuid_kill ${uuid}`)).toBe('+OK\n');
    const linger = await out.next((f) => frameHeader(f, 'Content-Disposition') === 'linger', before);
    expect(linger.head).toContain('Linger-Time: 1');
    // uuid_kill without a cause is NORMAL_CLEARING on the real server (traces bridge-held, watcher-orphan).
    await eventFrame(out, 'CHANNEL_HANGUP_COMPLETE', (e) => e['Hangup-Cause'] === 'NORMAL_CLEARING', before);
    expect(fs.statSync(rec).size).toBeGreaterThan(44);
    const lingerAt = Date.now();
    await out.waitClosed(3000);
    expect(Date.now() - lingerAt).toBeGreaterThan(500);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uuid_bridge: +OK <other>, socket apps complete, both legs report CHANNEL_BRIDGE; killing one parks the other', async () => {
    const a = await callIn();
    const b = await callIn();
    for (const x of [a, b]) await x.out.command('event json ALL');
    const inbound = await modeslInbound();
    expect(await apiBody(inbound, `uuid_bridge ${a.uuid} ${b.uuid}`)).toBe(`+OK ${b.uuid}\n`);
    for (const [x, other, type] of [[a, b, 'originatee'], [b, a, 'originator']] as const) {
      const sock = json(await eventFrame(x.out, 'CHANNEL_EXECUTE_COMPLETE', (e) => e['Application'] === 'socket' && e['Unique-ID'] === x.uuid));
      expect(sock['Other-Leg-Unique-ID']).toBe(other.uuid);
      expect(sock['Other-Type']).toBe(type);
      const ex = json(await eventFrame(x.out, 'CHANNEL_EXECUTE', (e) => e['Application'] === 'uuid_bridge' && e['Unique-ID'] === x.uuid));
      expect(ex['Application-Data']).toBe(other.uuid);
      expect(ex['Channel-State']).toBe('CS_SOFT_EXECUTE');
      const br = json(await eventFrame(x.out, 'CHANNEL_BRIDGE', (e) => e['Unique-ID'] === x.uuid));
      expect([br['Bridge-A-Unique-ID'], br['Bridge-B-Unique-ID']]).toEqual([a.uuid, b.uuid]);
    }
    expect(fsw.channel(a.uuid)?.bridgedTo).toBe(b.uuid);
    expect(await apiBody(inbound, `uuid_bridge ${a.uuid} 00000000-0000-0000-0000-000000000000`)).toBe('-ERR Invalid uuid\n');

    await b.out.command(`filter Unique-ID ${b.uuid}`);
    const from = b.out.frames.length;
    fsw.kill(a.uuid, 'NORMAL_CLEARING');
    await a.d.byeReceived;
    await eventFrame(b.out, 'CHANNEL_UNBRIDGE', () => true, from);
    const park = json(await eventFrame(b.out, 'CHANNEL_PARK', () => true, from));
    expect(park['Channel-State']).toBe('CS_PARK');
    expect(park['variable_bridge_hangup_cause']).toBe('NORMAL_CLEARING');
    expect(fsw.channel(b.uuid)?.state).toBe('CS_PARK');
    // the parked leg is still controlled over its socket
    await execute(b.out, b.uuid, 'hangup', '', 'x');
    await b.d.byeReceived;
  });

  it('play_and_get_digits collects digits injected with sendDtmf, with DTMF events', async () => {
    const { out, uuid } = await callIn();
    await fsmrfSubscribe(out, uuid);
    const from = out.frames.length;
    await execute(out, uuid, 'play_and_get_digits', '1 4 1 2000 # silence_stream://300 silence_stream://250 myDigits \\d+ 1000', 'p1');
    await eventFrame(out, 'PLAYBACK_START', () => true, from);
    fsw.sendDtmf(uuid, '12#');
    const dtmf = json(await eventFrame(out, 'DTMF', () => true, from));
    expect(dtmf['DTMF-Digit']).toBe('1');
    const done = json(await eventFrame(out, 'CHANNEL_EXECUTE_COMPLETE', (e) => e['Application'] === 'play_and_get_digits', from));
    expect(done['variable_myDigits']).toBe('12');
    expect(done['variable_read_terminator_used']).toBe('#');
  });

  it('3pcc INVITE without SDP gets an offer; re-INVITE gets an answer; retransmitted INVITE gets the same 200', async () => {
    const inv = sip.buildInvite(fsw.sipPort, { esl: `127.0.0.1:${app.port}` });
    const text = serializeMessage(inv);
    const d = await sip.invite(fsw.sipPort, { invite: inv, ackSdp: CALLER_SDP });
    expect(d.final.body).toMatch(/m=audio \d+ RTP\/SAVP 0 8 102 9 101 13 103 104\r\n/);
    expect(d.final.body).toMatch(/a=crypto:1 AEAD_AES_256_GCM_8 inline:/);
    expect(d.final.body).toMatch(/m=audio \d+ RTP\/AVP 0 8 102 9 101 13 103 104\r\n/);
    const out = await app.next();
    open.push(out);
    out.send('connect\n\n');
    const data = await out.next((f) => f.head.startsWith('Event-Name: CHANNEL_DATA'));
    const uuid = frameHeader(data, 'Unique-ID')!;
    // retransmission of the INVITE: the 200 is repeated, no second channel
    const n200 = sip.received.filter((m) => m.status === 200).length;
    sip.sendRaw(text, fsw.sipPort);
    await sip.waitFor(() => sip.received.filter((m) => m.status === 200).length > n200);
    expect(fsw.channels()).toHaveLength(1);
    const trunk = 'v=0\r\no=trunk 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    const re = await sip.request(fsw.sipPort, d, inv, 'INVITE', trunk);
    expect(re.status).toBe(200);
    expect(re.body).toMatch(/m=audio \d+ RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\na=ptime:20\r\n$/);
    const vars = fsw.channel(uuid)?.variables ?? {};
    expect(vars['remote_media_port']).toBe('6000');
    expect(vars['switch_r_sdp']).toBe(trunk);
    expect(vars['rtp_use_codec_name']).toBe('PCMU');
  });

  it('CANCEL before the answer gets 200 + 487 and opens no socket; an INVITE without X-esl-outbound is refused', async () => {
    await fsw.stop();
    fsw = await startFreeSwitch({ answerDelayMs: 2000 });
    const inv = sip.buildInvite(fsw.sipPort, { esl: `127.0.0.1:${app.port}`, sdp: CALLER_SDP });
    sip.sendRaw(serializeMessage(inv), fsw.sipPort);
    await sip.waitFor((m) => m.status === 100);
    const cancel = serializeMessage({ ...inv, method: 'CANCEL', body: '', headers: new Map([...inv.headers].filter(([k]) => k !== 'content-type').map(([k, v]) => [k, k === 'cseq' ? [v[0]!.replace('INVITE', 'CANCEL')] : v])) });
    sip.sendRaw(cancel, fsw.sipPort);
    const c200 = await sip.waitFor((m) => m.status === 200 && header(m, 'cseq')!.endsWith('CANCEL'));
    expect(c200.status).toBe(200);
    const r487 = await sip.waitFor((m) => m.status === 487);
    expect(header(r487, 'cseq')).toMatch(/INVITE$/);
    await fsw.waitForEvent((e) => e.name === 'CHANNEL_HANGUP' && e.event.get('Hangup-Cause') === 'ORIGINATOR_CANCEL');
    const noEsl = await sip.invite(fsw.sipPort, { sdp: CALLER_SDP });
    expect(noEsl.final.status).toBe(404);
  });
});
