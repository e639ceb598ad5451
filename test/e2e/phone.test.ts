// The agents' web phone (issue 13) in real headless Chromium against dialgate on the bench: the
// page signs in on dialgate's own seat API (/phone/login, /phone/me …, src/ops/phone-routes.ts),
// registers over SIP WebSocket (RFC 7118) to the drachtio stand-in, places a call that a sipp trunk
// answers (the timer runs), holds and resumes it, is refused at 20:00 Beijing with the window's
// Reason in plain words, transfers a call to seat 1002 (sipp), shows the credit warning, rings on
// a 400 call from a sipp carrier and answers it; its history shows the calls from the CDRs.
// Chromium's fake microphone (--use-fake-device-for-media-stream).
//
// Media. Outbound calls from a browser seat are anchored in FreeSWITCH (policy/media-mode.ts), so
// those run with the FreeSWITCH stand-in, which answers Chromium's UDP/TLS/RTP/SAVPF offer the way
// FreeSWITCH does (DTLS fingerprint, ICE credentials, a host candidate); Chromium accepts it. ICE and
// DTLS never complete against the stand-in (it speaks no STUN or DTLS), so no audio flows here and
// these tests assert signalling and what the page shows; audio through the real FreeSWITCH is the
// real lane's (webrtc-calls.test.ts). The sipp trunks answer plain RTP, as carriers do.
// 400 calls: the carrier offers plain RTP; the browser seat is rung without SDP and its own offer
// is answered by the FreeSWITCH stand-in in the ACK (inbound-ringing.ts, media/webrtc-offer.ts).
//
// Screenshots: DIALGATE_PHONE_SHOTS=1 puts them in docs/phone/. Skipped (with one line saying why)
// where /usr/bin/chromium is not installed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPhone } from '../../phone/build.js';
import { AgentStore } from '../../src/agents/agent-store.js';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import { createRegistrarStore } from '../../src/registrar/store.js';
import { freeUdpPort, runSipp, startSipp, type SippProcess } from '../bench/sipp.js';
import { selfSignedCert } from '../helpers/self-signed-cert.js';
import { channelsGone, readCdrs, SEATS, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { carrierCalls, oneSeatPlan, startInboundBench, type InboundBench } from './inbound-harness.js';
import { REAL } from './real-servers.js';
import { injection, seatRegister, seatTransfer, trunkUas } from './scenarios.js';

const CHROMIUM = '/usr/bin/chromium';
// The page speaks to the stand-ins' WebSocket and FreeSWITCH ports; on the real lane browser audio
// through the real FreeSWITCH is webrtc-calls.test.ts's, so these stay on the bench.
const RUNS_HERE = existsSync(CHROMIUM) && REAL === null;
if (REAL !== null) process.stderr.write('phone.test.ts skipped: it runs on the stand-ins (browser audio on the real lane is webrtc-calls.test.ts)\n');
else if (!RUNS_HERE) process.stderr.write(`phone.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);

// 14:00 and 20:00 Beijing: the jump to the evening stays inside the seat token's 8 hours (a token
// issued at 10:00 would have expired by 20:00 and the page signed out, as it should).
const AT = '2026-11-23T14:00:00+08:00';
const EVENING = '2026-11-23T20:00:00+08:00';
const ANCHORED_NOTE = 'anchored: WebRTC seat (route media: direct overridden)';
const SHOTS = process.env.DIALGATE_PHONE_SHOTS === '1' ? join(import.meta.dirname, '../../docs/phone') : mkdtempSync(join(tmpdir(), 'dialgate-phone-shots-'));
const DEBUG = Boolean(process.env.E2E_LOG || process.env.PHONE_DEBUG);

/** A browser signed in as a seat, on dialgate's ops HTTP (the page and the seat API). */
interface PhoneRig {
  api: OpsHttp;
  context: BrowserContext;
  tab: Page;
  stop(): Promise<void>;
}

/**
 * Points the bench's config at its stand-in's SIP WebSocket (or `opts.wsUrl`), serves the built
 * page on dialgate's ops HTTP, and opens it in Chromium (plus `opts.chromiumArgs`). Every
 * RTCPeerConnection the page makes is kept in window.__pcs, so a test can read what the browser
 * negotiated (hold: sendonly).
 */
async function startPhoneRig(bench: Bench, opts: { wsUrl?: string; chromiumArgs?: string[] } = {}): Promise<PhoneRig> {
  const phoneDir = mkdtempSync(join(tmpdir(), 'dialgate-phone-'));
  await buildPhone(phoneDir);
  const yaml = join(bench.dir, 'dialgate.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('http: { host: 127.0.0.1, port: 18080 }',
    `http: { host: 127.0.0.1, port: 18080, phone: { wsUrl: "${opts.wsUrl ?? `ws://127.0.0.1:${bench.drachtio!.wsPort}`}" } }`));
  const r = await bench.store.reload('phone test: ws url');
  expect(r.ok, JSON.stringify(r)).toBe(true);
  const api = await startAppHttp(bench.app, bench.store, {
    host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'),
    log: pino({ level: 'silent' }), phoneDir, now: bench.clock.now,
  });
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'dialgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', ...(opts.chromiumArgs ?? [])],
    permissions: ['microphone'],
  });
  // (browser code as text: the test's TypeScript has no DOM types)
  await context.addInitScript({ content: `{
    const Native = window.RTCPeerConnection, pcs = window.__pcs = [];
    window.RTCPeerConnection = class extends Native { constructor(...a) { super(...a); pcs.push(this); } };
  }` });
  const tab = await context.newPage();
  if (DEBUG) {
    tab.on('console', (m) => console.log('[page]', m.text()));
    tab.on('pageerror', (e) => console.log('[page error]', e.message));
  }
  // A phone-sized viewport: the layout is for agents on laptops and phones alike.
  await tab.setViewportSize({ width: 420, height: 860 });
  mkdirSync(SHOTS, { recursive: true });
  return {
    api, context, tab,
    async stop() {
      await context.close();
      await api.close();
      for (const d of [profile, phoneDir]) rmSync(d, { recursive: true, force: true });
    },
  };
}

async function signIn(tab: Page, api: OpsHttp, seat: string, password: string): Promise<void> {
  await tab.goto(`${api.url}/phone${DEBUG ? '?debug' : ''}`);
  await tab.fill('#login input[name=seat]', seat);
  await tab.fill('#login input[name=password]', password);
  await tab.click('#login button[type=submit]');
  await tab.waitForSelector('#reg-state[data-state=registered]', { timeout: 15_000 });
}

const timerSeconds = async (tab: Page): Promise<number> => {
  const [m, s] = (await tab.textContent('#timer'))!.split(':').map(Number);
  return m! * 60 + s!;
};

/** The audio direction the browser's current call negotiated, and the direction line of the answer it got. */
const negotiated = (tab: Page) => tab.evaluate<{ current: string | null; remote: string }>(`(() => {
  const pc = window.__pcs.at(-1);
  return { current: pc.getTransceivers()[0]?.currentDirection ?? null, remote: /a=(sendrecv|sendonly|recvonly|inactive)/.exec(pc.remoteDescription?.sdp ?? '')?.[1] ?? 'sendrecv' };
})()`);
const remoteSdp = (tab: Page) => tab.evaluate<string>('window.__pcs.at(-1).remoteDescription.sdp');

describe.skipIf(!RUNS_HERE)('web phone in headless Chromium: outbound calls anchored through the FreeSWITCH stand-in', () => {
  const SEAT = '1001';
  let bench: Bench;
  let rig: PhoneRig;
  let tab: Page;
  let ports: [number, number];
  let port1002: number;
  let trunk: SippProcess;

  const shot = (name: string) => tab.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: AT, balance: 1_000_000, media: 'direct', increments: '1/1', warningSeconds: 1,
      drachtioOptions: { wsPort: 0 },
    });
    // Seat 1002, the transfer target: a sipp UAS registered over UDP, as in transfer-calls.test.ts.
    port1002 = await freeUdpPort();
    const reg = await runSipp({
      scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000, localPort: port1002,
      injectionFile: injection([['1002', SEATS['1002'], '']]), auth: { username: '1002', password: SEATS['1002'] },
    });
    expect(reg.exitCode, reg.errors).toBe(0);
    rig = await startPhoneRig(bench);
    tab = rig.tab;
    trunk = await startTrunk(ports[0], { answer: 200 });
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
    await trunk?.stop();
    await bench?.stop();
    if (process.env.DIALGATE_PHONE_SHOTS !== '1') rmSync(SHOTS, { recursive: true, force: true });
  });

  it('serves the page with a CSP that allows only its own origin and the configured SIP WebSocket', async () => {
    const res = await fetch(`${rig.api.url}/phone`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${bench.drachtio!.wsPort}`);
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toMatch(/default-src 'self'/);
    expect(await (await fetch(`${rig.api.url}/phone/config`)).json()).toEqual({ wsUrl: `ws://127.0.0.1:${bench.drachtio!.wsPort}`, realm: 'dialgate.test' });
  });

  it('a wrong password is refused in plain words; the right one signs in and registers over WebSocket', async () => {
    await tab.goto(`${rig.api.url}/phone${DEBUG ? '?debug' : ''}`);
    await tab.fill('#login input[name=seat]', SEAT);
    await tab.fill('#login input[name=password]', 'not-the-password');
    await tab.click('#login button[type=submit]');
    await tab.locator('#login-error', { hasText: '坐席号或密码错误' }).waitFor();
    await tab.fill('#login input[name=password]', SEATS[SEAT]);
    await tab.click('#login button[type=submit]');
    await tab.waitForSelector('#reg-state[data-state=registered]', { timeout: 15_000 });
    // dialgate's registrar holds the browser's contact, which it reaches over the same WebSocket.
    const bindings = await createRegistrarStore(bench.app.redis).lookup(SEAT, bench.clock.now());
    const ws = bindings.filter((b) => /;transport=ws/i.test(b.contact));
    expect(ws).toHaveLength(1);
    expect(ws[0]!.userAgent).toMatch(/SIP\.js/);
    expect(await tab.textContent('#seat-name')).toContain(SEAT);
    await shot('idle');
  });

  it('an allowed call connects when the sipp trunk answers (anchored: the route\'s direct media overridden), the timer runs, hang-up ends it and history shows it', async () => {
    const before = readCdrs(bench).length;
    await tab.fill('#number', '138 1234 5678');
    await tab.click('#call');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
    // The browser holds FreeSWITCH's DTLS/ICE answer, not the trunk's plain RTP.
    expect(await remoteSdp(tab)).toMatch(/m=audio \d+ UDP\/TLS\/RTP\/SAVPF [\s\S]*a=fingerprint:sha-256 /);
    const t0 = await timerSeconds(tab);
    await tab.waitForTimeout(2300);
    const t1 = await timerSeconds(tab);
    expect(t1 - t0).toBeGreaterThanOrEqual(2);
    expect(await tab.textContent('#call-number')).toContain('13812345678');
    // mute is local: the button turns on, the sender track is disabled
    await tab.click('#mute');
    await tab.waitForSelector('#mute.on');
    await shot('in-call');
    await tab.click('#hangup');
    await tab.waitForSelector('#call-state[data-phase=ended]');
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ seat: SEAT, calleeNormalised: '13812345678', decision: 'allow', media: 'anchored', mediaNote: ANCHORED_NOTE });
    expect(cdr.answerAt).not.toBeNull();
    expect(cdr.hangupBy).toBe('caller');
    expect(await channelsGone(bench)).toBe(0);
    await tab.locator(`#history-list tr[data-call-id="${cdr.callId}"]`).waitFor({ timeout: 10_000 });
    const row = await tab.$$eval(`#history-list tr[data-call-id="${cdr.callId}"] td`, (tds) => tds.map((td) => td.textContent));
    expect(row.slice(1, 3)).toEqual(['呼出 Out', '13812345678']);
    expect(row[3]).toMatch(/^answered/);
  });

  it('hold and resume: the browser\'s re-INVITEs are answered by its FreeSWITCH endpoint (recvonly, then sendrecv); the trunk\'s leg is left as it is', async () => {
    // With media anchored the re-INVITE relay (calls/reinvite-relay.ts) gives the browser's new
    // offer to its own FreeSWITCH endpoint, which answers it; FreeSWITCH does not re-INVITE the
    // bridged trunk leg for a hold (mod_sofia holds its own channel and plays hold music to the
    // other leg when configured: FreeSWITCH wiki, Music on Hold), so the carrier sees no
    // sendonly/sendrecv re-INVITEs any more: its plain scenario (answer, wait for BYE) fails on any
    // re-INVITE. The hold is what the browser negotiated with FreeSWITCH, checked here.
    const before = readCdrs(bench).length;
    await tab.fill('#number', '13812345678');
    await tab.click('#call');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
    expect(await negotiated(tab)).toEqual({ current: 'sendrecv', remote: 'sendrecv' });
    await tab.click('#hold');
    await tab.waitForSelector('#held', { timeout: 10_000 });
    expect(await tab.textContent('#hold')).toContain('恢复');
    expect(await negotiated(tab)).toEqual({ current: 'sendonly', remote: 'recvonly' });
    await tab.click('#hold');
    await tab.waitForSelector('#call-state[data-phase=connected]:not(:has(#held))', { timeout: 10_000 });
    expect(await negotiated(tab)).toEqual({ current: 'sendrecv', remote: 'sendrecv' });
    await tab.click('#hangup');
    await tab.waitForSelector('#call-state[data-phase=ended]');
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ seat: SEAT, media: 'anchored', hangupBy: 'caller' });
    const r = await trunk.stop();
    trunk = await startTrunk(ports[0], { answer: 200 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful, r.errors).toBe(2); // this call and the one before, each answered and ended by BYE
  });

  it('at 20:00 Beijing the call is refused and the phone says why, from the 403\'s Reason', async () => {
    bench.clock.set(Date.parse(EVENING));
    try {
      const before = readCdrs(bench).length;
      await tab.fill('#number', '13812345678');
      await tab.click('#call');
      const denial = tab.locator('#denial[data-reason=outside-window]');
      await denial.waitFor({ timeout: 10_000 });
      expect(await denial.getAttribute('data-status')).toBe('403');
      expect(await tab.textContent('#denial-zh')).toBe('不在允许的外呼时段内');
      expect(await tab.textContent('#denial-en')).toBe('Outside dialing window');
      const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
      expect(cdr).toMatchObject({ seat: SEAT, decision: 'deny', denyReason: 'outside-window', sipStatus: 403 });
      // the refused attempt is in the seat's history too, with its reason
      const row = tab.locator(`#history-list tr[data-call-id="${cdr.callId}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.locator('td').nth(3).textContent()).toBe('denied · outside-window');
      await shot('denied');
    } finally {
      bench.clock.set(Date.parse(AT));
    }
  });

  it('blind transfer from the browser to seat 1002: the trunk is connected to 1002, the page gets NOTIFY 200 and BYE, one CDR tells it, one reservation pays', async () => {
    // Anchored: the browser's FreeSWITCH endpoint is re-pointed at 1002 (blind-transfer.ts); the
    // trunk's endpoint and its bridge stay, so the carrier sees no re-INVITE (as in
    // transfer-calls.test.ts, anchored). 1002 answers, talks 1.5 s and hangs up; dialgate then ends
    // the trunk's leg, whose scenario (answer, BYE) completes.
    await trunk.stop();
    trunk = await startTrunk(ports[0], { answer: 200 });
    // Seat 1002 is a desktop phone: it must be offered plain RTP, not the browser's DTLS-SRTP.
    const seat1002 = await startSipp({ scenario: trunkUas({ answer: 200, hangup: 'trunk', holdMs: 1500, plainOffer: true }), localPort: port1002, timeoutMs: 60_000 });
    try {
      const balanceBefore = (await bench.app.ledger.getAccount('telesales'))!.balance;
      const before = readCdrs(bench).length;
      await tab.fill('#number', '13812345678');
      await tab.click('#call');
      await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
      await tab.waitForTimeout(1200);
      await tab.fill('#transfer-to', '1002');
      await tab.click('#transfer');
      // NOTIFY 200 (sipfrag) shows the transfer; dialgate's BYE ends the browser's call.
      await tab.locator('#notice', { hasText: 'Transferred to 1002' }).waitFor({ timeout: 15_000 });
      await tab.waitForSelector('#call-state[data-phase=ended]:has(#transferred)', { timeout: 10_000 });
      expect(await tab.textContent('#transferred')).toContain('1002');
      // Agent states follow the transfer: this seat is free for the next call while 1002 talks.
      const agents = new AgentStore(bench.app.redis);
      const during = await agents.records([SEAT, '1002']);
      expect(Object.keys(during.get(SEAT)!.calls)).toEqual([]);
      expect(Object.keys(during.get('1002')!.calls)).toHaveLength(1);

      // The call's CDR is written when 1002 hangs up.
      const cdr = (await waitForCdrs(bench, before + 1, 15_000)).at(-1)!;
      const s2 = await seat1002.stop();
      expect(s2.successful, `1002 answered and hung up: ${s2.errors}`).toBe(1);
      expect(Object.keys((await agents.records(['1002'])).get('1002')!.calls)).toEqual([]);
      expect(readCdrs(bench)).toHaveLength(before + 1);
      expect(cdr).toMatchObject({ seat: SEAT, calleeNormalised: '13812345678', decision: 'allow', media: 'anchored' });
      expect(cdr.transfers).toHaveLength(1);
      const t = cdr.transfers[0]!;
      expect(t).toMatchObject({ transferredBy: SEAT, transferTo: '1002', outcome: 'connected', sipStatus: 200, reservation: null });
      expect(t.at).toBeGreaterThan(cdr.answerAt!);
      expect(t.transferorSeconds).toBeGreaterThanOrEqual(1);
      expect(t.targetSeconds).toBeGreaterThanOrEqual(2);
      expect(cdr.hangupBy).toBe('caller'); // 1002, now on the seat side, hung up
      // The recording ran on the browser's endpoint, which left with it: it went on in a second
      // file on the trunk's channel, and the CDR names both.
      expect(cdr.recordingPath).toMatch(/\.wav$/);
      expect(t.recordingPath).toMatch(/transfer-.*\.wav$/);
      // One reservation chain: the call's own, charged once; the balance moved by exactly that.
      expect(cdr.charges).toEqual([{ account: 'telesales', reservation: cdr.callId, cost: cdr.cost }]);
      expect(cdr.cost).toBeGreaterThan(0);
      const acct = (await bench.app.ledger.getAccount('telesales'))!;
      expect(acct.balance).toBe(balanceBefore - cdr.cost);
      expect(acct.reserved).toBe(0);
      expect(await channelsGone(bench)).toBe(0);
      const tr = await trunk.stop();
      expect(tr.failed, tr.errors).toBe(0);
      expect(tr.successful, tr.errors).toBe(1);
    } finally {
      await seat1002.stop();
      trunk = await startTrunk(ports[0], { answer: 200 });
    }
  });

  it('away/available toggles the seat\'s state through the seat API', async () => {
    const agents = new AgentStore(bench.app.redis);
    // (the transfer before left this seat available: its part of the call ended at the transfer)
    await tab.waitForSelector('#availability[data-state=available]', { timeout: 5_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}: the page shows ${await tab.getAttribute('#availability', 'data-state')}, agent record ${JSON.stringify((await agents.records([SEAT])).get(SEAT))}`);
    });
    await tab.click('#availability');
    await tab.waitForSelector('#availability[data-state=away]');
    expect((await agents.records([SEAT])).get(SEAT)!.away).not.toBeNull();
    await tab.click('#availability');
    await tab.waitForSelector('#availability[data-state=available]');
    expect((await agents.records([SEAT])).get(SEAT)!.away).toBeNull();
  });

  it('with the balance nearly used up, the credit warning shows in the page, then the call is cut off', async () => {
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    // 0.13 yuan / 60 s billed per second: 3 s cost 65 units; leave that much.
    await bench.app.ledger.adjust('telesales', 'phone-test-drain', -(acct.available - 65), 'test: leave three seconds');
    const before = readCdrs(bench).length;
    await tab.fill('#number', '13812345678');
    await tab.click('#call');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
    // dialgate's INFO reaches the page while the call is still up
    const warning = tab.locator('#credit-warning:not([hidden])');
    await warning.waitFor({ timeout: 5_000 });
    expect(await tab.$('#call-state[data-phase=connected]')).not.toBeNull();
    expect(await warning.textContent()).toContain('余额即将用尽');
    expect(await warning.textContent()).toContain('Credit running out');
    await tab.waitForSelector('#call-state[data-phase=ended]', { timeout: 10_000 });
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ seat: SEAT, hangupBy: 'cutoff', hangupCause: 'balance-exhausted', media: 'anchored' });
    expect((await bench.app.ledger.getAccount('telesales'))!.balance).toBeGreaterThanOrEqual(0);
  });
});


