// CLI smoke tests: the real `dialgate` entry point (node src/dialgate.js, tsx-registered) as an
// admin runs it, against temp config directories and a real redis-server.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpsHttp } from '../../src/ops/http.js';
import { sampleCdr, T } from '../cdr/fixtures.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SHIPPED = join(ROOT, 'config');
const CALLEE = '13812345678';

interface Result { code: number; stdout: string; stderr: string }

function dialgate(args: string[], env: Record<string, string> = {}, entry = 'src/dialgate.js'): Promise<Result> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DIALGATE_'))) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, entry), ...args], { cwd: ROOT, env: { ...base, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A user mistake: one line on stderr, no stack trace. */
function expectOneLiner(r: Result, pattern: RegExp): void {
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

let tmp: string;
let redis: RedisInstance;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'dialgate-cli-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('dialgate CLI', () => {
  it('--help lists every command with a description', async () => {
    const r = await dialgate(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'explain', 'config check', 'account create', 'account show', 'account topup', 'account adjust', 'account history',
      'billing close-month', 'billing close-day', 'billing statement', 'account status', 'complaint add', 'cdr query', 'cdr export', 'status']) {
      expect(r.stdout).toMatch(new RegExp(`dialgate ${c}\\b.*\\S`));
    }
  });

  it('the compiled build (dist/cli.js, what production runs) decides exactly like the sources', async () => {
    expect(existsSync(join(ROOT, 'dist/cli.js')), 'dist/cli.js missing: npm test builds it (npm run build)').toBe(true);
    const args = ['explain', '--config', SHIPPED, '--seat', '1001', '--to', CALLEE, '--at', '2026-03-02T20:00:00+08:00'];
    const [fromSources, fromDist] = await Promise.all([dialgate(args), dialgate(args, {}, 'dist/cli.js')]);
    expect(fromDist.code).toBe(fromSources.code);
    expect(fromDist.stdout).toBe(fromSources.stdout);
    expect(JSON.parse(fromDist.stdout)).toMatchObject({ decision: 'deny', reason: 'outside-window' });
    const check = await dialgate(['config', 'check', SHIPPED], {}, 'dist/cli.js');
    expect(check.code).toBe(0);
  });

  it('usage mistakes exit 2 with a one-line message', async () => {
    const r1 = await dialgate(['explain', '--bogus']);
    expect(r1.code).toBe(2);
    expectOneLiner(r1, /unknown option '--bogus'/);
    const r2 = await dialgate(['explain', '--config', SHIPPED, '--seat', '1001', '--to', CALLEE, '--at', 'tomorrow']);
    expect(r2.code).toBe(2);
    expectOneLiner(r2, /^dialgate: "tomorrow" is not a time/);
    const r3 = await dialgate(['account', 'topup', 'acct', '1']);
    expect(r3.code).toBe(2);
    expectOneLiner(r3, /required option '--id/);
  });

  it('config check: 0 on the shipped config; 1 on a broken one, naming file:line and field', async () => {
    const ok = await dialgate(['config', 'check', SHIPPED]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok, version [0-9a-f]{12}/);
    const dir = join(tmp, 'broken');
    cpSync(SHIPPED, dir, { recursive: true });
    const tenants = join(dir, 'tenants.yaml');
    writeFileSync(tenants, readFileSync(tenants, 'utf8').replace('"08:00-19:30"', '"08:00-25:00"'));
    const bad = await dialgate(['config', 'check', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/error tenants\.yaml:\d+:\d+ tenants\[0\]\.window\.weekly\.all\[0\]: .*25/);
  });

  it('explain prints the decision JSON: deny at 20:00, allow at 10:00 Beijing', async () => {
    const base = ['explain', '--config', SHIPPED, '--seat', '1001', '--to', CALLEE];
    const late = await dialgate([...base, '--at', '2026-11-23T20:00:00+08:00']);
    expect(late.code).toBe(0);
    expect(JSON.parse(late.stdout)).toMatchObject({ decision: 'deny', reason: 'outside-window', sipStatus: 403, reasonHeader: expect.stringContaining('cause=403') });
    const day = await dialgate([...base, '--at', '2026-11-23T10:00', '--balance', '1.00']);
    const j = JSON.parse(day.stdout);
    expect(j).toMatchObject({ decision: 'allow', maxDurationSeconds: 420, balance: { source: 'argument' } });
    expect(j.trunks.map((t: { trunk: string }) => t.trunk)).toEqual(['trunk-a', 'trunk-b']);
    expect(day.stdout).not.toMatch(/demo-100\d|cymru|ClueCon|ha1/);
  });

  it('explain --inbound decides a carrier call to a 400 number with the live inbound pipeline', async () => {
    const base = ['explain', '--config', SHIPPED, '--inbound', '--to', '4008050508', '--from', '01062345678'];
    const day = await dialgate([...base, '--source', '127.0.0.1', '--at', '2026-11-23T10:00:00+08:00']);
    expect(day.code).toBe(0);
    const j = JSON.parse(day.stdout);
    expect(j.decision.kind).toBe('connect');
    expect(j.decision.trace.map((t: { step: string }) => t.step)).toContain('region');
    // Not one of the carriers' addresses: refused like an unknown number, whatever the time.
    const stranger = await dialgate([...base, '--source', '192.0.2.7', '--at', '2026-11-23T10:00:00+08:00']);
    expect(JSON.parse(stranger.stdout).decision).toMatchObject({ kind: 'reject', reason: 'unknown-source' });
  });

  it('explain what-if: --proposed and --calls report the window change', async () => {
    const dir = join(tmp, 'proposed');
    cpSync(SHIPPED, dir, { recursive: true });
    const tenants = join(dir, 'tenants.yaml');
    writeFileSync(tenants, readFileSync(tenants, 'utf8').replace('"08:00-19:30"', '"09:00-18:00"'));
    const csv = join(tmp, 'calls.csv');
    writeFileSync(csv, `from,to,time,tenant\n,${CALLEE},2026-11-23T08:30,telesales\n,${CALLEE},2026-11-23T12:00,telesales\n`);
    const r = await dialgate(['explain', '--config', SHIPPED, '--proposed', dir, '--calls', csv, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ calls: 2, changed: 1, allowToDeny: 1, rows: [{ line: 2, proposed: { reason: 'outside-window' } }] });
    const text = await dialgate(['explain', '--config', SHIPPED, '--proposed', dir, '--calls', csv]);
    expect(text.stdout).toMatch(/2 call\(s\): 1 changed, 1 unchanged/);
  });

  it('account topup is idempotent per --id against a real redis', async () => {
    const env = { DIALGATE_REDIS_URL: redis.url };
    expect((await dialgate(['account', 'create', 'acme', '--tenant', 'acme', '--prepaid-total', '11000'], env)).stdout).toMatch(/created account acme/);
    const first = await dialgate(['account', 'topup', 'acme', '100.13', '--id', 'pay-1'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/credited 100\.13 yuan to acme \(entry pay-1\); balance 100\.13 yuan/);
    const again = await dialgate(['account', 'topup', 'acme', '100.13', '--id', 'pay-1', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ duplicate: true, balanceAfterYuan: '100.13' });
    const adj = await dialgate(['account', 'adjust', 'acme', '-0.13', '--id', 'adj-1'], env);
    expect(adj.stdout).toMatch(/balance 100\.00 yuan/);
    const show = JSON.parse((await dialgate(['account', 'show', 'acme'], env)).stdout);
    expect(show).toMatchObject({ balanceYuan: '100.00', units: { balance: 1_000_000 } });
    const hist = JSON.parse((await dialgate(['account', 'history', 'acme', '--json'], env)).stdout) as { id: string }[];
    expect(hist.map((h) => h.id)).toEqual(['adj-1', 'pay-1']);
    const fine = await dialgate(['account', 'topup', 'acme', '0.00001', '--id', 'pay-2'], env);
    expect(fine.code).toBe(2);
    expectOneLiner(fine, /4 decimals/);
    const missing = await dialgate(['account', 'topup', 'ghost', '1', '--id', 'p'], env);
    expect(missing.code).toBe(1);
    expectOneLiner(missing, /no ledger account ghost/);
    const down = await dialgate(['account', 'show', 'acme', '--redis', 'redis://:pw@127.0.0.1:1']);
    expect(down.code).toBe(3);
    expectOneLiner(down, /cannot connect to Redis at redis:\/\/:\[redacted\]@127\.0\.0\.1:1/);
  });

  it('complaint add deducts once and appends the number to the tenant do-not-call file', async () => {
    const dir = join(tmp, 'complaint');
    cpSync(SHIPPED, dir, { recursive: true });
    const env = { DIALGATE_REDIS_URL: redis.url };
    await dialgate(['account', 'create', 'telesales', '--tenant', 'telesales'], env);
    await dialgate(['account', 'topup', 'telesales', '2000', '--id', 'dep-1'], env);
    const args = ['complaint', 'add', '--config', dir, '--tenant', 'telesales', '--number', '+86 138 1234 5678', '--id', 'C-1'];
    const r = await dialgate(args, env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/deducted 1000\.00 yuan from telesales .* balance 1000\.00 yuan/);
    expect(r.stdout).toMatch(/added 13812345678 to tenant telesales's do-not-call list lists\/dnc\.txt/);
    expect(readFileSync(join(dir, 'lists/dnc.txt'), 'utf8')).toMatch(/\n13812345678 {2}# complaint C-1 /);
    const again = await dialgate(args, env);
    expect(again.stdout).toMatch(/duplicate: complaint C-1/);
    expect(again.stdout).toMatch(/already on tenant telesales's do-not-call list/);
    expect(readFileSync(join(dir, 'lists/dnc.txt'), 'utf8').match(/13812345678/g)).toHaveLength(1);
    const explained = JSON.parse((await dialgate(['explain', '--config', dir, '--seat', '1001', '--to', CALLEE, '--at', '2026-11-23T10:00'])).stdout);
    expect(explained).toMatchObject({ decision: 'deny', reason: 'blacklisted' });
    // explain --redis reads the account as a live call does: 2000 − 1000 yuan left.
    const withLedger = JSON.parse((await dialgate(['explain', '--config', dir, '--seat', '1001', '--to', '13812340000', '--at', '2026-11-23T10:00', '--redis', redis.url])).stdout);
    expect(withLedger).toMatchObject({ decision: 'allow', balance: { source: 'redis', availableYuan: '1000.00' }, activeCalls: 0 });
  });

  it('billing close-day and statement: mistakes are one-liners, nothing charged', async () => {
    const env = { DIALGATE_REDIS_URL: redis.url };
    await dialgate(['account', 'create', 'telesales', '--tenant', 'telesales'], env);
    const notOver = await dialgate(['billing', 'close-day', '2026-03-10', '--config', SHIPPED, '--at', '2026-03-10T23:00:00+08:00'], env);
    expect(notOver.code).toBe(2);
    expectOneLiner(notOver, /^dialgate: 2026-03-10 is not over yet/);
    const badDay = await dialgate(['billing', 'close-day', '2026-02-30', '--config', SHIPPED, '--at', '2026-04-01T00:00:00+08:00'], env);
    expect(badDay.code).toBe(2);
    expectOneLiner(badDay, /no such day: 2026-02-30/);
    // default day: yesterday in the config's zone; nothing owed, nothing charged
    const quiet = await dialgate(['billing', 'close-day', '--config', SHIPPED, '--at', '2026-03-10T00:05:00+08:00'], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toMatch(/^2026-03-09: \d+ account\(s\) checked, 0 in arrears; no ledger account: /m);
    const unknown = await dialgate(['billing', 'statement', 'nobody', '2026-03', '--config', SHIPPED], env);
    expect(unknown.code).toBe(2);
    expectOneLiner(unknown, /no tenant nobody in the config/);
    const badMonth = await dialgate(['billing', 'statement', 'telesales', '2026-13', '--config', SHIPPED], env);
    expect(badMonth.code).toBe(2);
    expectOneLiner(badMonth, /month must be YYYY-MM/);
    const both = await dialgate(['billing', 'statement', 'telesales', '2026-03', '--csv', '--html', '--config', SHIPPED], env);
    expect(both.code).toBe(2);
    const status = await dialgate(['account', 'status', 'telesales', 'frozen'], env);
    expect(status.code).toBe(2);
    expectOneLiner(status, /status must be one of active, suspended, closed/);
  });

  it('cdr query and export read the daily files', async () => {
    const dir = join(tmp, 'cdr');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cdr-2025-03-01.jsonl'), `${JSON.stringify(sampleCdr())}\n`);
    writeFileSync(join(dir, 'cdr-2025-03-02.jsonl'), `${JSON.stringify(sampleCdr({ cdrId: 'cdr-2', tenant: 'other', inviteAt: T + 86_400_000, endAt: T + 86_400_000 + 80_000, ringAt: null, answerAt: null }))}\n`);
    const q = await dialgate(['cdr', 'query', '--dir', dir, '--tenant', 'acme']);
    expect(q.code).toBe(0);
    expect(q.stdout.trim().split('\n')).toHaveLength(1);
    expect(q.stdout).toContain('cdr-1');
    const day = await dialgate(['cdr', 'query', '--dir', dir, '--from', '2025-03-02', '--json']);
    expect(JSON.parse(day.stdout)).toMatchObject({ cdrId: 'cdr-2' });
    const out = join(tmp, 'export.csv');
    const e = await dialgate(['cdr', 'export', '--dir', dir, '--to', '2025-03-01', '--out', out]);
    expect(e.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\r\n').filter(Boolean)).toHaveLength(2);
    const stdout = await dialgate(['cdr', 'export', '--dir', dir]);
    expect(stdout.stdout.split('\r\n')[0]).toMatch(/^cdrId,callId,/);
  });

  it('status prints the server health and exits by it', async () => {
    const since = Date.UTC(2026, 10, 27, 2, 0, 0);
    const srv = await startOpsHttp({ host: '127.0.0.1', port: 0, token: 'tok', status: () => ({
      drachtioConnected: true, config: { version: 'v1', lastError: null }, liveCalls: 0, registeredSeats: 1,
    }), agents: {
      list: async () => [{ seat: '1001', tenant: 'telesales', name: 'a', state: 'away', since, calls: 0, away: true, wrapUpUntil: null, registered: true }],
      set: async () => null,
    } });
    try {
      const ok = await dialgate(['status', '--url', srv.url, '--token', 'tok']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'ok', config: { version: 'v1' } });
      // Issue 13: the agents, each with seat, tenant, state, since and registration.
      expect(JSON.parse(ok.stdout).agents).toEqual([{ seat: '1001', tenant: 'telesales', state: 'away', since: '2026-11-27T02:00:00.000Z', registered: true }]);
      const noToken = await dialgate(['status', '--url', srv.url]);
      expect(noToken.code).toBe(3);
      expectOneLiner(noToken, /requires a token/);
    } finally {
      await srv.close();
    }
    const down = await dialgate(['status', '--url', 'http://127.0.0.1:1']);
    expect(down.code).toBe(3);
    expectOneLiner(down, /cannot reach dialgate at http:\/\/127\.0\.0\.1:1/);
  });
});
