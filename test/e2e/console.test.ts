// The admin console in real headless Chromium against dialgate on the bench (issue 14): CDRs come
// from sipp calls (outbound through the trunks, inbound to a 400 number), and every page is
// asserted on the data the ledger and the CDR files hold. An admin hangs up a live call and tops
// up twice with one idempotency id (credited once); a tenant-viewer sees only its own tenant and
// gets 403 for another's. Screenshots of each page: DIALGATE_CONSOLE_SHOTS=1 puts them in docs/console/.
// Skipped (with one line saying why) where /usr/bin/chromium is not installed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { formatYuan } from '../../src/config/money.js';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import type { SippProcess } from '../bench/sipp.js';
import { readCdrs, seatCalls, startTrunk, waitForCdrs } from './harness.js';
import { carrierCalls, PACKAGE_ACCOUNT, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) process.stderr.write(`console.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium)\n`);

const AT = '2026-11-23T10:00:00+08:00';
const DAY = '2026-11-23';
const ADMIN = 'console-admin-token-5c2e8a1f9b';
const VIEWER = 'console-viewer-token-3d7f1b6e0a';
const RIVAL = 'console-rival-token-9a4c2e7d1f';
// Screenshots land in docs/console (committed, shown in the README) when DIALGATE_CONSOLE_SHOTS=1,
// else in a temporary directory: an ordinary test run leaves the work tree as it was.
const SHOTS = process.env.DIALGATE_CONSOLE_SHOTS === '1' ? join(import.meta.dirname, '../../docs/console') : mkdtempSync(join(tmpdir(), 'dialgate-console-shots-'));

const PLANS = `callerBlacklists:
  - tenant: telesales
    prefixes: ["0106000"]
plans400:
  - number: "4008050508"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: g
    groups:
      - { id: g, members: [{ seat: "1001" }] }
`;

