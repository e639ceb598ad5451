// Everything dialgate keeps in Redis, run on a real Redis Cluster (3 masters + 3 replicas): every
// Lua script and multi-key command stays in one slot (the cluster refuses anything else with
// CROSSSLOT or "non local key"), scripts load themselves on each node (NOSCRIPT → EVAL), recovery
// finds orphans of accounts on every master, streams spread over the masters, and the ledger keeps
// working on the promoted replica after a master is killed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessLog } from '../../src/auth/access-log.js';
import { createLockout } from '../../src/auth/lockout.js';
import { createReplayGuard } from '../../src/auth/replay.js';
import { InboundState } from '../../src/calls/inbound-state.js';
import { CdrWriter } from '../../src/cdr/writer.js';
import { FraudCounters } from '../../src/fraud/counters.js';
import { ConcurrencySlots, slotKey } from '../../src/ledger/concurrency.js';
import { accountKeys } from '../../src/ledger/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { createRedisClient } from '../../src/ledger/redis-client.js';
import { createRegistrarStore } from '../../src/registrar/store.js';
import { redisUrlOf, withRedis } from '../../src/ops/commands/common.js';
import { sampleCdr } from '../cdr/fixtures.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';

const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
let cluster: RedisCluster;
let redis: Cluster;
let dir: string;

/** Which master (index in slot order) owns a key. */
async function masterIndexOf(key: string): Promise<number> {
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  const ranges = ((await redis.call('CLUSTER', 'SLOTS')) as [number, number][]).map(([a, b]) => [a, b]).sort((x, y) => x[0]! - y[0]!);
  return ranges.findIndex(([a, b]) => slot >= a! && slot <= b!);
}

/** Ten accounts: enough that every master holds some. */
const ACCOUNTS = Array.from({ length: 10 }, (_, i) => `acct-${i}`);

