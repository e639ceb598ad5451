// /metrics and the ops API's tokens on the bench: sipp calls move the histograms and counters a
// Prometheus scrape reads (parsed back with a Prometheus text parser, and promtool where it is
// installed); a failing CDR sink moves the failure counter; a tenant-viewer reads its own tenant
// and gets 403 for another's; tokens never reach a log line.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import { createRedactingLogger } from '../../src/ops/log.js';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { checkWithPromtool, histogramOf, parseExposition, PROMTOOL, valueOf } from '../helpers/prometheus-text.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const ADMIN = 'e2e-admin-token-4f9d2c7a1b';
const VIEWER = 'e2e-viewer-token-8e3b5d1c6a';
const RIVAL_VIEWER = 'e2e-rival-token-2a7c9e4f1d';
const SCRAPE = 'e2e-scrape-token-6d1f3b8e2c';

describe('metrics and access on the bench', () => {
  let bench: Bench;
  let ports: [number, number];
  let api: OpsHttp;
  let trunks: SippProcess[] = [];
  const logLines: string[] = [];

  const get = (path: string, token?: string) => fetch(`${api.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const scrape = async () => {
    const res = await get('/metrics', SCRAPE);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, m: parseExposition(text) };
  };

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000 });
    // Tokens and a second tenant arrive by a config reload, as an admin would add them.
    const cfg = (f: string) => join(bench.dir, f);
    writeFileSync(cfg('dialgate.yaml'), readFileSync(cfg('dialgate.yaml'), 'utf8').replace('http: { host: 127.0.0.1, port: 18080 }', `http:
  host: 127.0.0.1
  port: 18080
  tokens:
    - { name: noc, role: admin, token: ${ADMIN} }
    - { name: telesales-portal, role: tenant-viewer, tenant: telesales, token: { file: viewer.token } }
    - { name: rival-portal, role: tenant-viewer, tenant: rival, token: ${RIVAL_VIEWER} }
    - { name: prometheus, role: metrics, token: ${SCRAPE} }`));
    writeFileSync(cfg('viewer.token'), `${VIEWER}\n`);
    const tenants = readFileSync(cfg('tenants.yaml'), 'utf8');
    await appendFile(cfg('tenants.yaml'), tenants.slice(tenants.indexOf('  - id: telesales')).replace(/telesales/g, 'rival').replace(/callerIdPool: \[[^\]]*\]/, 'callerIdPool: ["01088887701"]'));
    const r = await bench.store.reload();
    expect(r.ok, JSON.stringify(r)).toBe(true);
    await bench.app.ledger.createAccount('rival', { tenant: 'rival', prepaidTotal: 1_000_000 });
    await bench.app.ledger.topUp('rival', 'initial', 777_700, 'test deposit');
    const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
    api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'),
      log: createRedactingLogger({ level: 'info' }, sink),
    });
  });
  afterAll(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    await api?.close();
    await bench?.stop();
  });

  it('sipp calls move setup latency, post-dial delay, attempts by trunk and status, answered seconds and ledger latency', async () => {
    const before = await scrape();
    const hist = (text: string, name: string, labels: Record<string, string> = {}) => histogramOf(text, name, labels);
    trunks.push(await startTrunk(ports[0], { answer: 503 }));
    trunks.push(await startTrunk(ports[1], { answer: 200 }));
    const n0 = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 1500, calls: 2, concurrency: 2 });
    expect(r.exitCode, r.errors).toBe(0);
    const denied = await seatCalls(bench, { callee: '13900001111', expect: 403 });
    expect(denied.exitCode, denied.errors).toBe(0);
    const cdrs = (await waitForCdrs(bench, n0 + 3)).slice(n0);
    expect(cdrs.map((c) => [c.sipStatus, c.route])).toEqual(expect.arrayContaining([[200, 'domestic'], [200, 'domestic'], [403, null]]));

    const { text, m } = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(m, name, labels) - valueOf(before.m, name, labels);
    const hdelta = (name: string, labels: Record<string, string> = {}) => {
      const a = hist(text, name, labels);
      const b = hist(before.text, name, labels);
      return { count: a.count - b.count, sum: a.sum - b.sum };
    };
    // Failover: trunk A refused both calls, trunk B answered them.
    expect(delta('dialgate_trunk_attempts_total', { trunk: 'trunk-a', status: '503' })).toBe(2);
    expect(delta('dialgate_trunk_attempts_total', { trunk: 'trunk-b', status: '200' })).toBe(2);
    expect(delta('dialgate_call_attempts_total', { direction: 'outbound', route: 'domestic', trunk: 'trunk-b', status: '200' })).toBe(2);
    expect(delta('dialgate_call_attempts_total', { direction: 'outbound', route: '', trunk: '', status: '403' })).toBe(1);
    expect(delta('dialgate_calls_total', { decision: 'allow', reason: '' })).toBe(2);
    expect(delta('dialgate_calls_total', { decision: 'deny', reason: 'blacklisted' })).toBe(1);
    const talk = cdrs.filter((c) => c.sipStatus === 200).reduce((a, c) => a + c.billableSeconds, 0);
    expect(talk).toBeGreaterThanOrEqual(2);
    expect(hdelta('dialgate_call_answered_seconds', { route: 'domestic', trunk: 'trunk-b' })).toEqual({ count: 2, sum: talk });
    // Setup: the seat's INVITE to the first trunk INVITE; post-dial delay: to the first 180, which
    // trunk A sent before its 503 (so the ring is trunk A's). Both equal what the CDRs say.
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    const setup = hdelta('dialgate_call_setup_seconds', { direction: 'outbound' });
    expect(setup.count).toBe(2);
    expect(setup.sum).toBeCloseTo(answered.reduce((a, c) => a + (c.trunks[0]!.at - c.inviteAt) / 1000, 0), 6);
    expect(setup.sum).toBeLessThan(2);
    const pdd = hdelta('dialgate_call_post_dial_delay_seconds', { trunk: 'trunk-a' });
    expect(pdd.count).toBe(2);
    expect(answered.every((c) => c.ringAt !== null && c.ringAt >= c.trunks[0]!.at && c.ringAt < c.trunks[1]!.at)).toBe(true);
    expect(pdd.sum).toBeCloseTo(answered.reduce((a, c) => a + (c.ringAt! - c.inviteAt) / 1000, 0), 6);
    expect(hdelta('dialgate_ledger_operation_seconds', { op: 'reserve' }).count).toBe(2);
    expect(hdelta('dialgate_ledger_operation_seconds', { op: 'settle' }).count).toBe(2);
    expect(hdelta('dialgate_ledger_operation_seconds', { op: 'slot-acquire' }).count).toBeGreaterThanOrEqual(4);
    expect(delta('dialgate_cdrs_written_total')).toBe(3);
    expect(valueOf(m, 'dialgate_live_calls')).toBe(0);
    expect(valueOf(m, 'dialgate_up')).toBe(1);
    expect(valueOf(m, 'dialgate_redis_errors_total')).toBe(0);
    expect(m.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    if (PROMTOOL) expect(checkWithPromtool(text)).toEqual([]);
  }, 60_000);

  it('a CDR sink that fails moves dialgate_cdr_write_failures_total; the call still counts', async () => {
    const before = (await scrape()).m;
    const cdrDir = join(bench.dir, 'cdr');
    const saved = join(bench.dir, 'cdr-saved');
    // The daily files cannot be written: the directory is a plain file now.
    rmSync(saved, { recursive: true, force: true });
    renameSync(cdrDir, saved);
    writeFileSync(cdrDir, 'not a directory');
    try {
      const r = await seatCalls(bench, { callee: '13900001111', expect: 403 });
      expect(r.exitCode, r.errors).toBe(0);
      const deadline = Date.now() + 5000;
      let m = (await scrape()).m;
      while (valueOf(m, 'dialgate_cdr_write_failures_total') === valueOf(before, 'dialgate_cdr_write_failures_total') && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
        m = (await scrape()).m;
      }
      expect(valueOf(m, 'dialgate_cdr_write_failures_total') - valueOf(before, 'dialgate_cdr_write_failures_total')).toBe(1);
      expect(valueOf(m, 'dialgate_cdrs_written_total') - valueOf(before, 'dialgate_cdrs_written_total')).toBe(0);
      expect(valueOf(m, 'dialgate_calls_total', { decision: 'deny', reason: 'blacklisted' }) - valueOf(before, 'dialgate_calls_total', { decision: 'deny', reason: 'blacklisted' })).toBe(1);
    } finally {
      rmSync(cdrDir, { force: true });
      renameSync(saved, cdrDir);
    }
  }, 30_000);

  it('a tenant-viewer reads its own calls, CDRs, recordings and balance (200) and gets 403 for another tenant\'s', async () => {
    const own = await get('/tenants/telesales/cdrs', VIEWER);
    expect(own.status).toBe(200);
    const body = await own.json() as { cdrs: { cdrId: string; tenant: string; recordingPath: string | null }[] };
    expect(body.cdrs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(body.cdrs.map((c) => c.tenant))).toEqual(new Set(['telesales']));
    const balance = await get('/tenants/telesales/balance', VIEWER);
    expect(balance.status).toBe(200);
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(await balance.json()).toMatchObject({ tenant: 'telesales', accounts: [{ account: 'telesales', kind: 'prepaid', balance: acct!.balance }] });
    expect((await get('/calls', VIEWER)).status).toBe(200);
    const recorded = body.cdrs.find((c) => c.recordingPath && existsSync(c.recordingPath));
    expect(recorded, 'a recorded call on the bench').toBeDefined();
    const recPath = recorded!.recordingPath!;
    const recUrl = `/tenants/telesales/recordings/${basename(dirname(recPath))}/${basename(recPath)}`;
    const rec = await get(recUrl, VIEWER);
    expect(rec.status).toBe(200);
    expect(Buffer.from(await rec.arrayBuffer())).toEqual(readFileSync(recPath));

    // The rival's own token reads the rival; the telesales viewer does not, nor the other way round.
    expect(await (await get('/tenants/rival/balance', RIVAL_VIEWER)).json()).toMatchObject({ accounts: [{ balance: 777_700 }] });
    for (const path of ['/tenants/rival/balance', '/tenants/rival/cdrs', '/tenants/rival/calls', '/calls?tenant=rival', '/cdrs?tenant=rival']) {
      const res = await get(path, VIEWER);
      expect(res.status, path).toBe(403);
      expect(await res.text()).not.toContain('777700');
    }
    for (const path of ['/tenants/telesales/cdrs', '/tenants/telesales/balance', recUrl]) {
      expect((await get(path, RIVAL_VIEWER)).status, path).toBe(403);
    }
    expect((await (await get('/cdrs', RIVAL_VIEWER)).json() as { count: number }).count).toBe(0);
    // The admin reads both; the scrape token reads neither.
    expect((await get('/tenants/rival/balance', ADMIN)).status).toBe(200);
    expect((await get('/tenants/telesales/cdrs', SCRAPE)).status).toBe(403);
  });

  it('no token gets 401 on data and /metrics; /health answers a load balancer with its status only', async () => {
    for (const path of ['/calls', '/cdrs', '/tenants/telesales/cdrs', '/tenants/telesales/balance', '/metrics']) {
      expect((await get(path)).status, path).toBe(401);
    }
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(await (await get('/health', ADMIN)).json()).toMatchObject({ status: 'ok', drachtioConnected: true, liveCalls: 0 });
  });

  it('tokens never appear in a log line, even when a request\'s headers are logged', async () => {
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.join('')).toContain('telesales-portal (tenant-viewer of telesales)');
    // A careless log of the request headers is redacted too (createRedactingLogger).
    const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
    const log = createRedactingLogger({}, sink);
    log.info({ headers: { authorization: `Bearer ${ADMIN}` } }, 'request');
    log.info({ req: { headers: { authorization: `Bearer ${VIEWER}` } } }, 'request');
    log.info({ server: bench.store.current().server }, 'settings');
    const all = logLines.join('');
    for (const t of [ADMIN, VIEWER, RIVAL_VIEWER, SCRAPE]) expect(all).not.toContain(t);
    expect(all).toContain('[redacted]');
  });
});