describe.skipIf(!HAVE_CHROMIUM)('admin console in headless Chromium on the bench', () => {
  let bench: InboundBench;
  let api: OpsHttp;
  let context: BrowserContext;
  let profile: string;
  let consoleDir: string;
  const sipps: SippProcess[] = [];

  /** A fresh tab signed in with `token` (sessionStorage is per tab), on `page` once it has loaded. */
  const signIn = async (token: string, page = 'calls'): Promise<Page> => {
    const tab = await context.newPage();
    await tab.setViewportSize({ width: 1280, height: 820 });
    await tab.goto(`${api.url}/console#${page}`);
    await tab.fill('#login input[name=token]', token);
    await tab.click('#login button[type=submit]');
    await tab.waitForSelector(`#page-${page}[data-ready]`);
    return tab;
  };
  const open = async (tab: Page, page: string): Promise<void> => {
    await tab.click(`#nav a[data-page=${page}]`);
    await tab.waitForSelector(`#page-${page}[data-ready]`);
  };
  const shot = (tab: Page, name: string) => tab.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  /** The API as the page's own code calls it (its token, its origin). */
  const fetchIn = (tab: Page, path: string, init: { method?: string; body?: unknown } = {}) => tab.evaluate(async ([p, m, b]) => {
    // Runs in the page: its sessionStorage (this file is type-checked without DOM types).
    const token = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('dialgate.console.token') ?? '';
    const res = await fetch(p!, { method: m ?? 'GET', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(b ? { body: b } : {}) });
    return res.status;
  }, [path, init.method, init.body === undefined ? undefined : JSON.stringify(init.body)] as const);

  beforeAll(async () => {
    consoleDir = mkdtempSync(join(tmpdir(), 'dialgate-console-'));
    await buildConsole(consoleDir);
    bench = await startInboundBench({ at: AT, balance: 1_000_000, packageBalance: 10_000_000, plans400: PLANS });
    const cfg = (f: string) => join(bench.dir, f);
    writeFileSync(cfg('dialgate.yaml'), readFileSync(cfg('dialgate.yaml'), 'utf8').replace('http: { host: 127.0.0.1, port: 18080 }', `http:
  host: 127.0.0.1
  port: 18080
  tokens:
    - { name: noc, role: admin, token: ${ADMIN} }
    - { name: telesales-portal, role: tenant-viewer, tenant: telesales, token: ${VIEWER} }
    - { name: rival-portal, role: tenant-viewer, tenant: rival, token: ${RIVAL} }`));
    const tenants = readFileSync(cfg('tenants.yaml'), 'utf8');
    await appendFile(cfg('tenants.yaml'), tenants.slice(tenants.indexOf('  - id: telesales')).replace(/telesales/g, 'rival').replace(/callerIdPool: \[[^\]]*\]/, 'callerIdPool: ["01088887701"]'));
    const r = await bench.store.reload('console test tokens');
    expect(r.ok, JSON.stringify(r)).toBe(true);
    await bench.app.ledger.createAccount('rival', { tenant: 'rival', prepaidTotal: 1_000_000 });
    await bench.app.ledger.topUp('rival', 'initial', 777_700, 'test deposit', bench.clock.now());
    api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'),
      log: pino({ level: 'silent' }), consoleDir, now: bench.clock.now,
    });

    // The day's traffic: two answered outbound calls (trunk A refuses, B answers), one blacklisted;
    // 400 calls from Beijing and Guangdong answered by seat 1001, one caller refused by the blacklist.
    sipps.push(await startTrunk(bench.trunkPorts[0], { answer: 503 }), await startTrunk(bench.trunkPorts[1], { answer: 200 }));
    const out = await seatCalls(bench, { seat: '1002', callee: '13812345678', expect: 200, holdMs: 1200, calls: 2, concurrency: 2 });
    expect(out.exitCode, out.errors).toBe(0);
    const denied = await seatCalls(bench, { seat: '1002', callee: '13900001111', expect: 403 });
    expect(denied.exitCode, denied.errors).toBe(0);
    sipps.push(await startSeat(bench, '1001', { answer: 200 }));
    for (const caller of ['01062345678', '13802412345']) {
      const inb = await carrierCalls(bench, { from: caller, to: '4008050508', expect: 200, holdMs: 800 });
      expect(inb.exitCode, inb.errors).toBe(0);
    }
    const refused = await carrierCalls(bench, { from: '01060001234', to: '4008050508', expect: 403 });
    expect(refused.exitCode, refused.errors).toBe(0);
    await waitForCdrs(bench, 6);

    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'dialgate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await Promise.all(sipps.map((s) => s.stop()));
    await api?.close();
    await bench?.stop();
    for (const d of [profile, consoleDir, ...(process.env.DIALGATE_CONSOLE_SHOTS === '1' ? [] : [SHOTS])]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('an admin sees a live call and hangs it up from the live calls page', async () => {
    const before = readCdrs(bench).length;
    const call = seatCalls(bench, { seat: '1002', callee: '13812340000', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 20_000, timeoutMs: 30_000 });
    for (let i = 0; i < 100 && [...bench.app.live.values()].every((c) => c.answeredAt === null); i++) await new Promise((r) => setTimeout(r, 100));
    const tab = await signIn(ADMIN, 'calls');
    const text = await tab.textContent('#page-calls');
    expect(text).toContain('13812340000');
    expect(text).toContain('telesales');
    await shot(tab, 'live-calls');
    tab.once('dialog', (d) => void d.accept());
    await tab.click('button.hangup');
    const r = await call;
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ calleeNormalised: '13812340000', hangupCause: 'admin-hangup' });
    // The list the page reloads after the hang-up may still show the call tearing down; once the
    // app has let it go, a refresh shows none.
    for (let i = 0; i < 50 && bench.app.live.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(bench.app.live.size).toBe(0);
    await tab.click('#page-calls button:has-text("Refresh")');
    await tab.locator('#page-calls[data-ready]', { hasText: '共 0 路' }).waitFor();
    expect(await tab.textContent('#page-calls')).not.toContain('13812340000');
    await tab.close();
  });

  it('tenants show the ledger\'s balances; a top-up sent twice with one id is credited once', async () => {
    const tab = await signIn(ADMIN, 'tenants');
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    const rows = await tab.$$eval('#page-tenants table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const row = rows.find((r) => r[0] === 'telesales' && r[2] === 'telesales')!;
    expect(row[5]).toBe(formatYuan(acct.balance));
    expect(row[8]).toBe(formatYuan(acct.arrears));
    expect(rows.some((r) => r[0] === 'rival' && r[5] === formatYuan(777_700))).toBe(true);
    expect(rows.some((r) => r[2] === PACKAGE_ACCOUNT)).toBe(true);

    await tab.selectOption('#topup select[name=tenant]', 'telesales');
    await tab.fill('#topup input[name=amount]', '100.50');
    await tab.fill('#topup input[name=entryId]', 'console-e2e-1');
    await tab.click('#topup button[type=submit]');
    await tab.waitForSelector('#topup-result p');
    expect(await tab.textContent('#topup-result')).toContain('已入账 100.50 元');
    const once = (await bench.app.ledger.getAccount('telesales'))!.balance;
    expect(once).toBe(acct.balance + 1_005_000);
    await shot(tab, 'tenants');
    // The operator presses again (a slow network, a double click): nothing more is credited.
    await tab.click('#topup button[type=submit]');
    await tab.locator('#topup-result', { hasText: '未重复入账' }).waitFor();
    expect((await bench.app.ledger.getAccount('telesales'))!.balance).toBe(once);
    const row2 = (await tab.$$eval('#page-tenants table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))))
      .find((r) => r[0] === 'telesales' && r[2] === 'telesales')!;
    expect(row2[5]).toBe(formatYuan(once));
    await tab.close();
  });

  it('CDR search lists the sipp calls of the day and exports them as CSV', async () => {
    const tab = await signIn(ADMIN, 'cdrs');
    await tab.fill('#cdr-search input[name=from]', DAY);
    await tab.fill('#cdr-search input[name=to]', DAY);
    await tab.fill('#cdr-search input[name=number]', '138');
    await tab.click('#cdr-search button[type=submit]');
    await tab.waitForSelector('#cdr-results table');
    const cdrs = readCdrs(bench).filter((c) => c.inviteIso.startsWith(DAY) && [c.callerRaw, c.calleeRaw, c.calleeNormalised, c.callerPresented].some((n) => n?.includes('138')));
    const rows = await tab.$$eval('#cdr-results tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.length).toBe(cdrs.length);
    expect(rows.map((r) => r[0])).toEqual(cdrs.map((c) => c.inviteIso));
    expect(rows.filter((r) => r[5] === '13812345678' && r[7] === '200').length).toBe(2);
    expect(rows.some((r) => r[1] === 'inbound' && r[4] === '13802412345')).toBe(true);
    await tab.fill('#cdr-search input[name=number]', '');
    await tab.click('#cdr-search button[type=submit]');
    await tab.locator('#cdr-results', { hasText: 'blacklisted' }).waitFor();
    expect(await tab.textContent('#cdr-results')).toContain('blacklisted');
    await shot(tab, 'cdrs');
    const [download] = await Promise.all([tab.waitForEvent('download'), tab.click('#cdr-csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const all = readCdrs(bench).filter((c) => c.inviteIso.startsWith(DAY));
    expect(csv.trim().split('\n').length).toBe(1 + all.length);
    for (const c of all) expect(csv).toContain(c.cdrId);
    await tab.close();
  });

  it('the monthly statement reconciles with the ledger and shows the top-up and the calls', async () => {
    const tab = await signIn(ADMIN, 'statement');
    await tab.selectOption('#statement-form select[name=tenant]', 'telesales');
    await tab.fill('#statement-form input[name=month]', '2026-11');
    await tab.click('#statement-form button[type=submit]');
    await tab.waitForSelector('#statement-result table');
    const text = (await tab.textContent('#statement-result'))!;
    expect(text).toContain('与账本核对一致 Reconciles with the ledger');
    expect(text).toContain('充值 Top-ups');
    expect(text).toContain('通话费 Call charges');
    const closing = await tab.$eval('#statement-result table tbody tr', (tr) => tr.querySelectorAll('td')[3]!.textContent);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    const pkg = (await bench.app.ledger.getAccount(PACKAGE_ACCOUNT))!;
    expect(closing).toBe(formatYuan(acct.balance + pkg.balance));
    await shot(tab, 'statement');
    await tab.close();
  });

  it('400 caller analysis draws calls by region, answered vs refused and by hour', async () => {
    const tab = await signIn(ADMIN, 'callers');
    await tab.fill('#callers-form input[name=date]', DAY);
    await tab.click('#callers-form button[type=submit]');
    await tab.waitForSelector('#callers-result svg');
    const summary = await tab.$$eval('#callers-result table tbody td', (tds) => tds.map((td) => td.textContent));
    expect(summary.slice(0, 4)).toEqual(['3', '2', '0', '1']);
    // Ranked: Beijing (an answered and a refused caller) above Guangdong.
    const bars = await tab.$$eval('svg[aria-label="calls by region"] text', (ts) => ts.map((t) => t.textContent));
    expect(bars.slice(0, 4)).toEqual(['北京市', '2', '广东省广州市', '1']);
    const hour10 = await tab.$$eval('svg[aria-label="calls by hour"] rect title', (ts) => ts.map((t) => t.textContent));
    expect(hour10).toEqual(expect.arrayContaining(['10:00 answered 2', '10:00 refused 1']));
    await shot(tab, 'caller-analysis');
    await tab.close();
  });

  it('config shows the running version, then a rejected reload with its file and line', async () => {
    const tab = await signIn(ADMIN, 'config');
    expect(await tab.textContent('#page-config')).toContain(bench.store.status().version!);
    expect(await tab.textContent('#no-reload-error')).toContain('None');
    const file = join(bench.dir, 'trunks.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/maxConcurrent: \d+/, 'maxConcurrent: lots'));
    const r = await bench.store.reload('console test: broken');
    expect(r.ok).toBe(false);
    await tab.reload();
    await tab.waitForSelector('#page-config[data-ready]');
    const err = bench.store.status().lastError!.errors[0]!;
    const rows = await tab.$$eval('#page-config table:last-of-type tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows[0]!.slice(0, 3)).toEqual([err.file, `${err.line}${err.column ? `:${err.column}` : ''}`, err.field]);
    expect(err.file).toContain('trunks.yaml');
    await shot(tab, 'config');
    writeFileSync(file, good);
    expect((await bench.store.reload('console test: fixed')).ok).toBe(true);
    await tab.close();
  });

  it('explain decides a call on the running config, like dialgate explain', async () => {
    const tab = await signIn(ADMIN, 'explain');
    const ask = async (to: string) => {
      await tab.fill('#explain-form input[name=seat]', '1002');
      await tab.fill('#explain-form input[name=to]', to);
      await tab.fill('#explain-form input[name=at]', '2026-11-23 10:30');
      await tab.click('#explain-form button[type=submit]');
      await tab.waitForSelector('#explain-decision');
      return tab.textContent('#explain-decision');
    };
    expect(await ask('13900001111')).toContain('拒绝 deny: blacklisted (SIP 403)');
    expect(await ask('13812345678')).toContain('放行 allow → domestic (trunk-a → trunk-b)');
    await shot(tab, 'explain');
    await tab.close();
  });

  it('trunks: trunk-a\'s 503s fail over to trunk-b, whose answers give the ASR and ACD the CDRs imply', async () => {
    const tab = await signIn(ADMIN, 'trunks');
    await tab.fill('#trunks-form input[name=date]', DAY);
    await tab.click('#trunks-form button[type=submit]');
    await tab.waitForSelector('#trunks-result table');
    const rows = await tab.$$eval('#trunks-result > table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // What the day's CDR file says, counted here independently of the page's code.
    const attempts = readCdrs(bench).filter((c) => c.inviteIso.startsWith(DAY)).flatMap((c) => c.trunks.map((a, i) => ({ ...a, c, last: i === c.trunks.length - 1 })));
    const onA = attempts.filter((a) => a.trunk === 'trunk-a');
    const answeredB = attempts.filter((a) => a.trunk === 'trunk-b' && a.sipStatus === 200 && a.last && a.c.answerAt !== null);
    const attemptsB = attempts.filter((a) => a.trunk === 'trunk-b').length;
    expect(onA.length).toBeGreaterThanOrEqual(2);
    expect(onA.every((a) => a.sipStatus === 503)).toBe(true);
    expect(answeredB.length).toBeGreaterThanOrEqual(2);
    // The 400 calls' attempts name seat 1001, which is no trunk.
    expect(rows.map((r) => r[0])).toEqual(['trunk-a', 'trunk-b']);
    const a = rows.find((r) => r[0] === 'trunk-a')!;
    const b = rows.find((r) => r[0] === 'trunk-b')!;
    expect(a.slice(5, 8)).toEqual([String(onA.length), '0', '0.0%']);
    const seconds = answeredB.reduce((s, x) => s + x.c.billableSeconds, 0);
    expect(b.slice(5, 9)).toEqual([String(attemptsB), String(answeredB.length), `${((answeredB.length / attemptsB) * 100).toFixed(1)}%`, (seconds / answeredB.length).toFixed(1)]);
    // trunk-a's last failures: its 503s, newest first, each noting the failover.
    const fails = await tab.$$eval('.failures[data-trunk=trunk-a] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(fails.length).toBe(Math.min(5, onA.length));
    expect(fails.every((f) => f[1] === '503' && f[2] === 'failed over to trunk-b')).toBe(true);
    const newest = [...onA].sort((x, y) => y.at - x.at)[0]!;
    expect(fails[0]![3]).toBe(newest.c.callId);
    expect(await tab.$('.failures[data-trunk=trunk-b]')).toBeNull();
    await shot(tab, 'trunks');
    await tab.close();
  });

  it('a recorded call plays in CDR search: the audio gets the recording\'s bytes, fetched with the token', async () => {
    const recorded = readCdrs(bench).filter((c) => c.inviteIso.startsWith(DAY) && c.tenant === 'telesales' && c.recordingPath && existsSync(c.recordingPath));
    expect(recorded.length).toBeGreaterThan(0);
    const cdr = recorded[0]!;
    const size = statSync(cdr.recordingPath!).size;
    expect(size).toBeGreaterThan(44); // a WAV header and audio
    // A telesales viewer plays its own tenant's recording.
    const tab = await signIn(VIEWER, 'cdrs');
    await tab.fill('#cdr-search input[name=from]', DAY);
    await tab.fill('#cdr-search input[name=to]', DAY);
    await tab.click('#cdr-search button[type=submit]');
    await tab.waitForSelector('#cdr-results table');
    const row = tab.locator('#cdr-results tbody tr', { hasText: cdr.inviteIso });
    await row.locator('button.play').click();
    const audio = row.locator('audio.recording[data-bytes]');
    await audio.waitFor();
    expect(await audio.getAttribute('data-bytes')).toBe(String(size));
    const src = (await audio.getAttribute('src'))!;
    expect(src).toMatch(/^blob:/);
    // Chromium decodes it: the element has the recording's metadata and no media error.
    await audio.evaluate((el) => new Promise<void>((resolve, reject) => {
      const a = el as unknown as { readyState: number; error: { code: number } | null; addEventListener(e: string, f: () => void): void };
      if (a.readyState >= 1) { resolve(); return; }
      a.addEventListener('loadedmetadata', () => resolve());
      a.addEventListener('error', () => reject(new Error(`media error ${a.error?.code}`)));
    }));
    expect(await audio.evaluate((el) => (el as unknown as { duration: number }).duration)).toBeGreaterThan(0);
    // The rival's viewer may not fetch it, and neither may a request without the token.
    const path = `/tenants/telesales/recordings/${cdr.recordingPath!.split('/').slice(-2).join('/')}`;
    expect(await fetchIn(tab, path)).toBe(200);
    const rival = await signIn(RIVAL, 'cdrs');
    expect(await fetchIn(rival, path)).toBe(403);
    expect((await fetch(`${api.url}${path}`)).status).toBe(401);
    await rival.close();
    await tab.close();
  });

  it('a tenant-viewer sees its own tenant only, no admin pages, and gets 403 for another tenant', async () => {
    const tab = await signIn(VIEWER, 'tenants');
    const nav = await tab.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('data-page')));
    expect(nav).toEqual(['calls', 'tenants', 'cdrs', 'statement', 'callers']);
    const text = (await tab.textContent('#page-tenants'))!;
    expect(text).toContain('telesales');
    expect(text).not.toContain('rival');
    expect(await tab.$('#topup')).toBeNull();
    await shot(tab, 'tenant-viewer');
    expect(await fetchIn(tab, '/tenants/rival/balance')).toBe(403);
    expect(await fetchIn(tab, '/tenants/rival/cdrs')).toBe(403);
    expect(await fetchIn(tab, '/cdrs?tenant=rival')).toBe(403);
    expect(await fetchIn(tab, '/tenants/rival/statement?month=2026-11')).toBe(403);
    expect(await fetchIn(tab, '/tenants/telesales/topup', { method: 'POST', body: { entryId: 'v1', amount: '1' } })).toBe(403);
    expect(await fetchIn(tab, '/explain', { method: 'POST', body: { seat: '1001', to: '13812345678' } })).toBe(403);
    expect(await fetchIn(tab, '/tenants/telesales/balance')).toBe(200);
    // The rival's viewer, the other way round: no 400 numbers, no telesales CDRs.
    const rival = await signIn(RIVAL, 'callers');
    expect(await rival.textContent('#page-callers')).toContain('No 400 numbers');
    expect(await fetchIn(rival, `/stats/callers?number=4008050508&date=${DAY}`)).toBe(403);
    expect(await fetchIn(rival, '/tenants/telesales/cdrs')).toBe(403);
    await rival.close();
    await tab.close();
  });
});
