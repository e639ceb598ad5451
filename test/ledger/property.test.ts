// Property: random interleavings of ledger operations over several connections keep the invariants
//   balance ≥ 0, balance = credits − debits = Σ history amounts, 0 ≤ Σ reservations = reserved ≤ balance,
//   a settlement never changes once made; arrears (001 §6) = Σ of their history effects,
//   0 ≤ unpaid late fees ≤ arrears, and an episode is stamped exactly while arrears are owed.
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { LedgerError, type SettleResult } from '../../src/ledger/types.js';
import { arrearsDelta } from '../../src/billing/statement.js';

let redis: RedisInstance;
let clients: Redis[];
let ledgers: Ledger[];
let run = 0;

beforeAll(async () => {
  redis = await startRedis();
  clients = Array.from({ length: 4 }, () => redis.client());
  ledgers = clients.map((c, i) => new Ledger(c, { instanceId: `p${i}` }));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

const call = fc.constantFrom('c0', 'c1', 'c2', 'c3', 'c4', 'c5');
const entry = fc.constantFrom('e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7');
const req = fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 4_000 }))
  .map(([a, b]) => ({ min: Math.min(a, a + b), max: a + b }));
const op = fc.oneof(
  fc.record({ k: fc.constant('topUp' as const), id: entry, amount: fc.integer({ min: 0, max: 6_000 }) }),
  fc.record({ k: fc.constant('adjust' as const), id: entry, amount: fc.integer({ min: -4_000, max: 3_000 }) }),
  fc.record({ k: fc.constant('charge' as const), id: entry, amount: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({ k: fc.constant('lateFee' as const), id: entry }),
  fc.record({ k: fc.constant('reserve' as const), call, req }),
  fc.record({ k: fc.constant('extend' as const), call, req }),
  fc.record({ k: fc.constant('settle' as const), call, cost: fc.integer({ min: 0, max: 6_000 }) }),
  fc.record({ k: fc.constant('release' as const), call }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

it('random interleavings keep the money invariants', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), async (batches) => {
    const acct = `prop${++run}`;
    await ledgers[0]!.createAccount(acct, { tenant: 't', prepaidTotal: 20_000, monthlyFees: 1_000 });
    const settlements: Array<[string, SettleResult]> = [];
    let now = 1_741_572_000_000;
    for (const batch of batches) {
      now += 1000;
      // one batch runs concurrently, spread over the connections
      await Promise.all(batch.map(async (o: Op, i) => {
        const l = ledgers[i % ledgers.length]!;
        const id = `${o.k}:${'id' in o ? o.id : ''}`;
        switch (o.k) {
          case 'topUp': return l.topUp(acct, id, o.amount, '', now);
          case 'adjust': return l.adjust(acct, id, o.amount, '', now).catch((e: unknown) => {
            if (!(e instanceof LedgerError && e.code === 'INSUFFICIENT_BALANCE')) throw e;
          });
          case 'charge': return l.charge(acct, id, 'fee', o.amount, '', now);
          case 'lateFee': {
            // reckoned on what was read, possibly stale by the time it lands (then refused)
            const a = (await l.getAccount(acct))!;
            if (a.arrearsSince === null) return undefined;
            const principal = a.arrears - a.lateFeeArrears;
            return l.chargeLateFee(acct, id, Math.floor((principal * 3) / 1000) + 1, { principal, since: a.arrearsSince }, '', now);
          }
          case 'reserve': return l.reserve(acct, o.call, o.req, now);
          case 'extend': return l.extend(acct, o.call, o.req, now);
          case 'settle':
          case 'release': {
            const s = o.k === 'settle' ? await l.settle(acct, o.call, o.cost, 'cdr', now) : await l.release(acct, o.call, now);
            settlements.push([o.call, s]);
            return s;
          }
        }
      }));
      const a = (await ledgers[0]!.getAccount(acct))!;
      const res = await ledgers[0]!.reservations(acct);
      expect(a.balance).toBeGreaterThanOrEqual(0);
      expect(a.balance).toBe(a.credits - a.debits);
      expect(a.reserved).toBe(res.reduce((x, r) => x + r.granted, 0));
      expect(a.reserved).toBeGreaterThanOrEqual(0);
      expect(a.reserved).toBeLessThanOrEqual(a.balance);
      expect(a.arrears).toBeGreaterThanOrEqual(0);
      const h = await ledgers[0]!.history(acct, 10_000);
      expect(h.reduce((x, e) => x + e.amount, 0)).toBe(a.balance);
      expect(h.reduce((x, e) => x + arrearsDelta(e), 0)).toBe(a.arrears);
      expect(a.lateFeeArrears).toBeGreaterThanOrEqual(0);
      expect(a.lateFeeArrears).toBeLessThanOrEqual(a.arrears);
      expect(a.arrearsSince !== null).toBe(a.arrears > 0);
    }
    // per call: exactly one settlement took effect; every other answer repeats it
    for (const c of new Set(settlements.map(([c]) => c))) {
      const all = settlements.filter(([x]) => x === c).map(([, s]) => s);
      expect(all.filter((s) => !s.alreadySettled)).toHaveLength(1);
      const strip = (s: SettleResult) => ({ ...s, alert: undefined, alreadySettled: undefined });
      for (const s of all) expect(strip(s)).toEqual(strip(all[0]!));
    }
  }), { numRuns: 150 });
});
