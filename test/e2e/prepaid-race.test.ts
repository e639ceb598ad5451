// Issue 4 acceptance, end to end: 200 calls of one account at once on a balance worth 10 minutes.
// The sum of settled costs never exceeds the balance, the balance never goes below zero, and
// every call attempt has exactly one CDR.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { injection, seatCallOrDeny } from './scenarios.js';
import { ConcurrencySlots, slotKey } from '../../src/ledger/concurrency.js';
import { readCdrs, SEATS, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const CALLS = 200;
const TEN_MINUTES = 10 * 1300; // 0.13 yuan per started minute (004 §3.1)

/** A bench for the describe block (direct media), with trunks answering at once on trunk-a (or both). */
function raceBench(o: { balance: number; maxConcurrent: number; trunkMaxConcurrent: number; trunks?: 1 | 2 }): () => Bench {
  let bench: Bench;
  const trunks: SippProcess[] = [];
  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: '2026-11-23T10:00:00+08:00', balance: o.balance, media: 'direct', withMedia: false,
      maxConcurrent: o.maxConcurrent, trunkMaxConcurrent: o.trunkMaxConcurrent,
    });
    for (const p of ports.slice(0, o.trunks ?? 1)) trunks.push(await startTrunk(p, { answer: 200, ringMs: 0 }));
  });
  afterAll(async () => {
    for (const t of trunks) await t.stop();
    await bench?.stop();
  });
  return () => bench;
}

/** `calls` calls of seat 1001 at once (rate per second), each answered (held 1.5 s) or refused with `deny`. */
function seatBurst(bench: Bench, calls: number, rate: number, deny: number) {
  return runSipp({
    scenario: seatCallOrDeny(deny, 1500), target: bench.sipTarget, calls, rate, concurrency: calls,
    timeoutMs: 60_000, injectionFile: injection(Array.from({ length: calls }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
    auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
  });
}

describe('200 simultaneous calls on one prepaid account', () => {
  const benchOf = raceBench({ balance: TEN_MINUTES, maxConcurrent: 500, trunkMaxConcurrent: 500 });

  it('never overdraws, and writes one CDR per attempt', async () => {
    const bench = benchOf();
    const r = await seatBurst(bench, CALLS, 400, 402);
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, CALLS, 20_000);
    expect(cdrs).toHaveLength(CALLS);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(CALLS);
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    const refused = cdrs.filter((c) => c.sipStatus === 402);
    expect(answered.length + refused.length).toBe(CALLS);
    // Each call is authorised for its first minute only, so the balance admits exactly ten calls;
    // a 1.5 s call costs one started minute.
    expect(answered.length).toBe(10);
    expect(answered.every((c) => c.cost === 1300)).toBe(true);
    const settled = answered.reduce((sum, c) => sum + c.cost, 0);
    expect(settled).toBeLessThanOrEqual(TEN_MINUTES);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    expect(acct.balance).toBe(TEN_MINUTES - settled);
    expect(acct.balance).toBe(0);
    expect(acct.balance).toBeGreaterThanOrEqual(0);
    expect(acct.reserved).toBe(0);
    expect(readCdrs(bench).every((c) => c.balanceAfter === null || c.balanceAfter >= 0)).toBe(true);
  });
});

// The port slot and the reservation are taken together (one round trip): a call refused for want
// of a port, whatever the pure check saw, must leave no money reserved nor charged.
describe('60 simultaneous calls on a tenant with 5 ports', () => {
  const BALANCE = 1_000_000;
  const benchOf = raceBench({ balance: BALANCE, maxConcurrent: 5, trunkMaxConcurrent: 500 });

  it('answers at most 5 at once, refuses the rest with 486, and only answered calls cost money', async () => {
    const bench = benchOf();
    const CALLS = 60;
    const r = await seatBurst(bench, CALLS, 400, 486);
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, CALLS, 20_000);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(CALLS);
    const answered = cdrs.filter((c) => c.sipStatus === 200);
    const busy = cdrs.filter((c) => c.sipStatus === 486);
    expect(answered.length + busy.length).toBe(CALLS);
    expect(answered.length).toBeGreaterThanOrEqual(5);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((c) => c.denyReason === 'tenant-busy' && c.cost === 0)).toBe(true);
    // Never more than 5 answered calls overlapping.
    const edges = answered.flatMap((c) => [[c.answerAt!, 1], [c.endAt!, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let up = 0;
    let peak = 0;
    for (const [, d] of edges) peak = Math.max(peak, (up += d));
    expect(peak).toBeLessThanOrEqual(5);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    expect(acct.reserved).toBe(0);
    expect(acct.balance).toBe(BALANCE - answered.reduce((sum, c) => sum + c.cost, 0));
  });
});

// The first trunk's slot is taken with the port and the money, before the dial: a full first
// trunk still sends the call on to the next one.
describe('6 simultaneous calls with 2 channels on the first trunk', () => {
  const benchOf = raceBench({ balance: 1_000_000, maxConcurrent: 50, trunkMaxConcurrent: 2, trunks: 2 }); // trunk-a: 2 channels; trunk-b: 50

  it('puts 2 on trunk-a and the rest on trunk-b; nothing stays reserved', async () => {
    const bench = benchOf();
    const CALLS = 6;
    const r = await seatBurst(bench, CALLS, 200, 503);
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, CALLS, 20_000);
    expect(cdrs.every((c) => c.sipStatus === 200)).toBe(true);
    const on = (c: (typeof cdrs)[number]) => c.trunks.find((t) => t.sipStatus === 200)?.trunk;
    expect(cdrs.filter((c) => on(c) === 'trunk-a')).toHaveLength(2);
    expect(cdrs.filter((c) => on(c) === 'trunk-b')).toHaveLength(4);
    // A call that tried trunk-a (its decision saw a channel free) and found it full went on to trunk-b.
    const spilled = cdrs.filter((c) => c.trunks.length === 2);
    expect(spilled.every((c) => c.trunks[0]!.trunk === 'trunk-a' && c.trunks[0]!.sipStatus === 503 && on(c) === 'trunk-b')).toBe(true);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    expect(acct.reserved).toBe(0);
    expect(acct.balance).toBe(1_000_000 - cdrs.reduce((sum, c) => sum + c.cost, 0));
    // Both trunks' slots given back.
    const client = bench.redis.client();
    expect(await new ConcurrencySlots(client).countMany([slotKey('trunk', 'trunk-a'), slotKey('trunk', 'trunk-b')])).toEqual([0, 0]);
    client.disconnect();
  });
});
