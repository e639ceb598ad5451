// deploy/: the Grafana dashboard, the Prometheus scrape config and the compose profile. Every query
// of the dashboard names metrics dialgate exports; where Prometheus is installed (Debian package
// prometheus) a real Prometheus scrapes /metrics with its bearer token and runs every query, and
// the ASR and ACD panels give the figures of the calls fed in.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildCdr, type CdrInput } from '../../src/cdr/model.js';
import { AccessTable } from '../../src/ops/access.js';
import { startOpsHttp, type OpsHttp } from '../../src/ops/http.js';
import { OpsMetrics } from '../../src/ops/metrics.js';
import { freeTcpPort } from '../helpers/redis.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/dashboards/dialgate.json'), 'utf8')) as {
  uid: string; panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[] }[];
};
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

const T = Date.UTC(2026, 10, 23, 2, 0, 0);
function cdr(over: Partial<CdrInput>) {
  return buildCdr({
    cdrId: 'x', callId: 'x', direction: 'outbound', tenant: 't', seat: '1001', callerRaw: '1001', calleeRaw: '13812345678',
    decision: 'allow', sipStatus: 200, route: 'domestic', inviteAt: T, endAt: T + 70_000, configVersion: 'v', ...over,
  });
}
const answered = (talk: number) => cdr({
  trunks: [{ trunk: 'trunk-a', sipStatus: 503, at: T + 5 }, { trunk: 'trunk-b', sipStatus: 200, at: T + 9 }],
  ringAt: T + 800, answerAt: T + 3000, billableSeconds: talk,
});
const busy = () => cdr({ sipStatus: 486, trunks: [{ trunk: 'trunk-b', sipStatus: 486, at: T + 6 }], ringAt: T + 700, answerAt: null });

describe('deploy/ monitoring files', () => {
  it('the dashboard has the panels asked for, on the provisioned data source', () => {
    const titles = dashboard.panels.map((p) => p.title).join('\n');
    for (const t of ['ASR by trunk', 'ASR by route', 'ACD by trunk', 'ACD by route', 'Attempts by final status', 'Call setup p50 / p99', 'Live calls',
      'Ledger operations p99', 'Redis errors', 'CDR write failures', 'CDR spool depth', 'Event-loop lag']) expect(titles).toContain(t);
    const ds = parseYaml(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string }[] };
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe(ds.datasources[0]!.uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(ds.datasources[0]!.uid);
    }
  });

  it('every query names only metrics dialgate exports', async () => {
    const m = new OpsMetrics({
      flood: () => ({ scannerDrops: 0, limited: { INVITE: 1 }, bans: 0, bannedNow: 0 }),
      freeswitch: () => ({ address: '127.0.0.1:8021', connected: true, sessions: 2, maxSessions: 1000, sessionsPerSecond: 1, sessionsPerSecondPeak5m: 1,
        idleCpu: 95, uptimeSeconds: 60, version: '1.10.12-release', reportedAt: T, disconnects: 0, orphansKilled: 0, lastReconcile: null }),
    });
    m.callEnded(answered(61));
    m.callEnded(busy());
    m.ledgerOp('reserve')(0.001, undefined);
    m.redisError('connection');
    const text = await m.render();
    const exported = new Set([...text.matchAll(/^([a-z_:][a-z0-9_:]*)(?:\{| )/gm)].map((x) => x[1]!));
    const used = new Set(exprs.flatMap((e) => [...e.expr.matchAll(/\b((?:dialgate|nodejs|process)_[a-z0-9_]+)/g)].map((x) => x[1]!)));
    expect(used.size).toBeGreaterThan(15);
    for (const name of used) expect(exported, name).toContain(name);
  });

  it('Prometheus scrapes /metrics with a bearer token; the compose services are optional (profile monitoring)', () => {
    const prom = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { metrics_path: string; authorization: { type: string; credentials_file: string } }[] };
    expect(prom.scrape_configs[0]).toMatchObject({ metrics_path: '/metrics', authorization: { type: 'Bearer' } });
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { profiles?: string[]; volumes?: string[] }> };
    for (const s of ['prometheus', 'grafana']) expect(compose.services[s]?.profiles).toEqual(['monitoring']);
    for (const s of ['redis', 'drachtio', 'freeswitch', 'dialgate']) expect(compose.services[s]?.profiles).toBeUndefined();
    for (const v of [...compose.services.prometheus!.volumes!, ...compose.services.grafana!.volumes!]) {
      const host = v.split(':')[0]!;
      if (host.startsWith('./') && !host.endsWith('dialgate.token')) expect(existsSync(join(ROOT, host)), host).toBe(true);
    }
  });
});

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p)) ?? null;

