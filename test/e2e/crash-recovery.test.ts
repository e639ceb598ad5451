// Crash recovery end to end (issue 4 §6, acceptance: "kill -9 of the app with calls up, restart:
// balances and CDRs reconcile; nothing credited or debited twice").
//
// dialgate runs as a real child process (`node src/dialgate.js serve --config DIR`), pointed at the
// drachtio and FreeSWITCH stand-ins and a redis-server with an append-only file, all started here.
// Seats (sipp) place calls that trunks (sipp) answer and hold; mid-call the account is topped up
// through the CLI, then the app is killed with SIGKILL. A second instance started after the
// heartbeats went stale must settle every orphan exactly once by the documented rule (billable =
// lastHeartbeat + heartbeatMs − answeredAt), write one CDR per call marked recovered, and leave
// balance = credits − Σ settled costs with nothing reserved. Retrying the top-up and recovering
// again (a third instance, and the recovery function called directly) change nothing.
//
// The wall clock cannot be injected into a child process, so the tenant's window is open all day.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../src/cdr/model.js';
import { accountKeys } from '../../src/ledger/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { Reservation, SettleResult } from '../../src/ledger/types.js';
import { startDrachtio, type DrachtioStandIn } from '../bench/drachtio/standin.js';
import { startFreeSwitch, type FreeSwitchStandIn } from '../bench/freeswitch/index.js';
import { freeUdpPort, startSipp, type SippProcess } from '../bench/sipp.js';
import { freeTcpPort, startRedis, type RedisInstance } from '../helpers/redis.js';
import { readCdrsIn, SEATS, startTrunk, writeFixtureConfig } from './harness.js';
import { injection, seatCall } from './scenarios.js';
import { children, startServe, type ServeChild } from './serve-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIALGATE = join(ROOT, 'src', 'dialgate.js');
const ACCT = 'telesales';
const HEARTBEAT_MS = 1000;
/** Ledger.staleMs default: a reservation without a heartbeat for this long is an orphan. */
const STALE_MS = 3 * HEARTBEAT_MS;
/** 0.60 yuan/min billed per second (1/1): every started second costs exactly 100 units. */
const RATE = '0.6';
const UNITS_PER_SECOND = 100;
const INITIAL = 1_000_000; // 100 yuan
const TOPUP_YUAN = '50';
const TOPUP = 500_000;
const TOPUP_ID = 'pay-20261123-0001';
const CALLEES = ['13812340001', '13812340002', '13812340003', '13812340004'];

/** `dialgate account ...` through the real CLI; parses --json output. */
function cli(args: string[], redisUrl: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [DIALGATE, ...args, '--redis', redisUrl, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    proc.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, out, err });
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything money-related about the account, for before/after comparisons. */
async function snapshot(redis: Redis, ledger: Ledger, dir: string) {
  const k = accountKeys(ACCT);
  return {
    account: await redis.hgetall(k.account),
    reservations: await redis.hgetall(k.reservations),
    history: await ledger.history(ACCT, 1000),
    cdrStream: await redis.xlen('dialgate:cdr'),
    cdrFiles: readCdrsIn(dir).length,
    live: (await ledger.liveIndex(ACCT)).size,
  };
}

