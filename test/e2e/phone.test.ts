// The agents' web phone (issue 13) in real headless Chromium against dialgate on the bench: the
// page registers seat 1002 over SIP WebSocket (RFC 7118) to the drachtio stand-in, places a call
// that a sipp trunk answers (the timer runs), is refused at 20:00 Beijing with the window's Reason
// in plain words, rings on a 400 call from a sipp carrier and answers it, and its history shows
// the calls from the CDRs. Chromium's fake microphone (--use-fake-device-for-media-stream).
//
// Media: the bench's FreeSWITCH stand-in does not do DTLS-SRTP, so this bench runs without a media
// server and the calls bridge direct: the far ends (sipp) send SDP shaped as WebRTC (ICE
// credentials, a DTLS fingerprint, setup, mid, rtcp-mux), which Chromium accepts as signalling.
// No DTLS handshake completes, so no audio flows here; audio through FreeSWITCH is the real lane's.
//
// The page talks to dialgate's own seat API (/phone/login, /phone/me …, src/ops/phone-routes.ts)
// on the ops HTTP server it is served from. Screenshots: DIALGATE_PHONE_SHOTS=1 puts them in
// docs/phone/. Skipped (with one line saying why) where /usr/bin/chromium is not installed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPhone } from '../../phone/build.js';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import { AgentStore } from '../../src/agents/agent-store.js';
import { createRegistrarStore } from '../../src/registrar/store.js';
import type { SippProcess } from '../bench/sipp.js';
import { readCdrs, startTrunk, waitForCdrs } from './harness.js';
import { carrierCalls, startInboundBench, type InboundBench } from './inbound-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) process.stderr.write(`phone.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);

const AT = '2026-11-23T10:00:00+08:00';
const EVENING = '2026-11-23T20:00:00+08:00';
const SEAT = '1002';
const PASSWORD = 'pw-1002-secret';
const SHOTS = process.env.DIALGATE_PHONE_SHOTS === '1' ? join(import.meta.dirname, '../../docs/phone') : mkdtempSync(join(tmpdir(), 'dialgate-phone-shots-'));

// A DTLS fingerprint and ICE credentials in the forms Chromium checks (sha-256: 32 bytes; ice-pwd
// at least 22 characters). The far end never completes DTLS; the values only have to be well formed.
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) % 256).toString(16).toUpperCase().padStart(2, '0')).join(':');
const webrtcSdp = (setup: 'active' | 'actpass') => [
  'v=0', 'o=sipp 53655765 2353687637 IN IP4 [local_ip]', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=msid-semantic: WMS',
  'm=audio [media_port] UDP/TLS/RTP/SAVPF 0 8', 'c=IN IP4 [media_ip]',
  // (sipp substitutes [media_port] on m= lines only: the candidate names a fixed port)
  'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host',
  'a=ice-ufrag:sipp', 'a=ice-pwd:sippwebrtcbenchpassword0', `a=fingerprint:sha-256 ${FINGERPRINT}`, `a=setup:${setup}`,
  'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', '',
].join('\r\n');

const PLANS = `plans400:
  - number: "4008050508"
    owner: telesales
    account: telesales-400
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: g
    groups:
      - { id: g, members: [{ seat: "${SEAT}" }] }
`;