describe.skipIf(PROMETHEUS === null)('the dashboard queries in a real Prometheus', () => {
  let prom: ChildProcess | undefined;
  let api: OpsHttp | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-prom-'));
  afterAll(async () => {
    prom?.kill('SIGTERM');
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every query without error; ASR and ACD per trunk and route are those of the calls', async () => {
    const token = 'scrape-token-for-the-test-0123';
    const m = new OpsMetrics({ liveCalls: () => 0, up: () => true });
    api = await startOpsHttp({
      host: '127.0.0.1', port: 0, status: () => ({ drachtioConnected: true, config: { version: 'v', lastError: null }, liveCalls: 0, registeredSeats: 0 }),
      access: () => new AccessTable([{ name: 'prometheus', role: 'metrics', token }]), metrics: () => m.render(),
    });
    // The same calls before and after the first scrapes: every series exists before the counted
    // ones, and increase()'s extrapolation (capped where a counter would reach zero) is the same
    // for numerator and denominator, so the ratios come out exact.
    const batch = () => { m.callEnded(answered(61)); m.callEnded(answered(119)); m.callEnded(busy()); };
    batch();
    const port = await freeTcpPort();
    const config = readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')
      .replace('scrape_interval: 15s', 'scrape_interval: 1s')
      .replace('/etc/prometheus/dialgate.token', join(dir, 'token'))
      .replace('"127.0.0.1:8080"', `"127.0.0.1:${api.port}"`);
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    prom = spawn(PROMETHEUS!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      return await res.json() as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    };
    const waitFor = async (q: string, ok: (n: number) => boolean) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await query(q).catch(() => null);
        const v = Number(r?.data?.result[0]?.value[1]);
        if (ok(v)) return;
        if (Date.now() > deadline) throw new Error(`timed out on ${q}: ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    };
    await waitFor('count_over_time(up{job="dialgate"}[1m])', (n) => n >= 2);
    await waitFor('min_over_time(up{job="dialgate"}[1m])', (n) => n === 1); // the token was accepted on every scrape
    batch();
    await waitFor('dialgate_call_answered_seconds_count{trunk="trunk-b"}', (n) => n === 4);
    await new Promise((res) => setTimeout(res, 1500));

    const fill = (e: string) => e.replace(/\$window/g, '1m').replace(/\$__rate_interval/g, '10s');
    for (const { panel, expr } of exprs) {
      const r = await query(fill(expr));
      expect(r.status, `${panel}: ${expr} → ${r.error ?? ''}`).toBe('success');
    }
    const one = async (panel: string, legend?: (m: Record<string, string>) => boolean) => {
      const p = dashboard.panels.find((x) => x.title.startsWith(panel))!;
      const r = await query(fill(p.targets![0]!.expr));
      return Object.fromEntries(r.data.result.filter((x) => !legend || legend(x.metric)).map((x) => [Object.values(x.metric).join(' '), Number(x.value[1])]));
    };
    // Trunk A refused every INVITE; trunk B answered 2 of 3; calls on the route 2 of 3; talk 61 s and 119 s.
    const close = (got: Record<string, number>, want: Record<string, number>) => {
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [k, v] of Object.entries(want)) expect(got[k], k).toBeCloseTo(v, 9);
    };
    // A trunk that answered nothing is on the panel at 0 %, not missing from it.
    close(await one('ASR by trunk'), { 'trunk-a': 0, 'trunk-b': 2 / 3 });
    close(await one('ASR by route'), { domestic: 2 / 3 });
    close(await one('ACD by trunk'), { 'trunk-b': 90 });
    close(await one('ACD by route'), { 'outbound domestic': 90 });
  }, 60_000);
});
