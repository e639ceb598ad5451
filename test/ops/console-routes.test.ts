// The console's routes on the ops HTTP API, without a browser: CDR pages, who may call what (a
// refused request never reaches the ledger or a live call), and clear 400s for bad input. The
// console in Chromium on the bench is test/e2e/console.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCsv, queryCdrs } from '../../src/cdr/query.js';
import { AccessTable } from '../../src/ops/access.js';
import { ConsoleInputError, type ConsoleProviders } from '../../src/ops/console-routes.js';
import { startOpsHttp, type OpsHttp } from '../../src/ops/http.js';
import { analyseCalls } from '../../src/stats/caller-analysis.js';
import { sampleCdr } from '../cdr/fixtures.js';

const ADMIN = 'admin-token-7d1e4b9c2a';
const VIEWER = 'viewer-token-2f8a6c3e1b';
const SCRAPE = 'scrape-token-5b9d2e7f4c';
const T = Date.parse('2025-03-01T10:00:00+08:00');

describe('console routes', () => {
  let dir: string;
  let srv: OpsHttp;
  const calls: string[] = [];

  const req = (path: string, token?: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') => fetch(`${srv.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const json = async (r: Response) => ({ status: r.status, body: await r.json() as Record<string, any> }); // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dialgate-console-routes-'));
    mkdirSync(join(dir, 'cdr'));
    mkdirSync(join(dir, 'console'));
    writeFileSync(join(dir, 'console', 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'console', 'app.js'), 'export {};');
    const lines = Array.from({ length: 120 }, (_, i) => JSON.stringify(sampleCdr({
      cdrId: `c${String(i).padStart(3, '0')}`, callId: `c${i}@x`, tenant: i % 2 ? 'acme' : 'other', inviteAt: T + i * 1000,
    })));
    writeFileSync(join(dir, 'cdr', 'cdr-2025-03-01.jsonl'), `${lines.join('\n')}\n`);
    const providers: ConsoleProviders = {
      assetsDir: () => join(dir, 'console'),
      tenants: () => [{ id: 'acme', name: 'Acme' }, { id: 'other', name: 'Other' }],
      numbers400: () => [{ number: '4008000001', owner: 'acme' }, { number: '4008000002', owner: 'other' }],
      hangup: (id) => { calls.push(`hangup ${id}`); return id === 'live-1' ? { tenant: 'acme' } : null; },
      topUp: async (tenant, entryId, amount) => { calls.push(`topup ${tenant} ${entryId} ${amount}`); return { account: tenant, amount, balanceAfter: amount, arrearsPaid: 0, duplicate: false }; },
      statement: async (_t, month) => { throw new ConsoleInputError(`no ledger account for ${month}`); },
      callerAnalysis: async (number, date) => analyseCalls([], number, date),
      explain: async (r) => { calls.push(`explain ${r.to}`); throw new ConsoleInputError(`unknown seat ${r.seat}`); },
      trunks: async (date) => { calls.push(`trunks ${date}`); return { date, trunks: [] }; },
    };
    srv = await startOpsHttp({
      host: '127.0.0.1', port: 0,
      access: () => new AccessTable([
        { name: 'noc', role: 'admin', token: ADMIN },
        { name: 'portal', role: 'tenant-viewer', tenant: 'acme', token: VIEWER },
        { name: 'prom', role: 'metrics', token: SCRAPE },
      ]),
      status: () => ({ drachtioConnected: true, config: { version: 'v1', lastError: null }, liveCalls: 0, registeredSeats: 0 }),
      tenantExists: (t) => t === 'acme' || t === 'other',
      cdrs: { query: (q) => queryCdrs(join(dir, 'cdr'), q), csv: (q, out) => exportCsv(join(dir, 'cdr'), q, out) },
      console: providers,
    });
  });
  afterAll(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages CDRs server-side: offset and limit, hasMore on every page but the last', async () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += 25) {
      const { status, body } = await json(await req(`/cdrs?from=2025-03-01&to=2025-03-01&limit=25&offset=${offset}`, ADMIN));
      expect(status).toBe(200);
      expect(body.offset).toBe(offset);
      seen.push(...body.cdrs.map((c: { cdrId: string }) => c.cdrId));
      if (!body.hasMore) { expect(body.count).toBe(20); break; }
      expect(body.count).toBe(25);
    }
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => `c${String(i).padStart(3, '0')}`));
    // A viewer's pages hold its own tenant's CDRs only.
    const own = await json(await req('/cdrs?limit=100', VIEWER));
    expect(own.body.count).toBe(60);
    expect(own.body.cdrs.every((c: { tenant: string }) => c.tenant === 'acme')).toBe(true);
    expect((await json(await req('/cdrs?offset=-1', ADMIN))).body.error).toMatch(/offset must be a whole number/);
  });

  it('serves the built console with a strict content security policy, and says when it is not built', async () => {
    const page = await req('/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await req('/console/app.js')).headers.get('content-type')).toMatch(/javascript/);
    rmSync(join(dir, 'console', 'app.js'));
    const missing = await json(await req('/console/app.js'));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/console is not built .*npm run build/);
  });

  it('a tenant-viewer lists only its own tenant and 400 numbers, and may not act', async () => {
    expect((await json(await req('/whoami', VIEWER))).body).toEqual({ name: 'portal', role: 'tenant-viewer', tenant: 'acme' });
    expect((await json(await req('/tenants', VIEWER))).body.tenants).toEqual([{ id: 'acme', name: 'Acme' }]);
    expect((await json(await req('/tenants', ADMIN))).body.count).toBe(2);
    expect((await json(await req('/numbers400', VIEWER))).body.numbers).toEqual([{ number: '4008000001', owner: 'acme' }]);
    expect((await req('/stats/callers?number=4008000001&date=2025-03-01', VIEWER)).status).toBe(200);
    // Another tenant's number and a number that does not exist look the same to a viewer.
    expect((await req('/stats/callers?number=4008000002&date=2025-03-01', VIEWER)).status).toBe(403);
    expect((await req('/stats/callers?number=4009999999&date=2025-03-01', VIEWER)).status).toBe(403);
    expect((await req('/stats/callers?number=4009999999&date=2025-03-01', ADMIN)).status).toBe(404);
    expect((await req('/tenants/other/statement?month=2025-03', VIEWER)).status).toBe(403);
    expect((await req('/tenants/acme/topup', VIEWER, { entryId: 'x1', amount: '10' })).status).toBe(403);
    expect((await req('/calls/live-1/hangup', VIEWER, {})).status).toBe(403);
    expect((await req('/explain', VIEWER, { seat: '1001', to: '13800138000' })).status).toBe(403);
    expect((await req('/trunks?date=2025-03-01', VIEWER)).status).toBe(403);
    expect((await req('/trunks?date=2025-03-01', SCRAPE)).status).toBe(403);
    expect((await req('/tenants/acme/topup', SCRAPE, { entryId: 'x1', amount: '10' })).status).toBe(403);
    expect((await req('/tenants/acme/topup', undefined, { entryId: 'x1', amount: '10' })).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('bad input is a 400 that names the field, and reaches no ledger', async () => {
    const post = async (body: unknown) => json(await req('/tenants/acme/topup', ADMIN, body));
    expect((await post({ amount: '10' })).body.error).toBe('missing field entryId');
    expect((await post({ entryId: 'x 1', amount: '10' })).body.error).toMatch(/^entryId:/);
    expect((await post({ entryId: 'x1', amount: 'ten' })).body.error).toMatch(/^amount:/);
    expect((await post({ entryId: 'x1', amount: '0' })).body.error).toBe('amount must be above zero');
    expect((await post({ entryId: 'x1', amount: 10 })).body.error).toBe('field amount must be a string');
    expect((await post('{not json')).body.error).toBe('request body is not JSON');
    expect((await post({ entryId: 'x1', amount: '1.00001' })).status).toBe(400);
    expect((await json(await req('/tenants/nobody/topup', ADMIN, { entryId: 'x1', amount: '1' }))).status).toBe(404);
    expect(calls).toEqual([]);
    expect((await post({ entryId: 'x1', amount: '12.34', note: 'bank transfer' })).body).toMatchObject({ amount: 123_400, duplicate: false });
    expect(calls).toEqual(['topup acme x1 123400']);

    expect((await json(await req('/tenants/acme/statement?month=2025-13', ADMIN))).body.error).toBe('month must be YYYY-MM');
    expect(await json(await req('/tenants/acme/statement?month=2025-03', ADMIN))).toEqual({ status: 400, body: { error: 'no ledger account for 2025-03' } });
    expect((await json(await req('/explain', ADMIN, { to: '13800138000' }))).body.error).toBe('name the caller: seat or tenant');
    expect(await json(await req('/explain', ADMIN, { seat: '9999', to: '13800138000' }))).toEqual({ status: 400, body: { error: 'unknown seat 9999' } });
    expect((await json(await req('/calls/nope/hangup', ADMIN, {}))).status).toBe(404);
    expect(await json(await req('/calls/live-1/hangup', ADMIN, {}))).toEqual({ status: 200, body: { callId: 'live-1', tenant: 'acme', hungUp: true } });
    expect((await req('/stats/callers?number=4008000001&date=March', ADMIN)).status).toBe(400);
    expect((await json(await req('/trunks?date=today', ADMIN))).body.error).toBe('date must be YYYY-MM-DD');
    expect((await json(await req('/trunks?date=2025-03-01', ADMIN))).body).toEqual({ date: '2025-03-01', trunks: [] });
  });
});
