// Ops HTTP API: health 200/503, bearer token, calls, metrics.
import { afterEach, describe, expect, it } from 'vitest';
import { OpsMetrics, startOpsHttp, type OpsHttp, type StatusJson } from '../../src/ops/http.js';

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
    for (const path of ['/health', '/calls', '/metrics']) {
      const res = await fetch(`${srv.url}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const wrong = await fetch(`${srv.url}/health`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(TOKEN);
    const ok = await fetch(`${srv.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).not.toContain(TOKEN);
  });

  it('logs requests without the token', async () => {
    const lines: string[] = [];
    const log = { info: (o: object, m?: string) => lines.push(JSON.stringify([o, m])), warn: (o: object, m?: string) => lines.push(JSON.stringify([o, m])) };
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, token: TOKEN, status: () => status(), log });
    await fetch(`${srv.url}/health?x=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await fetch(`${srv.url}/health`);
    expect(lines).toHaveLength(2);
    expect(lines.join()).not.toContain(TOKEN);
    expect(lines[1]).toContain('401');
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

  it('/metrics carries FreeSWITCH\'s health and load and the orphans killed; figures not reported yet are left out', () => {
    const metrics = new OpsMetrics();
    const fs = {
      connected: true, sessions: 12, maxSessions: 1000, sessionsPerSecond: 3, sessionsPerSecondPeak5m: 9, idleCpu: 87.5,
      uptimeSeconds: 86_400, version: '1.10.12-release', reportedAt: 1, disconnects: 0, orphansKilled: 4, lastReconcile: null,
    };
    const text = metrics.render({ liveCalls: 6, freeswitch: fs });
    for (const line of ['dialgate_fs_connected 1', 'dialgate_fs_sessions 12', 'dialgate_fs_max_sessions 1000', 'dialgate_fs_sessions_per_second 3',
      'dialgate_fs_idle_cpu_ratio 0.875', 'dialgate_fs_uptime_seconds 86400', 'dialgate_fs_orphans_killed_total 4']) {
      expect(text).toMatch(new RegExp(`^${line}$`, 'm'));
    }
    expect(text).toMatch(/^# TYPE dialgate_fs_orphans_killed_total counter$/m);
    // Watcher never connected: no load figures to show, only what is known.
    const down = metrics.render({ liveCalls: 0, freeswitch: { ...fs, connected: false, sessions: 0, maxSessions: null, sessionsPerSecond: null, idleCpu: null, uptimeSeconds: null, orphansKilled: 0 } });
    expect(down).toMatch(/^dialgate_fs_connected 0$/m);
    expect(down).not.toContain('dialgate_fs_idle_cpu_ratio');
    expect(down).not.toContain('dialgate_fs_max_sessions');
    // Without a media server there is no FreeSWITCH section at all.
    expect(metrics.render({ liveCalls: 0, freeswitch: null })).not.toContain('dialgate_fs_');
  });

  it('default /metrics from status; a failing provider answers 500', async () => {
    let fail = false;
    srv = await startOpsHttp({ host: '127.0.0.1', port: 0, status: () => { if (fail) throw new Error('boom'); return status(); } });
    expect(await (await fetch(`${srv.url}/metrics`)).text()).toMatch(/dialgate_live_calls 2\n[\s\S]*dialgate_up 1/);
    fail = true;
    expect((await fetch(`${srv.url}/health`)).status).toBe(500);
  });
});
