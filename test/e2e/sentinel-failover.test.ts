// Issue 15, Sentinel: two dialgate instances on a Sentinel-watched master (1 master, 1 replica, 3
// sentinels of Debian's redis-server). The master is killed under a steady load; the sentinels
// promote the replica, ioredis follows them, and calls go on: every call connects or gets 503,
// every attempt has one CDR, nothing stays reserved, Σ cost = balance change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { injection, seatCallOrDeny } from './scenarios.js';
import { SEATS, sharedSentinel, startBench, stopSharedRedis, startTrunk, waitForCdrs, type Bench } from './harness.js';

process.env.DIALGATE_TEST_REDIS = 'sentinel';
afterAll(stopSharedRedis);

describe('a Sentinel master killed under load', () => {
  let bench: Bench;
  let trunk: SippProcess;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: '2026-11-23T10:00:00+08:00', balance: 100_000_000, media: 'direct', withMedia: false,
      maxConcurrent: 500, trunkMaxConcurrent: 500, heartbeatMs: 1000,
    });
    trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await trunk?.stop();
    await bench?.stop();
  });

  it('fails over to the replica; calls connect or get 503, then connect again; nothing lost', async () => {
    expect(bench.apps).toHaveLength(2);
    const sentinel = await sharedSentinel();
    const before = (await bench.app.ledger.getAccount('telesales'))!.balance;
    const N = 200;
    const load = runSipp({
      scenario: seatCallOrDeny(503, 1000), target: bench.sipTarget, calls: N, rate: 20, concurrency: N, timeoutMs: 90_000,
      injectionFile: injection(Array.from({ length: N }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
    });
    await new Promise((r) => setTimeout(r, 2000));
    const failover = await sentinel.killMaster();
    const r = await load;
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, N, 30_000);
    expect(cdrs).toHaveLength(N);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(N);
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    const refused = cdrs.filter((c) => c.sipStatus === 503);
    expect(answered.length + refused.length).toBe(N);
    const slowest = Math.max(0, ...refused.map((c) => c.endAt - c.inviteAt));
    expect(slowest).toBeLessThan(1000);
    // The last calls (placed seconds after the promotion) connect again.
    expect(cdrs.slice(-20).every((c) => c.sipStatus === 200)).toBe(true);
    const deadline = Date.now() + 20_000;
    let acct = (await bench.app.ledger.getAccount('telesales'))!;
    while ((acct.reserved !== 0 || bench.apps.some((a) => a.live.size > 0)) && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      acct = (await bench.app.ledger.getAccount('telesales'))!;
    }
    expect(acct.reserved).toBe(0);
    const spent = answered.reduce((s, c) => s + c.cost, 0);
    console.log(`sentinel failover: promotion ${failover.promotionMs} ms; ${answered.length} answered, ${refused.length} refused (slowest refusal ${slowest} ms); Σ cost ${spent}, balance change ${before - acct.balance}`);
    expect(before - acct.balance).toBe(spent);
  }, 120_000);
});
