// Ops HTTP API: health 200/503, bearer token, calls, metrics.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { exportCsv, queryCdrs } from '../../src/cdr/query.js';
import { CdrWriter } from '../../src/cdr/writer.js';
import { AccessTable } from '../../src/ops/access.js';
import { sampleCdr } from '../cdr/fixtures.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { startOpsHttp, type OpsHttp, type StatusJson } from '../../src/ops/http.js';
import { OpsMetrics } from '../../src/ops/metrics.js';

const TOKEN = 's3cret-token-value';

function status(over: Partial<StatusJson> = {}): StatusJson {
  return {
    drachtioConnected: true,
    config: { version: 'abc123', loadedAt: 1, lastError: null },
    liveCalls: 2,
    registeredSeats: 3,
    ...over,
  };
}

let srv: OpsHttp | undefined;
let redisInstance: RedisInstance | undefined;

/** The CDR writer's stream lives in a real redis-server (test/helpers/redis.ts). */
let cdrRedis: Redis | undefined;
async function redisForCdrs(): Promise<Redis> {
  redisInstance = await startRedis();
  cdrRedis = redisInstance.client();
  return cdrRedis;
}
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe('ops http', () => {
  it('GET /health is 200 with config version, live calls, seats, uptime when all is well', async () => {
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, status: () => status(), startedAt: Date.now() - 5_000 });
    const res = await fetch(`${srv.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json() as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', drachtioConnected: true, config: { version: 'abc123', lastError: null }, liveCalls: 2, registeredSeats: 3 });
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(5);
  });

  it('GET /health is 503 when drachtio is down, and degraded (200, error with file, line, field) after a rejected reload', async () => {
    let s = status({ drachtioConnected: false });
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, status: async () => s });
    expect((await fetch(`${srv.url}/health`)).status).toBe(503);
    const lastError = { at: 1, reason: 'watch', errors: [{ file: 'tenants.yaml', line: 16, column: 15, field: 'tenants[0].window', message: 'bad time' }] };
    s = status({ config: { version: 'abc123', lastError } });
    const res = await fetch(`${srv.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'degraded', config: { lastError: { errors: [{ file: 'tenants.yaml', line: 16, field: 'tenants[0].window' }] } } });
  });

  it('requires the bearer token when configured, and never echoes it', async () => {
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, token: TOKEN, status: () => status() });
    for (const path of ['/calls', '/metrics', '/cdrs', '/tenants/telesales/balance']) {
      const res = await fetch(`${srv.url}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const wrong = await fetch(`${srv.url}/health`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(TOKEN);
    const ok = await fetch(`${srv.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text)).toMatchObject({ status: 'ok', config: { version: 'abc123' }, liveCalls: 2 });
  });

  it('/health stays open for load balancers: the status code and word only, details need a token', async () => {
    let s = status();
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, token: TOKEN, status: () => s });
    const open = await fetch(`${srv.url}/health`);
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ status: 'ok' });
    s = status({ drachtioConnected: false });
    const down = await fetch(`${srv.url}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable' });
  });

  it('logs requests without the token', async () => {
    const lines: string[] = [];
    const log = { info: (o: object, m?: string) => lines.push(JSON.stringify([o, m])), warn: (o: object, m?: string) => lines.push(JSON.stringify([o, m])) };
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, token: TOKEN, status: () => status(), log });
    await fetch(`${srv.url}/health?x=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await fetch(`${srv.url}/calls`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(lines).toHaveLength(2);
    expect(lines.join()).not.toContain(TOKEN);
    expect(lines[1]).toContain('401');
    expect(lines[0]).toContain('http.token (admin)');
    expect(lines[1]).toContain('anonymous');
  });

  it('GET /calls lists live calls; GET /metrics renders counters; unknown paths 404, POST 405', async () => {
    const metrics = new OpsMetrics();
    metrics.decision('allow');
    metrics.decision('deny', 'outside-window');
    metrics.decision('deny', 'outside-window');
    metrics.cdrWritten();
    const calls = [{ callId: 'c1', tenant: 'telesales', seat: '1001', callee: '13812345678', answeredAt: null }];
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, status: () => status(), calls: () => calls, metrics: () => metrics.render({ liveCalls: calls.length }) });
    expect(await (await fetch(`${srv.url}/calls`)).json()).toEqual({ count: 1, calls });
    const m = await fetch(`${srv.url}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await m.text();
    expect(text).toContain('dialgate_calls_total{decision="deny",reason="outside-window"} 2');
    expect(text).toContain('dialgate_calls_total{decision="allow",reason=""} 1');
    expect(text).toContain('dialgate_live_calls 1');
    expect(text).toContain('dialgate_cdrs_written_total 1');
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
    expect((await fetch(`${srv.url}/health`, { method: 'POST' })).status).toBe(405);
  });

  it('default /metrics from status; a failing provider answers 500', async () => {
    let fail = false;
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, status: () => { if (fail) throw new Error('boom'); return status(); } });
    expect(await (await fetch(`${srv.url}/metrics`)).text()).toMatch(/dialgate_live_calls 2\n[\s\S]*dialgate_up 1/);
    fail = true;
    expect((await fetch(`${srv.url}/health`)).status).toBe(500);
  });
});

describe('ops http: tokens with roles', () => {
  const ADMIN = 'admin-token-0123456789abcdef';
  const VIEWER = 'viewer-token-0123456789abcdef';
  const SCRAPE = 'scrape-token-0123456789abcdef';
  let dir: string;
  let metricsOpen = false;

  const get = (path: string, token?: string) => fetch(`${srv!.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dialgate-http-'));
    const writer = new CdrWriter({ redis: await redisForCdrs(), dir: join(dir, 'cdr') });
    for (const [id, tenant] of [['c1', 'telesales'], ['c2', 'other'], ['c3', 'telesales']] as const) {
      await writer.write(sampleCdr({ cdrId: id, callId: `${id}@x`, tenant }));
    }
    mkdirSync(join(dir, 'rec', 'telesales', '2025-03-01'), { recursive: true });
    mkdirSync(join(dir, 'rec', 'other', '2025-03-01'), { recursive: true });
    writeFileSync(join(dir, 'rec', 'telesales', '2025-03-01', 'c1.wav'), Buffer.alloc(44, 1));
    writeFileSync(join(dir, 'rec', 'other', '2025-03-01', 'c2.wav'), Buffer.alloc(44, 2));
    writeFileSync(join(dir, 'rec', 'secret.txt'), 'not a recording');
  });
  afterAll(async () => {
    cdrRedis?.disconnect();
    await redisInstance?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const table = new AccessTable([
      { name: 'noc', role: 'admin', token: ADMIN },
      { name: 'portal', role: 'tenant-viewer', tenant: 'telesales', token: VIEWER },
      { name: 'prometheus', role: 'metrics', token: SCRAPE },
    ]);
    const calls = [
      { callId: 'a', tenant: 'telesales', seat: '1001', callee: '13812345678', answeredAt: null },
      { callId: 'b', tenant: 'other', seat: '2001', callee: '13912345678', answeredAt: 1 },
    ];
    srv = await startOpsHttp({
      host: '127.0.0.1', port: 0, access: () => table, metricsOpen: () => metricsOpen, status: () => status(),
      calls: () => calls, metrics: () => '# TYPE dialgate_up gauge\ndialgate_up 1\n',
      tenantExists: (t) => t === 'telesales' || t === 'other',
      balance: async (t) => ({ tenant: t, accounts: [{ account: t, kind: 'prepaid', balance: t === 'telesales' ? 1000 : 2000 }] }),
      cdrs: { query: (q) => queryCdrs(join(dir, 'cdr'), q), csv: (q, out) => exportCsv(join(dir, 'cdr'), q, out) },
      recordingsDir: () => join(dir, 'rec'),
      agents: {
        list: async (tenant) => agentRows.filter((a) => tenant === undefined || a.tenant === tenant),
        set: async (seat, state) => {
          const a = agentRows.find((r) => r.seat === seat);
          if (a) a.state = state;
          return a ?? null;
        },
      },
    });
  };
  const agentRows = [
    { seat: '1001', tenant: 'telesales', name: '1001', state: 'available' as string, since: null, calls: 0, away: false, wrapUpUntil: null, registered: true },
    { seat: '2001', tenant: 'other', name: '2001', state: 'available' as string, since: null, calls: 0, away: false, wrapUpUntil: null, registered: false },
  ] as { seat: string; tenant: string; name: string; state: 'available' | 'away'; since: null; calls: number; away: boolean; wrapUpUntil: null; registered: boolean }[];

  it('agents (issue 13): a tenant-viewer lists its own tenant\'s; only an admin sets a state; metrics tokens read none', async () => {
    await start();
    const put = (token: string, seat: string, body: unknown) => fetch(`${srv!.url}/agents/${seat}/state`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(((await (await get('/agents', VIEWER)).json()) as { agents: { seat: string }[] }).agents.map((a) => a.seat)).toEqual(['1001']);
    expect((await get('/agents?tenant=other', VIEWER)).status).toBe(403);
    expect(((await (await get('/agents', ADMIN)).json()) as { count: number }).count).toBe(2);
    expect((await get('/agents', SCRAPE)).status).toBe(403);
    expect((await get('/agents')).status).toBe(401);
    expect((await put(VIEWER, '1001', { state: 'away' })).status).toBe(403);
    expect(agentRows[0]!.state).toBe('available');
    expect((await put(ADMIN, '1001', { state: 'busy' })).status).toBe(400);
    expect((await put(ADMIN, '1001', { state: 'away' })).status).toBe(200);
    expect(agentRows[0]!.state).toBe('away');
    expect((await put(ADMIN, 'nobody', { state: 'away' })).status).toBe(404);
  });

  it('a tenant-viewer reads its own tenant\'s calls, CDRs, balance and recordings: 200', async () => {
    await start();
    const calls = await (await get('/calls', VIEWER)).json() as { calls: { callId: string }[] };
    expect(calls.calls.map((c) => c.callId)).toEqual(['a']);
    expect((await (await get('/tenants/telesales/calls', VIEWER)).json() as { count: number }).count).toBe(1);
    const cdrs = await (await get('/cdrs', VIEWER)).json() as { cdrs: { cdrId: string }[] };
    expect(cdrs.cdrs.map((c) => c.cdrId)).toEqual(['c1', 'c3']);
    const own = await (await get('/tenants/telesales/cdrs?from=2025-03-01&to=2025-03-01', VIEWER)).json() as { cdrs: { cdrId: string }[] };
    expect(own.cdrs.map((c) => c.cdrId)).toEqual(['c1', 'c3']);
    const csv = await get('/tenants/telesales/cdrs?format=csv', VIEWER);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect((await csv.text()).split('\r\n').filter(Boolean)).toHaveLength(3);
    expect(await (await get('/tenants/telesales/balance', VIEWER)).json()).toMatchObject({ tenant: 'telesales', accounts: [{ balance: 1000 }] });
    const rec = await get('/tenants/telesales/recordings/2025-03-01/c1.wav', VIEWER);
    expect(rec.status).toBe(200);
    expect(rec.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await rec.arrayBuffer())).toEqual(Buffer.alloc(44, 1));
  });

  it('a tenant-viewer gets 403 for another tenant\'s calls, CDRs, balance and recordings, and for /metrics', async () => {
    await start();
    for (const path of ['/calls?tenant=other', '/cdrs?tenant=other', '/tenants/other/calls', '/tenants/other/cdrs', '/tenants/other/balance',
      '/tenants/other/recordings/2025-03-01/c2.wav', '/tenants/nosuch/balance', '/metrics']) {
      const res = await get(path, VIEWER);
      expect(res.status, path).toBe(403);
      expect(await res.text(), path).not.toMatch(/2000|c2@x/);
    }
  });

  it('no token or a wrong one: 401 on every data endpoint', async () => {
    await start();
    for (const path of ['/calls', '/cdrs', '/tenants/telesales/calls', '/tenants/telesales/cdrs', '/tenants/telesales/balance', '/tenants/telesales/recordings/2025-03-01/c1.wav', '/metrics', '/nope']) {
      for (const token of [undefined, `${VIEWER}x`]) {
        const res = await get(path, token);
        expect(res.status, `${path} ${token ?? 'none'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
  });

  it('an admin reads every tenant; unknown tenants and recordings are 404, paths cannot climb out of a tenant', async () => {
    await start();
    expect((await (await get('/calls', ADMIN)).json() as { count: number }).count).toBe(2);
    expect((await (await get('/cdrs', ADMIN)).json() as { count: number }).count).toBe(3);
    expect((await (await get('/cdrs?tenant=other', ADMIN)).json() as { count: number }).count).toBe(1);
    expect((await get('/tenants/other/balance', ADMIN)).status).toBe(200);
    expect((await get('/tenants/nosuch/balance', ADMIN)).status).toBe(404);
    for (const p of ['/tenants/telesales/recordings/2025-03-01/nope.wav', '/tenants/telesales/recordings/..%2F..%2Fother/c2.wav',
      '/tenants/telesales/recordings/2025-03-01/..%2F..%2F..%2Fsecret.txt', '/tenants/telesales/recordings/2025-03-01/..%2F..%2Fother%2F2025-03-01%2Fc2.wav']) {
      expect((await get(p, ADMIN)).status, p).toBe(404);
    }
    expect((await get('/cdrs?from=yesterday', ADMIN)).status).toBe(400);
    expect((await get('/health', ADMIN)).status).toBe(200);
    expect(await (await get('/health', ADMIN)).json()).toHaveProperty('config.version', 'abc123');
    expect(await (await get('/health', VIEWER)).json()).toEqual({ status: 'ok' });
  });

  it('/metrics: admin and metrics tokens; open to all with http.metricsOpen', async () => {
    await start();
    expect((await get('/metrics', SCRAPE)).status).toBe(200);
    expect((await get('/metrics', ADMIN)).status).toBe(200);
    expect((await get('/calls', SCRAPE)).status).toBe(403);
    expect((await get('/tenants/telesales/cdrs', SCRAPE)).status).toBe(403);
    metricsOpen = true;
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/calls')).status).toBe(401);
    metricsOpen = false;
  });
});