// A 400 call from a carrier offering plain RTP, as carriers do. The browser is rung with an INVITE
// without SDP: it makes its DTLS-SRTP offer in its 200 OK, the FreeSWITCH stand-in answers it (as
// FreeSWITCH does, trace test/traces/freeswitch/webrtc-*) and the answer goes in the ACK; the
// carrier's leg is answered by its own plain-RTP endpoint and the two are bridged.
describe.skipIf(!RUNS_HERE)('web phone in headless Chromium: a 400 call from a plain-RTP carrier rings the browser (anchored through the FreeSWITCH stand-in)', () => {
  const SEAT = '1002';
  let bench: InboundBench;
  let rig: PhoneRig;
  let tab: Page;

  beforeAll(async () => {
    bench = await startInboundBench({
      at: AT, balance: 1_000_000, packageBalance: 10_000_000, plans400: oneSeatPlan('1002'), media: 'anchored', increments: '1/1',
      drachtioOptions: { wsPort: 0 },
    });
    rig = await startPhoneRig(bench);
    tab = rig.tab;
    await signIn(tab, rig.api, SEAT, SEATS[SEAT]);
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
    await bench?.stop();
  });

  it('a 400 call rings the browser, which offers DTLS-SRTP in its answer; FreeSWITCH answers in the ACK; hung up from the page, it shows in the history', async () => {
    const before = readCdrs(bench).length;
    const caller = carrierCalls(bench, { from: '13802412345', to: '4008050508', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 30_000, timeoutMs: 40_000 });
    await tab.waitForSelector('#call-state[data-phase=incoming]', { timeout: 15_000 });
    expect(await tab.textContent('#call-number')).toContain('13802412345');
    // It rings in the page itself (Web Audio, 450 Hz), heard with the tab in the background.
    await tab.waitForSelector('body[data-tone=ring]', { state: 'attached' });
    await tab.click('#answer');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 10_000 });
    expect(await tab.getAttribute('body', 'data-tone')).toBe('');
    // The browser made the offer (actpass) and holds FreeSWITCH's DTLS/ICE answer (from the ACK).
    await tab.waitForFunction('window.__pcs.at(-1)?.remoteDescription != null', undefined, { timeout: 5000 });
    const pc = await tab.evaluate<{ local: string; remote: string }>('({ local: window.__pcs.at(-1).localDescription.sdp, remote: window.__pcs.at(-1).remoteDescription.sdp })');
    expect(pc.local).toMatch(/a=setup:actpass/);
    expect(pc.remote).toMatch(/m=audio \d+ UDP\/TLS\/RTP\/SAVPF [\s\S]*a=fingerprint:sha-256 /);
    await tab.waitForTimeout(1200);
    expect(await timerSeconds(tab)).toBeGreaterThanOrEqual(1);
    await tab.click('#hangup');
    const r = await caller;
    expect(r.exitCode, r.errors).toBe(0); // the carrier got dialgate's BYE
    await tab.waitForSelector('#call-state[data-phase=ended]');
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'inbound', callerRaw: '13802412345', calleeRaw: '4008050508', seat: SEAT, media: 'anchored', mediaNote: 'anchored: WebRTC seat' });
    expect(cdr.answerAt).not.toBeNull();
    expect(await channelsGone(bench)).toBe(0);
    await tab.locator(`#history-list tr[data-call-id="${cdr.callId}"]`).waitFor({ timeout: 10_000 });
    const row = await tab.$$eval(`#history-list tr[data-call-id="${cdr.callId}"] td`, (tds) => tds.map((td) => td.textContent));
    expect(row.slice(1, 3)).toEqual(['呼入 In', '13802412345']);
  });
  it('a desktop seat transfers a carrier call to the browser: rung without SDP, its offer answered by its own endpoint, the carrier bridged to it', async () => {
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200 });
    try {
      const before = readCdrs(bench).length;
      // Seat 1001 (sipp, a desktop phone) calls a number, talks, and REFERs the call to 1002, the browser.
      const transferor = runSipp({
        scenario: seatTransfer({ holdMs: 800, expectNotify: 200 }), target: bench.sipTarget, calls: 1, timeoutMs: 40_000, vars: { refer_to: SEAT },
        injectionFile: injection([['1001', SEATS['1001'], '13812345678', '1001']]),
        auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
      });
      await tab.waitForSelector('#call-state[data-phase=incoming]', { timeout: 15_000 });
      await tab.click('#answer');
      await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 10_000 });
      await tab.waitForFunction('window.__pcs.at(-1)?.remoteDescription != null', undefined, { timeout: 5000 });
      const remote = await tab.evaluate<string>('window.__pcs.at(-1).remoteDescription.sdp');
      expect(remote).toMatch(/m=audio \d+ UDP\/TLS\/RTP\/SAVPF [\s\S]*a=fingerprint:sha-256 /);
      const r = await transferor;
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0); // NOTIFY 200, then our BYE
      await tab.waitForTimeout(1200);
      await tab.click('#hangup');
      const cdr = (await waitForCdrs(bench, before + 1, 15_000)).at(-1)!;
      expect(cdr).toMatchObject({ seat: '1001', calleeNormalised: '13812345678', media: 'anchored' });
      expect(cdr.transfers).toEqual([expect.objectContaining({ transferredBy: '1001', transferTo: SEAT, outcome: 'connected', sipStatus: 200 })]);
      expect(cdr.transfers[0]!.targetSeconds).toBeGreaterThanOrEqual(1);
      expect(await channelsGone(bench)).toBe(0);
      const tr = await trunk.stop();
      expect(tr.successful, tr.errors).toBe(1); // the carrier got our BYE when the browser hung up
    } finally {
      await trunk.stop();
    }
  });
  it('the WebSocket drops (drachtio-server restart, network): the page says so, reconnects, registers again, and the next 400 call rings it', async () => {
    expect(bench.drachtio!.dropWebSockets()).toBeGreaterThanOrEqual(1);
    await tab.waitForSelector('#reg-state[data-state=reconnecting]', { timeout: 5000 });
    await tab.waitForSelector('#reg-state[data-state=registered]', { timeout: 15_000 });
    const before = readCdrs(bench).length;
    const caller = carrierCalls(bench, { from: '13802412345', to: '4008050508', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 30_000, timeoutMs: 40_000 });
    await tab.waitForSelector('#call-state[data-phase=incoming]', { timeout: 15_000 });
    await tab.click('#answer');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 10_000 });
    await tab.click('#hangup');
    expect((await caller).exitCode).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'inbound', seat: SEAT });
  });
});