beforeAll(async () => {
  cluster = await startRedisCluster();
  // The app's own client: fail-fast options, Cluster mode.
  redis = createRedisClient({ kind: 'cluster', nodes: cluster.nodes.slice(0, 2) }) as Cluster;
  await new Promise<void>((r) => redis.once('ready', () => r()));
  dir = mkdtempSync(join(tmpdir(), 'dialgate-cluster-safety-'));
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('on Redis Cluster', () => {
  it('the ledger: every money step of accounts spread over all masters, and recovery finds their orphans', async () => {
    expect(new Set(await Promise.all(ACCOUNTS.map((a) => masterIndexOf(accountKeys(a).account)))).size).toBe(3);
    const alerts: string[] = [];
    const ledger = new Ledger(redis, { instanceId: 'i1', heartbeatMs: 1000, alertStreamShards: 4, onAlert: (a) => alerts.push(a.account) });
    for (const a of ACCOUNTS) {
      await ledger.createAccount(a, { tenant: 't', prepaidTotal: 100_000 });
      await ledger.topUp(a, 'init', 20_000, 'opening', T0);
      expect((await ledger.reserve(a, 'c1', { min: 1300, max: 2600 }, T0, '{}')).ok).toBe(true);
      expect((await ledger.extend(a, 'c1', { min: 1300, max: 1300 }, T0 + 1000)).ok).toBe(true);
      await ledger.heartbeat(a, 'c1', T0 + 2000, T0 + 500);
      // settle debits below 10% of the prepaid total: a low-balance alert on the sharded stream
      expect(await ledger.settle(a, 'c1', 12_000, 'cdr-1', T0 + 3000)).toMatchObject({ debited: 3900, alreadySettled: false });
      expect((await ledger.settle(a, 'c1', 12_000, 'cdr-1', T0 + 3000)).alreadySettled).toBe(true);
      await ledger.charge(a, 'fee-1', 'rent', 20_000, 'monthly rent', T0 + 4000); // more than available: arrears
      expect((await ledger.historySnapshot(a, 10))!.arrears).toBe(3900);
      await ledger.closeForArrears(a, (await ledger.getAccount(a))!.arrearsSince!, 'arrears 30 days', T0 + 5000);
      // an orphan: reserved, never heartbeated again
      await ledger.setStatus(a, 'active');
      await ledger.topUp(a, 'pay', 10_000, 'payment', T0 + 6000);
      expect((await ledger.reserve(a, 'orphan', { min: 1300, max: 1300 }, T0 + 6000, '{}')).ok).toBe(true);
    }
    const other = new Ledger(redis, { instanceId: 'i2', heartbeatMs: 1000 });
    const out = await other.recoverOrphans(T0 + 60_000, () => 0);
    expect(out.filter((o) => o.callId === 'orphan').map((o) => [o.account, o.outcome]).sort())
      .toEqual(ACCOUNTS.map((a) => [a, 'released']).sort());
    for (const a of ACCOUNTS) expect(await ledger.getAccount(a)).toMatchObject({ reserved: 0, balance: 10_000 - 3900, arrears: 0 });
    // Alerts: one per account, on the four shards together, spread over more than one master.
    expect(alerts.length).toBeGreaterThanOrEqual(ACCOUNTS.length);
    const onStream = await ledger.alertStream.range(redis);
    expect(onStream.filter((e) => e.fields.type === 'low-balance').map((e) => e.fields.account).sort()).toEqual([...alerts].sort());
    expect(new Set(await Promise.all(ledger.alertStream.keys.map(masterIndexOf))).size).toBeGreaterThan(1);
  });

  it('CDRs: once per cdrId across 8 shards on every master, each shard with its own marker', async () => {
    const writer = new CdrWriter({ redis, dir, shards: 8 });
    expect(new Set(await Promise.all(writer.streams.keys.map(masterIndexOf))).size).toBe(3);
    const ids = Array.from({ length: 60 }, (_, i) => `cdr-${i}`);
    // A hot tenant: all 60 CDRs of one tenant, each written twice.
    const results = await Promise.all(ids.flatMap((id) => [writer.write(sampleCdr({ cdrId: id })), writer.write(sampleCdr({ cdrId: id }))]));
    expect(results.filter((r) => r === 'written')).toHaveLength(60);
    const all = await writer.streams.range(redis);
    expect(all.map((e) => e.fields.cdrId).sort()).toEqual([...ids].sort());
    const perShard = new Map<string, number>();
    for (const e of all) perShard.set(e.key, (perShard.get(e.key) ?? 0) + 1);
    expect(perShard.size).toBe(8); // no shard left out
    expect(Math.max(...perShard.values())).toBeLessThan(20);
    await writer.flush();
  });

  it('auth, registrations, slots, fraud counters and 400 state: one slot per script and transaction', async () => {
    const log = pino({ level: 'silent' });
    const lockout = createLockout(redis, { maxFailuresPerUserSource: 2 });
    expect(await lockout.check('1001', '10.0.0.1', T0)).toEqual({ locked: false, failuresPending: false });
    await lockout.recordFailure('1001', '10.0.0.1', T0);
    expect((await lockout.recordFailure('1001', '10.0.0.1', T0 + 1)).locked).toBe(true);
    await lockout.recordSuccess('1001', '10.0.0.2', T0 + 2, true);
    expect(await createReplayGuard(redis).accept('nonce-1', 1, 60_000)).toBe(true);
    expect(await createReplayGuard(redis).accept('nonce-1', 1, 60_000)).toBe(false);
    // The lockout's read taking the nonce-count along: separate commands on Cluster, same answers.
    const nonce2 = createReplayGuard(redis).use!('nonce-2', 1, 60_000)!;
    expect(await lockout.check('1009', '10.0.0.3', T0, nonce2)).toEqual({ locked: false, failuresPending: false, nonceFresh: true });
    expect((await lockout.check('1009', '10.0.0.3', T0, nonce2)).nonceFresh).toBe(false);
    const access = createAccessLog(redis, log, { shards: 3 });
    await Promise.all([1, 2, 3].map((i) => access.record({ at: T0 + i, method: 'INVITE', user: '1001', ip: '10.0.0.1', outcome: 'accepted' })));
    const reg = createRegistrarStore(redis);
    for (const aor of ['1001', '1002', '1003', '1004']) {
      expect((await reg.register({ aor, contact: `sip:${aor}@10.0.0.9`, source: '10.0.0.9:5060', transport: 'udp', expires: 120, callId: `r-${aor}`, cseq: 1 }, T0)).kind).toBe('ok');
    }
    expect(await reg.count(T0 + 1)).toEqual({ aors: 4, contacts: 4 });
    expect((await reg.unregister('1001', '*', T0 + 2, { callId: 'r-1001', cseq: 2 })).kind).toBe('ok');
    expect((await reg.lookup('1002', T0 + 3)).map((b) => b.contact)).toEqual(['sip:1002@10.0.0.9']);
    const slots = new ConcurrencySlots(redis);
    expect((await slots.acquire(slotKey('tenant', 't1'), 'c1', 1, 60_000)).ok).toBe(true);
    expect((await slots.acquire(slotKey('tenant', 't1'), 'c2', 1, 60_000)).ok).toBe(false);
    expect(await slots.release(slotKey('tenant', 't1'), 'c1')).toBe(true);
    // Sets in different slots: one read per key on Cluster.
    expect((await slots.acquire(slotKey('trunk', 'b'), 'c2', 2, 60_000)).ok).toBe(true);
    expect(await slots.countMany([slotKey('tenant', 't1'), slotKey('trunk', 'a'), slotKey('trunk', 'b')])).toEqual([0, 0, 1]);
    // The decision's read (account + counts) on Cluster: the same answer as the parts.
    const view = new Ledger(redis, { instanceId: 'i4' });
    await view.createAccount('acct-view', { tenant: 't1', prepaidTotal: 0 });
    const [acct, counts] = await view.accountAndSlotCounts('acct-view', slots, [slotKey('tenant', 't1'), slotKey('trunk', 'b')]);
    expect(acct).toEqual(await view.getAccount('acct-view'));
    expect(counts).toEqual([0, 1]);
    await slots.releaseMany([{ key: slotKey('trunk', 'b'), member: 'c2' }, { key: slotKey('tenant', 't1'), member: 'c1' }]);
    expect(await slots.count(slotKey('trunk', 'b'))).toBe(0);
    const fraud = new FraudCounters(redis);
    expect(await fraud.admit('t1', '13800000000', T0, 'Asia/Shanghai', { maxCallsPerSecond: 5 })).toEqual({ ok: true });
    expect(await fraud.addSpend('t1', 'res-1', 5000, T0, 'Asia/Shanghai', { maxSpendPerHour: 4000 })).toHaveLength(1);
    expect((await fraud.view('t1', '13800000000', T0, 'Asia/Shanghai')).spentThisHour).toBe(5000);
    const inbound = new InboundState(redis);
    await inbound.answered('m1', T0);
    expect((await inbound.take('4008001234', 'g1', 'longest-idle', T0)).busy.has('m1')).toBe(true);
    expect(await inbound.countMissed('4008001234', '2026-11-23')).toBe(1);
  });

  it('the CLI reaches the cluster from --redis host:port,host:port (or DIALGATE_REDIS_CLUSTER)', async () => {
    const target = redisUrlOf(cluster.seedList)!;
    expect(target.kind).toBe('cluster');
    const acct = await withRedis(target, (r) => new Ledger(r, { instanceId: 'cli' }).getAccount('acct-3'));
    expect(acct).toMatchObject({ id: 'acct-3', reserved: 0 });
    expect(() => redisUrlOf('127.0.0.1:7000,nonsense')).toThrow('"nonsense" is not host:port');
  });

  it('scripts reload on a node that lost them (NOSCRIPT → EVAL), and the ledger goes on on a promoted replica', async () => {
    const ledger = new Ledger(redis, { instanceId: 'i3', heartbeatMs: 1000 });
    for (const m of redis.nodes('master')) await m.script('FLUSH');
    expect((await ledger.reserve('acct-0', 'after-flush', { min: 1300, max: 1300 }, T0 + 7000, '{}')).ok).toBe(true);
    await ledger.release('acct-0', 'after-flush', T0 + 7001);
    // Kill the master of one account's slot; its replica takes over with the data.
    const victim = ACCOUNTS[0]!;
    const idx = await masterIndexOf(accountKeys(victim).account);
    const before = (await ledger.getAccount(victim))!;
    // killMaster waits for the replica to acknowledge what was written so far (a WAIT, not a sleep).
    const f = await cluster.killMaster(idx);
    expect(f.promotionMs).toBeLessThan(10_000);
    // ioredis learns the new master (MOVED / slot refresh) within a few seconds (longer on a loaded machine).
    const deadline = Date.now() + 20_000;
    let r: Awaited<ReturnType<Ledger['reserve']>> | undefined;
    let lastError = '';
    while (!r && Date.now() < deadline) {
      r = await ledger.reserve(victim, 'after-failover', { min: 1300, max: 1300 }, T0 + 8000, '{}').catch((e: Error) => { lastError = e.message; return undefined; });
      if (!r) await new Promise((res) => setTimeout(res, 100));
    }
    expect(r?.ok, `no reserve within 20 s of the promotion; last error: ${lastError}`).toBe(true);
    expect(await ledger.settle(victim, 'after-failover', 1300, 'cdr-x', T0 + 9000)).toMatchObject({ debited: 1300 });
    expect((await ledger.getAccount(victim))!.balance).toBe(before.balance - 1300);
  }, 60_000);
});
