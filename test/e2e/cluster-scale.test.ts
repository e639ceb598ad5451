// Issue 15 on a real Redis Cluster (3 masters + 3 replicas) shared by two dialgate instances that
// the drachtio stand-in hands calls to in turn: one account's 200 simultaneous calls spread over
// both (no overdraft, one CDR each, Σ cost = balance change), and a master killed under load
// (its replica promoted): calls arriving meanwhile get 503 within a second or connect, and
// afterwards every attempt has one CDR and every reservation is settled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountKeys } from '../../src/ledger/keys.js';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { injection, seatCallOrDeny } from './scenarios.js';
import { readCdrs, SEATS, sharedCluster, startBench, stopSharedRedis, startTrunk, waitForCdrs, type Bench } from './harness.js';

process.env.DIALGATE_TEST_REDIS = 'cluster';
afterAll(stopSharedRedis);

const MINUTE = 1300; // 0.13 yuan per started minute (004 §3.1)
const AT = '2026-11-23T10:00:00+08:00';

const calls = (bench: Bench, n: number, rate: number, holdMs: number, deny: number) => runSipp({
  scenario: seatCallOrDeny(deny, holdMs), target: bench.sipTarget, calls: n, rate, concurrency: n,
  timeoutMs: 90_000, injectionFile: injection(Array.from({ length: n }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
  auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
});

describe('200 simultaneous calls of one account over two instances on Redis Cluster', () => {
  let bench: Bench;
  let trunk: SippProcess;
  const ANSWERABLE = 150;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: AT, balance: ANSWERABLE * MINUTE, media: 'direct', withMedia: false, maxConcurrent: 500, trunkMaxConcurrent: 500,
    });
    trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await trunk?.stop();
    await bench?.stop();
  });

  it('never overdraws: Σ cost = balance change, one CDR per attempt, both instances took calls', async () => {
    expect(bench.apps).toHaveLength(2);
    // 200 INVITEs in 2 s from two phones' worth of sipp, each answered call held 3 s: all 200 are
    // in flight together. drachtio hands each new INVITE to the next app in turn and every call
    // brings two (the 407's and the authenticated one): from one sender at this rate each call's
    // pair is back to back and every authenticated INVITE could land on the same instance; two
    // senders interleave their pairs, as many phones do.
    const [r1, r2] = await Promise.all([calls(bench, 100, 50, 3000, 402), calls(bench, 100, 50, 3000, 402)]);
    const r = { failed: r1.failed + r2.failed, errors: r1.errors + r2.errors };
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, 200, 20_000);
    expect(cdrs).toHaveLength(200);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(200);
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    expect(answered).toHaveLength(ANSWERABLE);
    expect(cdrs.filter((c) => c.sipStatus === 402)).toHaveLength(200 - ANSWERABLE);
    const spent = answered.reduce((s, c) => s + c.cost, 0);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    expect(spent).toBe(ANSWERABLE * MINUTE - acct.balance);
    expect(acct).toMatchObject({ balance: 0, reserved: 0 });
    // Both instances answered calls; the CDR stream (4 shards) holds each CDR once.
    const perInstance = bench.cdrDirs.map((d) => readCdrs({ dir: d, cdrDirs: [d] }).filter((c) => c.sipStatus === 200).length);
    // (drachtio hands each new INVITE to the next app, the challenge's and the authenticated one
    // alike, so the split is uneven but never all on one.)
    console.log(`answered per instance: ${perInstance.join(' / ')}`);
    expect(perInstance.every((n) => n > 0)).toBe(true);
    expect(perInstance.reduce((a, b) => a + b, 0)).toBe(ANSWERABLE);
    const stream = await bench.app.cdrStream.range(bench.app.redis);
    expect(stream.map((e) => e.fields.cdrId).sort()).toEqual(cdrs.map((c) => c.cdrId).sort());
    expect(new Set(stream.map((e) => e.key)).size).toBe(4);
  }, 60_000);
});

describe('a cluster master killed under load', () => {
  let bench: Bench;
  let trunk: SippProcess;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: AT, balance: 100_000_000, media: 'direct', withMedia: false, maxConcurrent: 500, trunkMaxConcurrent: 500,
      heartbeatMs: 1000,
    });
    trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await trunk?.stop();
    await bench?.stop();
  });

  it('calls during the failover get 503 within a second or connect; afterwards one CDR each and nothing left reserved', async () => {
    const cluster = await sharedCluster();
    const redis = bench.app.redis;
    // The master that holds the account: its loss is what the call path feels.
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', accountKeys('telesales').account));
    const ranges = ((await redis.call('CLUSTER', 'SLOTS')) as [number, number][]).map(([a, b]) => [a, b]).sort((x, y) => x[0]! - y[0]!);
    const victim = ranges.findIndex(([a, b]) => slot >= a! && slot <= b!);
    const before = (await bench.app.ledger.getAccount('telesales'))!.balance;
    const N = 160;
    const load = calls(bench, N, 20, 1500, 503); // 8 s of calls, 20 a second, each 1.5 s once answered
    await new Promise((r) => setTimeout(r, 2500));
    const failover = await cluster.killMaster(victim);
    const r = await load;
    expect(r.successful + r.failed).toBe(N);
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0); // every call got 200 or 503
    const cdrs = await waitForCdrs(bench, N, 30_000);
    expect(cdrs).toHaveLength(N);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(N);
    const refused = cdrs.filter((c) => c.sipStatus === 503);
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    expect(refused.length + answered.length).toBe(N);
    // Refusals were quick (dialgate's own INVITE → 503 time), and some calls connected after the failover.
    const slowest = Math.max(0, ...refused.map((c) => c.endAt - c.inviteAt));
    expect(slowest).toBeLessThan(1000);
    expect(refused.every((c) => c.denyReason === 'ledger-unavailable')).toBe(true);
    // Settlements deferred by the failover land once the replica is master: nothing stays reserved.
    const deadline = Date.now() + 20_000;
    let acct = (await bench.app.ledger.getAccount('telesales'))!;
    while ((acct.reserved !== 0 || bench.apps.some((a) => a.live.size > 0)) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      acct = (await bench.app.ledger.getAccount('telesales'))!;
    }
    expect(acct.reserved).toBe(0);
    expect((await bench.app.ledger.reservations('telesales'))).toEqual([]);
    const spent = answered.reduce((s, c) => s + c.cost, 0);
    console.log(`cluster failover: promotion ${failover.promotionMs} ms; ${answered.length} answered, ${refused.length} refused (slowest refusal ${slowest} ms); Σ cost ${spent}, balance change ${before - acct.balance}`);
    expect(before - acct.balance).toBe(spent);
    expect(answered.length).toBeGreaterThan(N / 2);
  }, 90_000);
});
