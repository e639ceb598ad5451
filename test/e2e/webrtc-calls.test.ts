// WebRTC seats (issue 13): a browser's leg is DTLS-SRTP over ICE, a carrier's plain RTP, so such a
// call is always anchored in FreeSWITCH, even on a `media: direct` route, and the CDR says why.
// Bench lane (CI): a seat offering what Chromium offers (recorded from Chromium 1xx against the real
// FreeSWITCH, test/traces/freeswitch/webrtc-*) is anchored; the stand-in answers like FreeSWITCH.
// Real lane (`test:real` with ws=HOST:PORT): real Chromium with sip.js registers over WebSocket to
// the real drachtio-server and calls a carrier; DTLS completes with the real FreeSWITCH, the trunk
// receives the browser's audio as RTP, and the recording holds it. And a 400 call from a carrier
// offering plain RTP rings that browser (INVITE without SDP; FreeSWITCH answers the browser's offer
// in the ACK): DTLS completes, audio flows both ways, the recording holds the browser's.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { expectAudio } from './audio.js';
import { channelsGone, readCdrs, SEATS, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { injection, seatTransfer } from './scenarios.js';
import { carrierCalls, oneSeatPlan, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';
import { REAL } from './real-servers.js';
import { HAVE_CHROMIUM, startWebRtcSeat, type WebRtcSeat } from './webrtc-seat.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const TRACES = join(import.meta.dirname, '../traces/freeswitch');
const NOTE = 'anchored: WebRTC seat (route media: direct overridden)';

/** Chromium's offer as recorded (LF lines in the file), as a sipp seat sends it (CRLF, its own address). */
function chromiumOffer(): string {
  return readFileSync(join(TRACES, 'webrtc-chromium-offer.sdp'), 'utf8').trim().split('\n')
    .map((l) => l.replace(/^c=IN IP4 .*/, 'c=IN IP4 [media_ip]').replace(/^m=audio \d+ /, 'm=audio [media_port] ')).join('\r\n') + '\r\n';
}

describe.skipIf(REAL !== null)('a WebRTC offer on a media: direct route (bench)', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, media: 'direct', increments: '6/6' });
  });
  afterAll(async () => { await bench?.stop(); });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('is anchored through FreeSWITCH, the browser answered with DTLS and ICE, and the CDR says why', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    const before = readCdrs(bench).length;
    // The seat's 200 carries FreeSWITCH's DTLS/ICE answer (G.711 chosen from Chromium's list),
    // not the trunk's plain RTP: sipp fails the call otherwise.
    const r = await seatCalls(bench, {
      callee: '13812345678', expect: 200, holdMs: 1500, sdp: chromiumOffer(),
      expectAnswer: 'm=audio [0-9]+ UDP/TLS/RTP/SAVPF 8 126 13\\s+.*a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\\s+a=setup:active\\s+a=rtcp-mux\\s+'
        + '.*a=ice-ufrag:[A-Za-z0-9]{16}\\s+a=ice-pwd:[A-Za-z0-9]{24}\\s+a=candidate:[0-9]+ 1 udp 2130706431 127\\.0\\.0\\.1 [0-9]+ typ host',
    });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ decision: 'allow', sipStatus: 200, media: 'anchored', mediaNote: NOTE });
    expect(cdr.recordingPath).toMatch(/\.wav$/);
    expect(await channelsGone(bench)).toBe(0);
  });

  it('a plain RTP seat on the same route still goes direct (nothing is anchored that need not be)', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 500 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ sipStatus: 200, media: 'direct', mediaNote: 'not recorded: the route is media: direct' });
  });
});

/** Chromium's fake microphone: speech-band tones for `seconds` (Chromium loops the file). */
function fakeMic(dir: string, seconds: number): string {
  const mic = join(dir, 'mic.wav');
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', mic, 'synth', String(seconds), 'sine', '300-3000', 'vol', '0.5']);
  return mic;
}

/** A carrier's plain-RTP offer naming `port` as where its audio is to be sent. */
function carrierOffer(port: number): string {
  return ['v=0', 'o=carrier 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP 8 101`, 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n');
}

/**
 * Counts the RTP a trunk receives, and how much of it is not A-law silence (0xD5/0x55). `echo`
 * sends each packet back where it came from: a caller whose RTP comes from the port its SDP names,
 * as FreeSWITCH expects (it follows the source of what it receives).
 */
