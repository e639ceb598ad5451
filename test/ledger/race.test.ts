// Issue 4 acceptance: 200 calls of one account authorised at once on a balance worth 10 minutes
// (0.13 yuan / 60 s, 004 §1) — nothing overdraws, over several client connections.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { batchScripts } from '../../src/ledger/lua/script-batch.js';

const MINUTE = 1_300; // 0.13 yuan
const BALANCE = 10 * MINUTE;
const CALLS = 200;
let redis: RedisInstance;
let clients: Redis[];
let ledgers: Ledger[];
const T0 = 1_741_572_000_000;

beforeAll(async () => {
  redis = await startRedis();
  clients = Array.from({ length: 8 }, () => redis.client());
  // Half the instances batch their scripts (as `dialgate serve` does on one server): a batch runs
  // many reservations back to back in one script, and the ledger must hold the same.
  for (const c of clients.slice(0, 4)) batchScripts(c);
  ledgers = clients.map((c, i) => new Ledger(c, { instanceId: `app${i}` }));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

const L = (i: number): Ledger => ledgers[i % ledgers.length]!;

async function fund(acct: string): Promise<void> {
  await L(0).createAccount(acct, { tenant: 't' });
  await L(0).topUp(acct, 'pkg', BALANCE);
}

async function checkAccount(acct: string, settledTotal: number): Promise<void> {
  const a = (await L(0).getAccount(acct))!;
  expect(a.balance).toBeGreaterThanOrEqual(0);
  expect(a.reserved).toBe(0);
  expect(a.balance).toBe(BALANCE - settledTotal);
  expect(a.balance).toBe(a.credits - a.debits);
  // every balance the history ever shows is ≥ 0 and follows from the amounts
  const h = (await L(0).history(acct, 10_000)).reverse();
  let run = 0;
  for (const e of h) {
    run += e.amount;
    expect(e.balanceAfter).toBe(run);
    expect(e.balanceAfter).toBeGreaterThanOrEqual(0);
  }
  expect(run).toBe(a.balance);
}

describe('200 concurrent calls of one account', () => {
  it('single-chunk grants: Σ granted ≤ balance, Σ settled ≤ balance, never below zero', async () => {
    const acct = 'race1';
    await fund(acct);
    const grants = await Promise.all(Array.from({ length: CALLS }, (_, i) =>
      L(i).reserve(acct, `call${i}`, { min: MINUTE, max: 3 * MINUTE }, T0)));
    const granted = grants.map((g) => (g.ok ? g.granted : 0));
    const sumGranted = granted.reduce((x, y) => x + y, 0);
    expect(sumGranted).toBeLessThanOrEqual(BALANCE);
    expect(sumGranted).toBeGreaterThan(BALANCE - MINUTE); // and the balance was actually used
    expect(grants.filter((g) => !g.ok).length).toBeGreaterThanOrEqual(CALLS - 10);
    // Every call settles (denied ones too, the app settles every attempt): some cost more than
    // granted (a late BYE) — the excess is a shortfall, never a debit.
    const settled = await Promise.all(granted.map((g, i) => L(i + 3).settle(acct, `call${i}`, g === 0 ? 0 : g + (i % 3) * MINUTE, `cdr${i}`, T0 + 1)));
    const sumSettled = settled.reduce((x, s) => x + s.debited, 0);
    expect(sumSettled).toBeLessThanOrEqual(BALANCE);
    expect(sumSettled).toBe(sumGranted);
    await checkAccount(acct, sumSettled);
    // settling all of them again changes nothing
    const again = await Promise.all(granted.map((_, i) => L(i + 5).settle(acct, `call${i}`, 99_999, 'x')));
    expect(again.every((s) => s.alreadySettled)).toBe(true);
    await checkAccount(acct, sumSettled);
  });

  it('chunked calls extending concurrently share the balance and use it up exactly', async () => {
    const acct = 'race2';
    await fund(acct);
    const call = async (i: number): Promise<number> => {
      const l = L(i);
      const r = await l.reserve(acct, `c${i}`, { min: MINUTE, max: MINUTE }, T0);
      if (!r.ok) return (await l.settle(acct, `c${i}`, 0, 'denied')).debited;
      let total = r.total;
      for (let t = 1; ; t++) {
        const e = await l.extend(acct, `c${i}`, { min: MINUTE, max: MINUTE }, T0 + t * 50_000);
        if (!e.ok) break;
        total = e.total!;
      }
      // cut off at the paid boundary: the rated cost is exactly what was granted
      return (await l.settle(acct, `c${i}`, total, `cdr${i}`)).debited;
    };
    const debited = await Promise.all(Array.from({ length: CALLS }, (_, i) => call(i)));
    expect(debited.reduce((x, y) => x + y, 0)).toBe(BALANCE);
    await checkAccount(acct, BALANCE);
    expect((await L(0).getAccount(acct))!.balance).toBe(0);
  });
});