describe('kill -9 with calls up, then restart', () => {
  let dir: string;
  let redis: RedisInstance;
  let drachtio: DrachtioStandIn;
  let fs: FreeSwitchStandIn;
  let client: Redis;
  let ledger: Ledger;
  let env: Record<string, string>;
  const sipps: SippProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dialgate-crash-'));
    const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    writeFixtureConfig(dir, { trunkPorts, window: '00:00-24:00', increments: '1/1', ratePerMinute: RATE, warningSeconds: 1 });
    // No fixed ports: the ops HTTP listener gets a free one (the rest comes from the environment).
    const yamlPath = join(dir, 'dialgate.yaml');
    const yaml = readFileSync(yamlPath, 'utf8');
    writeFileSync(yamlPath, yaml.replace(/port: 18080/, `port: ${await freeTcpPort()}`));
    redis = await startRedis({ appendOnly: true });
    drachtio = await startDrachtio({ recordFrames: false });
    fs = await startFreeSwitch({ defaultPlaybackMs: 200 });
    env = {
      DIALGATE_REDIS_URL: redis.url,
      DIALGATE_DRACHTIO_HOST: '127.0.0.1',
      DIALGATE_DRACHTIO_PORT: String(drachtio.adminPort),
      DIALGATE_DRACHTIO_SECRET: 'cymru',
      DIALGATE_ESL_HOST: '127.0.0.1',
      DIALGATE_ESL_PORT: String(fs.eslPort),
      DIALGATE_ESL_PASSWORD: fs.password,
      DIALGATE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      DIALGATE_LOG_LEVEL: 'debug', // 'outbound call answered' is a debug line,
    };
    client = redis.client();
    ledger = new Ledger(client, { instanceId: 'test-observer', heartbeatMs: HEARTBEAT_MS });
    await ledger.createAccount(ACCT, { tenant: 'telesales', prepaidTotal: INITIAL });
    await ledger.topUp(ACCT, 'initial', INITIAL, 'test deposit');
    sipps.push(await startTrunk(trunkPorts[0], { answer: 200, hangup: 'wait' }));
  });

  afterAll(async () => {
    // Never leave a dialgate child behind, whatever failed.
    await Promise.all([...children].map((c) => c.kill('SIGKILL')));
    await Promise.all(sipps.map((s) => s.stop()));
    client?.disconnect();
    await drachtio?.stop();
    await fs?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('settles every orphaned call exactly once, marks its CDR recovered, and never credits or debits twice', async () => {
    // ── 1. a first instance with calls up ──────────────────────────────────────────────────
    const first = await startServe(dir, env);
    // One sipp per callee: each digest names its own Request-URI.
    for (const c of CALLEES) {
      sipps.push(await startSipp({
        scenario: seatCall({ expect: 200, holdMs: 120_000 }),
        target: `127.0.0.1:${drachtio.sipPort}`,
        calls: 1,
        timeoutMs: 150_000,
        injectionFile: injection([['1001', SEATS['1001'], c, '1001']]),
        auth: { username: '1001', password: SEATS['1001'], uri: `${c}@127.0.0.1:${drachtio.sipPort}` },
      }));
    }
    // All calls answered (the reservation records the answer) ...
    await until('every call answered', async () => {
      const rs = await ledger.reservations(ACCT);
      return rs.length === CALLEES.length && rs.every((r) => r.answeredAt > 0) ? rs : undefined;
    });
    // ... and a top-up while they talk (the real CLI, an idempotent entry with an id).
    const topup = await cli(['account', 'topup', ACCT, TOPUP_YUAN, '--id', TOPUP_ID, '--note', 'bank transfer'], redis.url);
    expect(topup.code, topup.err).toBe(0);
    expect(JSON.parse(topup.out)).toMatchObject({ duplicate: false });
    // At least two heartbeats after the answer of every call, so the rule has something to bill.
    await until('heartbeats after the answer', async () => {
      const rs = await ledger.reservations(ACCT);
      return rs.every((r) => r.lastHeartbeat >= r.answeredAt + 2 * HEARTBEAT_MS) ? true : undefined;
    });
    expect(first.logs.filter((l) => l.msg === 'outbound call answered')).toHaveLength(CALLEES.length);
    // Nothing settled yet: the money is only reserved.
    const midCall = await ledger.getAccount(ACCT);
    expect(midCall).toMatchObject({ balance: INITIAL + TOPUP, debits: 0 });
    expect(midCall!.reserved).toBeGreaterThan(0);
    expect(readCdrsIn(dir)).toHaveLength(0);

    // ── 2. kill -9 mid-call ───────────────────────────────────────────────────────────────────
    await first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // Orphans are recognised once their last heartbeat is staleMs old.
    const lastBeat = Math.max(...(await ledger.reservations(ACCT)).map((r) => r.lastHeartbeat));
    await sleep(Math.max(0, lastBeat + STALE_MS + 300 - Date.now()));
    const orphans: Reservation[] = await ledger.reservations(ACCT);
    expect(orphans).toHaveLength(CALLEES.length);
    // The documented rule, computed independently: billable = lastHeartbeat + heartbeatMs − answeredAt
    // (recovery runs later than that), priced per started second.
    const expected = new Map(orphans.map((r) => {
      const billableMs = r.lastHeartbeat + HEARTBEAT_MS - r.answeredAt;
      const seconds = Math.ceil(billableMs / 1000);
      return [r.callId, { seconds, cost: seconds * UNITS_PER_SECOND, answeredAt: r.answeredAt, billableMs }];
    }));
    const totalCost = [...expected.values()].reduce((s, e) => s + e.cost, 0);
    for (const e of expected.values()) expect(e.seconds).toBeGreaterThanOrEqual(3);

    // ── 3. a new instance recovers at start ───────────────────────────────────────────────────
    const second = await startServe(dir, env);
    const recoveredLogs = second.logs.filter((l) => l.msg === 'orphaned call settled by recovery');
    expect(recoveredLogs.map((l) => l.callId).sort()).toEqual([...expected.keys()].sort());

    // Settlement records: one per call, by recovery, for exactly the rule's cost.
    for (const [callId, e] of expected) {
      const raw = await client.get(accountKeys(ACCT).settlement(callId));
      expect(raw, callId).not.toBeNull();
      const s = JSON.parse(raw!) as SettleResult;
      expect(s).toMatchObject({ kind: 'recovered', recovered: true, debited: e.cost, shortfall: 0 });
      expect(s.cdrRef).toMatch(/^recovered:/);
    }
    // Balance = credits − Σ settled costs; nothing left reserved or indexed as live.
    const acct = await ledger.getAccount(ACCT);
    expect(acct).toMatchObject({
      balance: INITIAL + TOPUP - totalCost, reserved: 0, available: INITIAL + TOPUP - totalCost,
      credits: INITIAL + TOPUP, debits: totalCost, arrears: 0,
    });
    expect(await ledger.reservations(ACCT)).toEqual([]);
    expect((await ledger.liveIndex(ACCT)).size).toBe(0);
    // History: each credit once, exactly one settlement per call, and it sums to the balance.
    const history = await ledger.history(ACCT, 1000);
    expect(history.filter((h) => h.type === 'topup').map((h) => [h.id, h.amount]).sort()).toEqual([['initial', INITIAL], [TOPUP_ID, TOPUP]].sort());
    const calls = history.filter((h) => h.type === 'call');
    expect(calls.map((h) => h.id).sort()).toEqual([...expected.keys()].map((c) => `call:${c}`).sort());
    for (const h of calls) expect(h.amount).toBe(-expected.get(h.id.slice('call:'.length))!.cost);
    expect(history.reduce((s, h) => s + h.amount, 0)).toBe(acct!.balance);
    expect(history).toHaveLength(2 + CALLEES.length);

    // CDRs: one per call (total = calls), each marked recovered, billed by the rule, cost = debit.
    const cdrs: Cdr[] = readCdrsIn(dir);
    expect(cdrs).toHaveLength(CALLEES.length);
    expect(await client.xlen('dialgate:cdr')).toBe(CALLEES.length);
    expect(cdrs.map((c) => c.callId).sort()).toEqual([...expected.keys()].sort());
    for (const c of cdrs) {
      const e = expected.get(c.callId)!;
      expect(c).toMatchObject({
        recovered: true, decision: 'allow', tenant: 'telesales', seat: '1001', sipStatus: 200,
        hangupBy: 'system', hangupCause: 'recovered-after-crash',
        answerAt: e.answeredAt, endAt: e.answeredAt + e.billableMs,
        billableSeconds: e.seconds, billedSeconds: e.seconds, cost: e.cost,
      });
      expect(CALLEES).toContain(c.calleeNormalised);
    }
    // The last settlement's balance-after is the account's balance.
    expect(Math.min(...cdrs.map((c) => c.balanceAfter!))).toBe(acct!.balance);

    // ── 4. nothing twice ──────────────────────────────────────────────────────────────────────
    const settled = await snapshot(client, ledger, dir);
    // A retried top-up with the same id credits nothing.
    const retry = await cli(['account', 'topup', ACCT, TOPUP_YUAN, '--id', TOPUP_ID, '--note', 'bank transfer (retry)'], redis.url);
    expect(retry.code, retry.err).toBe(0);
    expect(JSON.parse(retry.out)).toMatchObject({ duplicate: true });
    expect(await snapshot(client, ledger, dir)).toEqual(settled);

    // Another restart recovers nothing more.
    await second.kill('SIGTERM');
    const third = await startServe(dir, env);
    expect(third.logs.filter((l) => l.msg === 'orphaned call settled by recovery')).toEqual([]);
    expect(await snapshot(client, ledger, dir)).toEqual(settled);

    // Recovery run directly, even as if far in the future and with a price to charge, finds nothing;
    // settling a call again by any path returns the first result and changes nothing.
    const again = await ledger.recoverOrphans(Date.now() + 3_600_000, () => 12_345);
    expect(again.filter((o) => o.outcome === 'settled' || o.outcome === 'released')).toEqual([]);
    for (const callId of expected.keys()) {
      expect(await ledger.settleAs('recovered', ACCT, callId, 99, 'recovered:test', Date.now())).toMatchObject({ alreadySettled: true, debited: expected.get(callId)!.cost });
      expect(await ledger.settle(ACCT, callId, 99, `out-${callId}`)).toMatchObject({ alreadySettled: true });
    }
    expect(await snapshot(client, ledger, dir)).toEqual(settled);
    await third.kill('SIGTERM');
  }, 60_000);
});