function rtpCounter(port: number, echo = false): Promise<{ packets: number; voiced: number; close(): void }> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const c = { packets: 0, voiced: 0, close: () => s.close() };
    s.on('message', (m, rinfo) => {
      if (m.length <= 12 || (m[0]! & 0xc0) !== 0x80) return;
      c.packets++;
      const payload = m.subarray(12);
      if (payload.some((b) => b !== 0xd5 && b !== 0x55 && b !== 0xd4 && b !== 0x54)) c.voiced++;
      if (echo) s.send(m, rinfo.port, rinfo.address);
    });
    s.bind(port, '127.0.0.1', () => resolve(c));
  });
}

describe.skipIf(REAL === null || !REAL?.ws || !HAVE_CHROMIUM)('a WebRTC seat in Chromium on the real servers', () => {
  let bench: Bench;
  let ports: [number, number];
  let seat: WebRtcSeat | null = null;
  let trunk: SippProcess | null = null;
  let tmp: string;

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, media: 'direct', increments: '6/6' });
    tmp = mkdtempSync(join(tmpdir(), 'dialgate-webrtc-mic-'));
  }, 60_000);
  afterAll(async () => {
    await seat?.close();
    await trunk?.stop();
    await bench?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('registers over WebSocket, calls a carrier: DTLS completes, the trunk gets its audio, the recording holds it', async () => {
    // The fake microphone: speech-band tones, continuous (Chromium loops the file).
    const mic = fakeMic(tmp, 5);
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort);
    try {
      trunk = await startTrunk(ports[0], { answer: 200, mediaPort: rtpPort });
      seat = await startWebRtcSeat(mic);
      await seat.register({ wsUrl: REAL!.ws!, seat: '1001', password: SEATS['1001'], domain: 'dialgate.test' });
      const before = readCdrs(bench).length;
      const out = await seat.call('13812345678', 'dialgate.test');
      expect(out).toEqual({ result: 'established', reason: null });
      const answeredAt = Date.now();
      await new Promise((r) => setTimeout(r, 4000));
      const stats = await seat.stats();
      // The figures for a report (DIALGATE_WEBRTC_FIGURES=1).
      if (process.env.DIALGATE_WEBRTC_FIGURES) {
        process.stderr.write(`webrtc: dtls ${stats.dtlsState}, browser sent ${stats.packetsSent} / received ${stats.packetsReceived} packets; trunk received ${rtp.packets} RTP packets, ${rtp.voiced} not silence\n`);
      }
      expect(stats.dtlsState).toBe('connected');
      expect(stats.connectionState).toBe('connected');
      expect(stats.packetsSent).toBeGreaterThan(100);
      // FreeSWITCH's answer: DTLS-SRTP (its fingerprint; Chromium offers actpass and FreeSWITCH
      // takes the client role, setup:active), ICE with a host candidate, rtcp-mux.
      expect(stats.remoteSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
      expect(stats.remoteSdp).toMatch(/^a=fingerprint:sha-256 /m);
      expect(stats.remoteSdp).toMatch(/^a=setup:active/m);
      expect(stats.remoteSdp).toMatch(/^a=candidate:/m);
      expect(stats.remoteSdp).toMatch(/^a=rtcp-mux/m);
      // The carrier leg: plain RTP, and the browser's tones in it (not silence).
      expect(rtp.packets).toBeGreaterThan(100);
      expect(rtp.voiced).toBeGreaterThan(50);
      await seat.hangup();
      const talkMs = Date.now() - answeredAt;
      const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
      expect(cdr).toMatchObject({ decision: 'allow', sipStatus: 200, hangupBy: 'caller', media: 'anchored', mediaNote: NOTE });
      expectAudio(cdr.recordingPath!, talkMs);
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
    }
  }, 60_000);
});