describe.skipIf(!HAVE_CHROMIUM)('web phone in headless Chromium on the bench (SIP over WebSocket)', () => {
  let bench: InboundBench;
  let api: OpsHttp;
  let context: BrowserContext;
  let tab: Page;
  let profile: string;
  let phoneDir: string;
  let trunk: SippProcess;

  const shot = (name: string) => tab.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const timerSeconds = async (): Promise<number> => {
    const [m, s] = (await tab.textContent('#timer'))!.split(':').map(Number);
    return m! * 60 + s!;
  };

  beforeAll(async () => {
    phoneDir = mkdtempSync(join(tmpdir(), 'dialgate-phone-'));
    await buildPhone(phoneDir);
    bench = await startInboundBench({
      at: AT, balance: 1_000_000, packageBalance: 10_000_000, plans400: PLANS, media: 'direct', withMedia: false, increments: '1/1', warningSeconds: 1,
      drachtioOptions: { wsPort: 0 },
    });
    const yaml = join(bench.dir, 'dialgate.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('http: { host: 127.0.0.1, port: 18080 }',
      `http: { host: 127.0.0.1, port: 18080, phone: { wsUrl: "ws://127.0.0.1:${bench.drachtio!.wsPort}" } }`));
    const r = await bench.store.reload('phone test: ws url');
    expect(r.ok, JSON.stringify(r)).toBe(true);
    api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'),
      log: pino({ level: 'silent' }), phoneDir, now: bench.clock.now,
    });
    trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, sdp: webrtcSdp('active') });

    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'dialgate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
      permissions: ['microphone'],
    });
    tab = await context.newPage();
    if (process.env.E2E_LOG || process.env.PHONE_DEBUG) {
      tab.on('console', (m) => console.log('[page]', m.text()));
      tab.on('pageerror', (e) => console.log('[page error]', e.message));
      tab.on('response', (r) => { if (r.status() >= 400) void r.text().then((t) => console.log('[page http]', r.status(), r.url(), t)); });
    }
    // A phone-sized viewport: the layout is for agents on laptops and phones alike.
    await tab.setViewportSize({ width: 420, height: 860 });
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await trunk?.stop();
    await api?.close();
    await bench?.stop();
    for (const d of [profile, phoneDir, ...(process.env.DIALGATE_PHONE_SHOTS === '1' ? [] : [SHOTS])]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('serves the page with a CSP that allows only its own origin and the configured SIP WebSocket', async () => {
    const res = await fetch(`${api.url}/phone`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${bench.drachtio!.wsPort}`);
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toMatch(/default-src 'self'/);
    expect(await (await fetch(`${api.url}/phone/config`)).json()).toEqual({ wsUrl: `ws://127.0.0.1:${bench.drachtio!.wsPort}`, realm: 'dialgate.test' });
  });

  it('a wrong password is refused in plain words; the right one signs in and registers over WebSocket', async () => {
    await tab.goto(`${api.url}/phone${process.env.E2E_LOG ? '?debug' : ''}`);
    await tab.fill('#login input[name=seat]', SEAT);
    await tab.fill('#login input[name=password]', 'not-the-password');
    await tab.click('#login button[type=submit]');
    await tab.locator('#login-error', { hasText: '坐席号或密码错误' }).waitFor();
    await tab.fill('#login input[name=password]', PASSWORD);
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

  it('an allowed call connects when the sipp trunk answers, the timer runs, hang-up ends it and history shows it', async () => {
    const before = readCdrs(bench).length;
    await tab.fill('#number', '138 1234 5678');
    await tab.click('#call');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
    const t0 = await timerSeconds();
    await tab.waitForTimeout(2300);
    const t1 = await timerSeconds();
    expect(t1 - t0).toBeGreaterThanOrEqual(2);
    expect(await tab.textContent('#call-number')).toContain('13812345678');
    // mute is local: the button turns on, the sender track is disabled
    await tab.click('#mute');
    await tab.waitForSelector('#mute.on');
    await shot('in-call');
    await tab.click('#hangup');
    await tab.waitForSelector('#call-state[data-phase=ended]');
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ seat: SEAT, calleeNormalised: '13812345678', decision: 'allow', media: 'direct' });
    expect(cdr.answerAt).not.toBeNull();
    expect(cdr.hangupBy).toBe('caller');
    await tab.locator(`#history-list tr[data-call-id="${cdr.callId}"]`).waitFor({ timeout: 10_000 });
    const row = await tab.$$eval(`#history-list tr[data-call-id="${cdr.callId}"] td`, (tds) => tds.map((td) => td.textContent));
    expect(row.slice(1, 3)).toEqual(['呼出 Out', '13812345678']);
    expect(row[3]).toMatch(/^answered/);
  });

  it('hold and resume reach the far end: re-INVITEs offering sendonly, then sendrecv, answered by the trunk', async () => {
    // A trunk that fails its call unless the two re-INVITEs arrive in that order.
    await trunk.stop();
    const holdTrunk = await startTrunk(bench.trunkPorts[0], { answer: 200, sdp: webrtcSdp('active'), holdResume: true });
    try {
      await tab.fill('#number', '13812345678');
      await tab.click('#call');
      await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 15_000 });
      await tab.click('#hold');
      await tab.waitForSelector('#held', { timeout: 10_000 });
      expect(await tab.textContent('#hold')).toContain('恢复');
      await tab.click('#hold');
      await tab.waitForSelector('#call-state[data-phase=connected]:not(:has(#held))', { timeout: 10_000 });
      await tab.click('#hangup');
      await tab.waitForSelector('#call-state[data-phase=ended]');
    } finally {
      const r = await holdTrunk.stop();
      trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, sdp: webrtcSdp('active') });
      expect(r.successful, r.errors).toBe(1);
      expect(r.failed, r.errors).toBe(0);
    }
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

  it('a 400 call rings the browser, is answered, hung up from the page, and shows in the history', async () => {
    const before = readCdrs(bench).length;
    const caller = carrierCalls(bench, { from: '13802412345', to: '4008050508', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 30_000, timeoutMs: 40_000, sdp: webrtcSdp('actpass') });
    await tab.waitForSelector('#call-state[data-phase=incoming]', { timeout: 15_000 });
    expect(await tab.textContent('#call-number')).toContain('13802412345');
    await tab.click('#answer');
    await tab.waitForSelector('#call-state[data-phase=connected]', { timeout: 10_000 });
    await tab.waitForTimeout(1200);
    expect(await timerSeconds()).toBeGreaterThanOrEqual(1);
    await tab.click('#hangup');
    const r = await caller;
    expect(r.exitCode, r.errors).toBe(0); // the carrier got dialgate's BYE
    await tab.waitForSelector('#call-state[data-phase=ended]');
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'inbound', callerRaw: '13802412345', calleeRaw: '4008050508' });
    expect(cdr.answerAt).not.toBeNull();
    await tab.locator(`#history-list tr[data-call-id="${cdr.callId}"]`).waitFor({ timeout: 10_000 });
    const row = await tab.$$eval(`#history-list tr[data-call-id="${cdr.callId}"] td`, (tds) => tds.map((td) => td.textContent));
    expect(row.slice(1, 3)).toEqual(['呼入 In', '13802412345']);
  });

  it('away/available toggles the seat\'s state through the seat API', async () => {
    const agents = new AgentStore(bench.app.redis);
    await tab.waitForSelector('#availability[data-state=available]');
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
    expect(cdr).toMatchObject({ seat: SEAT, hangupBy: 'cutoff', hangupCause: 'balance-exhausted' });
    expect((await bench.app.ledger.getAccount('telesales'))!.balance).toBeGreaterThanOrEqual(0);
  });
});