// Browsers need wss:// everywhere but localhost. The drachtio stand-in listens on wss only here,
// with a self-signed certificate for 127.0.0.1 made at test time; Chromium trusts exactly that
// key (--ignore-certificate-errors-spki-list, not all certificate errors), as a browser trusts a
// real certificate. The page registers over wss and places one call the sipp trunk answers.
describe.skipIf(!RUNS_HERE)('web phone in headless Chromium over wss: registers and calls through the stand-in\'s secure WebSocket', () => {
  const SEAT = '1001';
  let bench: Bench;
  let rig: PhoneRig;
  let tab: Page;
  let trunkPort: number;
  let wssUrl: string;

  beforeAll(async () => {
    const cert = await selfSignedCert();
    trunkPort = await freeUdpPort();
    bench = await startBench({
      trunkPorts: [trunkPort, await freeUdpPort()], at: AT, balance: 1_000_000, media: 'direct', increments: '1/1',
      drachtioOptions: { wssPort: 0, tls: { key: cert.key, cert: cert.cert } },
    });
    wssUrl = `wss://127.0.0.1:${bench.drachtio!.wssPort}`;
    rig = await startPhoneRig(bench, { wsUrl: wssUrl, chromiumArgs: [`--ignore-certificate-errors-spki-list=${cert.spkiSha256}`] });
    tab = rig.tab;
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
    await bench?.stop();
  });

  it('the page\'s CSP and config name the wss URL', async () => {
    expect(bench.drachtio!.wsPort).toBe(0); // no plain ws listener: the phone can only come over wss
    const res = await fetch(`${rig.api.url}/phone`);
    expect(res.headers.get('content-security-policy')).toContain(`connect-src 'self' ${wssUrl}`);
    expect(await (await fetch(`${rig.api.url}/phone/config`)).json()).toEqual({ wsUrl: wssUrl, realm: 'dialgate.test' });
  });

  it('signs in and registers over wss: the registrar holds the browser\'s contact with transport wss from its Via', async () => {
    await signIn(tab, rig.api, SEAT, SEATS[SEAT]);
    const bindings = await createRegistrarStore(bench.app.redis).lookup(SEAT, bench.clock.now());
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ transport: 'wss', userAgent: expect.stringMatching(/SIP\.js/) });
  });

  it('an allowed call connects over wss when the sipp trunk answers (anchored), and hang-up ends it with one CDR', async () => {
    const trunk = await startTrunk(trunkPort, { answer: 200 });
    try {
      const before = readCdrs(bench).length;
      await tab.fill('#number', '13812345678');
      await tab.click('#call');
      await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
      expect(await remoteSdp(tab)).toMatch(/m=audio \d+ UDP\/TLS\/RTP\/SAVPF [\s\S]*a=fingerprint:sha-256 /);
      await tab.waitForTimeout(1200);
      await tab.click('#hangup');
      await tab.waitForSelector('#call-state[data-phase=ended]');
      const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
      expect(cdr).toMatchObject({ seat: SEAT, calleeNormalised: '13812345678', decision: 'allow', media: 'anchored', mediaNote: ANCHORED_NOTE, hangupBy: 'caller' });
      expect(cdr.answerAt).not.toBeNull();
      expect(await channelsGone(bench)).toBe(0);
      const r = await trunk.stop();
      expect(r.failed, r.errors).toBe(0);
      expect(r.successful, r.errors).toBe(1);
    } finally {
      await trunk.stop();
    }
  });
});