describe.skipIf(REAL === null || !REAL?.ws || !HAVE_CHROMIUM)('a WebRTC seat on the real servers: 400 calls, transfers both ways, hold', () => {
  let bench: InboundBench;
  let seat: WebRtcSeat | null = null;
  let tmp: string;

  beforeAll(async () => {
    bench = await startInboundBench({ at: IN_WINDOW, balance: 1_000_000, packageBalance: 10_000_000, plans400: oneSeatPlan('1002', { recording: true, noAnswerSeconds: 20 }), media: 'anchored', increments: '6/6' });
    tmp = mkdtempSync(join(tmpdir(), 'dialgate-webrtc-400-'));
  }, 60_000);
  afterAll(async () => {
    await seat?.close();
    await bench?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a plain-RTP carrier\'s call rings the browser: its offer answered in the ACK, DTLS completes, audio both ways, the recording holds it', async () => {
    const mic = fakeMic(tmp, 8);
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort, true);
    try {
      seat = await startWebRtcSeat(mic);
      // Registered after the bench's sipp 1002: the browser is the seat's latest contact.
      await seat.register({ wsUrl: REAL!.ws!, seat: '1002', password: SEATS['1002'], domain: 'dialgate.test' });
      const before = readCdrs(bench).length;
      // The carrier offers plain RTP at rtpPort, where the browser's audio arrives through FreeSWITCH
      // and is echoed back to it.
      const carrierSdp = carrierOffer(rtpPort);
      const caller = carrierCalls(bench, { from: '13802412345', to: '4008050508', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 30_000, timeoutMs: 40_000, sdp: carrierSdp, streamAudio: false });
      expect(await seat.answer(15_000)).toEqual({ result: 'established', reason: null });
      const answeredAt = Date.now();
      await new Promise((r) => setTimeout(r, 4000));
      const stats = await seat.stats();
      if (process.env.DIALGATE_WEBRTC_FIGURES) {
        process.stderr.write(`webrtc 400: dtls ${stats.dtlsState}, browser sent ${stats.packetsSent} / received ${stats.packetsReceived} packets; carrier received ${rtp.packets} RTP packets, ${rtp.voiced} not silence\n`);
      }
      // The browser made the offer (actpass) and FreeSWITCH answered it (setup:active, its fingerprint).
      expect(stats.localSdp).toMatch(/^a=setup:actpass/m);
      expect(stats.remoteSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
      expect(stats.remoteSdp).toMatch(/^a=setup:active/m);
      expect(stats.dtlsState).toBe('connected');
      expect(stats.packetsSent).toBeGreaterThan(100);
      // The browser's audio reaches the carrier, and the carrier's (the echo) reaches the browser.
      expect(stats.packetsReceived).toBeGreaterThan(100);
      expect(rtp.packets).toBeGreaterThan(100);
      expect(rtp.voiced).toBeGreaterThan(50);
      await seat.hangup();
      const talkMs = Date.now() - answeredAt;
      const r = await caller;
      expect(r.exitCode, r.errors).toBe(0);
      const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
      expect(cdr).toMatchObject({ direction: 'inbound', seat: '1002', media: 'anchored', mediaNote: 'anchored: WebRTC seat', hangupBy: 'callee' });
      expectAudio(cdr.recordingPath!, talkMs);
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
    }
  }, 90_000);
  it('a desktop seat transfers a carrier call to the browser: DTLS completes with the browser\'s own endpoint, the carrier gets its audio', async () => {
    expect(seat, 'the browser registered in the test before').not.toBeNull();
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort);
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, mediaPort: rtpPort });
    try {
      const before = readCdrs(bench).length;
      const transferor = runSipp({
        scenario: seatTransfer({ holdMs: 800, expectNotify: 200 }), target: bench.sipTarget, calls: 1, timeoutMs: 40_000, vars: { refer_to: '1002' },
        injectionFile: injection([['1001', SEATS['1001'], '13812345678', '1001']]),
        auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
      });
      expect(await seat!.answer(15_000)).toEqual({ result: 'established', reason: null });
      const r = await transferor;
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const packetsAtTransfer = rtp.packets, voicedAtTransfer = rtp.voiced;
      await new Promise((res) => setTimeout(res, 3000));
      const stats = await seat!.stats();
      if (process.env.DIALGATE_WEBRTC_FIGURES) {
        process.stderr.write(`webrtc transfer target: dtls ${stats.dtlsState}, browser sent ${stats.packetsSent} / received ${stats.packetsReceived}; trunk received ${rtp.packets - packetsAtTransfer} RTP packets after the transfer, ${rtp.voiced - voicedAtTransfer} not silence\n`);
      }
      expect(stats.dtlsState).toBe('connected');
      expect(stats.remoteSdp).toMatch(/^a=setup:active/m);
      expect(rtp.packets - packetsAtTransfer).toBeGreaterThan(100);
      expect(rtp.voiced - voicedAtTransfer).toBeGreaterThan(50); // the browser's tones, not the desk phone's
      await seat!.hangup();
      const cdr = (await waitForCdrs(bench, before + 1, 15_000)).at(-1)!;
      expect(cdr).toMatchObject({ seat: '1001', media: 'anchored' });
      expect(cdr.transfers).toEqual([expect.objectContaining({ transferTo: '1002', outcome: 'connected', sipStatus: 200 })]);
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
      await trunk.stop();
    }
  }, 60_000);
  it('the browser transfers its carrier call to desktop seat 1003: 1003 gets plain RTP, the recording goes on in a second file', async () => {
    expect(seat, 'the browser registered in the tests before').not.toBeNull();
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort);
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, mediaPort: rtpPort });
    // 1003 is a desktop phone (sipp): it fails the call unless offered RTP/AVP.
    const desk = await startSeat(bench, '1003', { answer: 200, hangup: 'trunk', holdMs: 2500, plainOffer: true });
    try {
      const before = readCdrs(bench).length;
      expect(await seat!.call('13812345678', 'dialgate.test')).toEqual({ result: 'established', reason: null });
      const answeredAt = Date.now();
      await new Promise((r) => setTimeout(r, 2500));
      expect(await seat!.transfer('1003', 'dialgate.test')).toBe('SIP/2.0 200 OK');
      const transferredMs = Date.now() - answeredAt;
      const cdr = (await waitForCdrs(bench, before + 1, 20_000)).at(-1)!;
      const d = await desk.stop();
      expect(d.successful, `1003 answered plain RTP and hung up: ${d.errors}`).toBe(1);
      expect(cdr).toMatchObject({ seat: '1002', media: 'anchored', hangupBy: 'caller' });
      expect(cdr.transfers).toEqual([expect.objectContaining({ transferredBy: '1002', transferTo: '1003', outcome: 'connected', sipStatus: 200 })]);
      // The first file holds the browser's part; the second the part after the transfer.
      expect(cdr.transfers[0]!.recordingPath).toMatch(/transfer-.*\.wav$/);
      expectAudio(cdr.recordingPath!, transferredMs);
      expect(existsSync(cdr.transfers[0]!.recordingPath!)).toBe(true);
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
      await trunk.stop();
      await desk.stop();
    }
  }, 60_000);
  it('hold and resume from the browser on an anchored call: FreeSWITCH answers recvonly, then sendrecv and the browser\'s audio again', async () => {
    expect(seat, 'the browser registered in the tests before').not.toBeNull();
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort);
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, mediaPort: rtpPort });
    try {
      const before = readCdrs(bench).length;
      expect(await seat!.call('13812345678', 'dialgate.test')).toEqual({ result: 'established', reason: null });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await seat!.hold(true)).toBe(200);
      const held = await seat!.stats();
      expect(held.localSdp).toMatch(/^a=sendonly/m);
      expect(held.remoteSdp).toMatch(/^a=recvonly/m);
      await new Promise((r) => setTimeout(r, 500)); // what was in flight
      const voicedHeld = rtp.voiced;
      await new Promise((r) => setTimeout(r, 1500));
      // (On hold FreeSWITCH plays its hold music to the carrier: packets go on, not the browser's.)
      expect(await seat!.hold(false)).toBe(200);
      const resumed = await seat!.stats();
      expect(resumed.remoteSdp).toMatch(/^a=sendrecv/m);
      const voicedResumed = rtp.voiced;
      await new Promise((r) => setTimeout(r, 1500));
      if (process.env.DIALGATE_WEBRTC_FIGURES) {
        process.stderr.write(`webrtc hold: voiced packets at the trunk while held (hold music) ${voicedResumed - voicedHeld}, in 1.5 s after resume ${rtp.voiced - voicedResumed}\n`);
      }
      expect(rtp.voiced - voicedResumed).toBeGreaterThan(50);
      expect(resumed.dtlsState).toBe('connected');
      await seat!.hangup();
      const cdr = (await waitForCdrs(bench, before + 1, 15_000)).at(-1)!;
      expect(cdr).toMatchObject({ seat: '1002', media: 'anchored', hangupBy: 'caller' });
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
      await trunk.stop();
    }
  }, 60_000);
});

