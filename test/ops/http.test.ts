// Ops HTTP API: health 200/503, bearer token, calls, metrics.
import { afterEach, describe, expect, it } from 'vitest';
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