// RFC 4028 on browser legs, real servers only (drachtio-server refreshes; 90 s is its floor): an
// outbound call from a browser and a 400 call to a browser, held past one whole interval, are
// still up and carrying media, and end by their hang-up, not by a timer.
describe.skipIf(REAL === null || !REAL?.ws || !HAVE_CHROMIUM)('WebRTC seats\' calls outlive session-timer refreshes (real servers, 90 s)', () => {
  const INTERVAL = 90;
  let bench: InboundBench;
  const seats: WebRtcSeat[] = [];
  let tmp: string;

  beforeAll(async () => {
    bench = await startInboundBench({
      at: IN_WINDOW, balance: 1_000_000, packageBalance: 10_000_000, plans400: oneSeatPlan('1002', { noAnswerSeconds: 20 }), media: 'anchored', increments: '6/6',
      sessionTimers: { seconds: INTERVAL, minSeconds: INTERVAL },
    });
    tmp = mkdtempSync(join(tmpdir(), 'dialgate-webrtc-timers-'));
  }, 60_000);
  afterAll(async () => {
    for (const s of seats) await s.close();
    await bench?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('both calls are up after the interval, media flowing, and end by hang-up', async () => {
    const mic = fakeMic(tmp, 5);
    const rtpPort = await freeUdpPort();
    const rtp = await rtpCounter(rtpPort);
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, mediaPort: rtpPort, sessionTimer: { seconds: INTERVAL, refresh: 'answer' } });
    try {
      const caller = await startWebRtcSeat(mic);
      const callee = await startWebRtcSeat(mic);
      seats.push(caller, callee);
      await caller.register({ wsUrl: REAL!.ws!, seat: '1001', password: SEATS['1001'], domain: 'dialgate.test' });
      await callee.register({ wsUrl: REAL!.ws!, seat: '1002', password: SEATS['1002'], domain: 'dialgate.test' });
      const before = readCdrs(bench).length;
      expect(await caller.call('13812345678', 'dialgate.test')).toEqual({ result: 'established', reason: null });
      const carrierSdp = carrierOffer(await freeUdpPort());
      const inbound = carrierCalls(bench, {
        from: '13802412345', to: '4008050508', expect: 200, hangup: 'remote', refresh: 'answer', sessionExpires: INTERVAL,
        remoteByeTimeoutMs: (INTERVAL + 60) * 1000, timeoutMs: (INTERVAL + 80) * 1000, sdp: carrierSdp, streamAudio: false,
      });
      expect(await callee.answer(15_000)).toEqual({ result: 'established', reason: null });
      await new Promise((r) => setTimeout(r, (INTERVAL + 10) * 1000));
      const [a, b] = [await caller.stats(), await callee.stats()];
      const voiced = rtp.voiced;
      await new Promise((r) => setTimeout(r, 1000));
      if (process.env.DIALGATE_WEBRTC_FIGURES) {
        process.stderr.write(`webrtc timers: after ${INTERVAL + 10} s outbound ${a.sessionState}/${a.dtlsState}, re-INVITEs ${a.reinvites}, sent ${a.packetsSent}; `
          + `400 ${b.sessionState}/${b.dtlsState}, re-INVITEs ${b.reinvites}, sent ${b.packetsSent}; trunk voiced in 1 s: ${rtp.voiced - voiced}\n`);
      }
      expect([a.sessionState, b.sessionState]).toEqual(['Established', 'Established']);
      // drachtio-server refreshed the browser's outbound call (sip.js answers the re-INVITE); the
      // 400 leg has no timer: sip.js does not echo Session-Expires (a vanished browser there is
      // ended by FreeSWITCH's media timeout).
      expect(a.reinvites).toBeGreaterThanOrEqual(1);
      expect([a.dtlsState, b.dtlsState]).toEqual(['connected', 'connected']);
      expect(rtp.voiced - voiced).toBeGreaterThan(30); // the outbound browser still reaches its trunk
      await caller.hangup();
      await callee.hangup();
      expect((await inbound).exitCode).toBe(0);
      const cdrs = (await waitForCdrs(bench, before + 2, 20_000)).slice(before);
      const out = cdrs.find((c) => c.direction === 'outbound')!, inn = cdrs.find((c) => c.direction === 'inbound')!;
      expect(out).toMatchObject({ hangupBy: 'caller', hangupCause: 'bye' });
      expect(inn).toMatchObject({ hangupBy: 'callee', hangupCause: 'bye' });
      expect(out.billableSeconds).toBeGreaterThan(INTERVAL);
      expect(inn.billableSeconds).toBeGreaterThan(INTERVAL);
      expect(await channelsGone(bench)).toBe(0);
    } finally {
      rtp.close();
      await trunk.stop();
    }
  }, (INTERVAL + 120) * 1000);
});
