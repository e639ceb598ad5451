import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type RatingTerms, billableSeconds, billedSeconds, costOfBilled, maxBilledSecondsFor, rateCall,
} from '../../src/rating/rate.js';

// Independent reference, in BigInt throughout: the billed duration is searched for on the grid
// of increments (smallest initial + k × subsequent covering the billable seconds, by bisection
// rather than division), and the price is an exact fraction rounded up once.
function referenceRate(rate: RatingTerms, answeredMs: number): { billable: number; billed: number; cost: number } {
  const ms = BigInt(answeredMs);
  const billable = ms / 1000n + (ms % 1000n === 0n ? 0n : 1n);
  const initial = BigInt(rate.initialIncrement);
  const sub = BigInt(rate.subsequentIncrement);
  let billed = 0n;
  if (billable > 0n) {
    let lo = 0n; // initial + lo × sub may fall short
    let hi = billable; // initial + hi × sub covers billable (sub ≥ 1)
    if (initial >= billable) hi = 0n;
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      if (initial + mid * sub >= billable) hi = mid;
      else lo = mid + 1n;
    }
    billed = initial + hi * sub;
  }
  if (billed === 0n) return { billable: Number(billable), billed: 0, cost: 0 };
  // cost = connectFee + rate × billed / 60 as the fraction num / 60, rounded up once.
  const num = BigInt(rate.connectFee) * 60n + BigInt(rate.ratePerMinute) * billed;
  let cost = num / 60n;
  if (cost * 60n < num) cost += 1n;
  return { billable: Number(billable), billed: Number(billed), cost: Number(cost) };
}

const increments = fc.oneof(
  fc.constantFrom<[number, number]>([60, 60], [6, 6], [30, 6], [1, 1]),
  fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 })),
);

const terms: fc.Arbitrary<RatingTerms> = fc.record({
  ratePerMinute: fc.oneof(fc.constant(1300), fc.integer({ min: 0, max: 200_000 })),
  increments,
  connectFee: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 })),
}).map(({ ratePerMinute, increments: [initialIncrement, subsequentIncrement], connectFee }) => ({
  ratePerMinute, initialIncrement, subsequentIncrement, connectFee,
}));

const answeredMs = fc.oneof(
  fc.integer({ min: 0, max: 3 * 3600 * 1000 }),
  fc.integer({ min: 0, max: 3 * 3600 }).map((s) => s * 1000), // whole seconds
  fc.integer({ min: 0, max: 600 }).map((s) => s * 1000 + 1), // just past a second
);

describe('rateCall', () => {
  it('matches the telesales contract: 0.13 yuan per started minute (004 §1, §3.1)', () => {
    const telesales = { ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 };
    expect(rateCall(telesales, 0)).toEqual({ billableSeconds: 0, billedSeconds: 0, cost: 0 });
    expect(rateCall(telesales, 1)).toEqual({ billableSeconds: 1, billedSeconds: 60, cost: 1300 });
    expect(rateCall(telesales, 60_000)).toEqual({ billableSeconds: 60, billedSeconds: 60, cost: 1300 });
    expect(rateCall(telesales, 60_001)).toEqual({ billableSeconds: 61, billedSeconds: 120, cost: 2600 });
  });

  it('rounds the cost up once per call, not per increment', () => {
    // 7 units/min on 6/6: each 6 s increment is worth 0.7 units.
    const r = { ratePerMinute: 7, initialIncrement: 6, subsequentIncrement: 6, connectFee: 0 };
    expect(rateCall(r, 11_000).cost).toBe(2); // 12 s: 1.4 → 2
    expect(rateCall(r, 59_000).cost).toBe(7); // 60 s: exactly 7; rounding per increment would give 10
  });

  it('bills the initial increment, then subsequent increments (30/6)', () => {
    expect(billedSeconds(1, 30, 6)).toBe(30);
    expect(billedSeconds(30, 30, 6)).toBe(30);
    expect(billedSeconds(31, 30, 6)).toBe(36);
    expect(billedSeconds(37, 30, 6)).toBe(42);
  });

  it('charges no connect fee for an unanswered call', () => {
    expect(rateCall({ ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 500 }, 0).cost).toBe(0);
    expect(rateCall({ ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 500 }, 10).cost).toBe(1800);
  });

  it('rejects invalid terms', () => {
    expect(() => rateCall({ ratePerMinute: 1300, initialIncrement: 0, subsequentIncrement: 60, connectFee: 0 }, 1000)).toThrow(RangeError);
    expect(() => rateCall({ ratePerMinute: 1.5, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 }, 1000)).toThrow(RangeError);
  });

  it('stays exact beyond 2^53 intermediate products', () => {
    const r = { ratePerMinute: 2 ** 40, initialIncrement: 1, subsequentIncrement: 1, connectFee: 0 };
    expect(rateCall(r, 10_000_000).cost).toBe(referenceRate(r, 10_000_000).cost);
  });

  it('agrees with the reference implementation to the last unit', () => {
    fc.assert(fc.property(terms, answeredMs, (rate, ms) => {
      const ref = referenceRate(rate, ms);
      const got = rateCall(rate, ms);
      expect(got).toEqual({ billableSeconds: ref.billable, billedSeconds: ref.billed, cost: ref.cost });
      expect(billableSeconds(ms)).toBe(ref.billable);
    }), { numRuns: 5000 });
  });
});

describe('maxBilledSecondsFor', () => {
  const telesales = { ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 };

  it('pays whole increments only', () => {
    expect(maxBilledSecondsFor(telesales, 1299)).toBe(0);
    expect(maxBilledSecondsFor(telesales, 1300)).toBe(60);
    expect(maxBilledSecondsFor(telesales, 2599)).toBe(60);
    expect(maxBilledSecondsFor(telesales, 13_000)).toBe(600); // 1.3 yuan = 10 minutes
    expect(maxBilledSecondsFor(telesales, -5)).toBe(0);
  });

  it('is unlimited for a free rate and 0 when the connect fee is unaffordable', () => {
    expect(maxBilledSecondsFor({ ...telesales, ratePerMinute: 0 }, 0)).toBeNull();
    expect(maxBilledSecondsFor({ ...telesales, connectFee: 100 }, 99)).toBe(0);
    expect(maxBilledSecondsFor({ ...telesales, connectFee: 100 }, 1399)).toBe(0);
    expect(maxBilledSecondsFor({ ...telesales, connectFee: 100 }, 1400)).toBe(60);
  });

  it('is the exact inverse of the rating: cost(max) ≤ available < cost(max + one increment)', () => {
    const available = fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 200_000_000 }));
    fc.assert(fc.property(terms.filter((r) => r.ratePerMinute > 0), available, (rate, money) => {
      const max = maxBilledSecondsFor(rate, money);
      expect(max).not.toBeNull();
      const m = max as number;
      // On the grid: 0 or initial + k × subsequent.
      if (m > 0) expect((m - rate.initialIncrement) % rate.subsequentIncrement).toBe(0);
      const cost = (seconds: number): number => referenceRate(rate, seconds * 1000).cost;
      if (m === 0) {
        expect(cost(rate.initialIncrement)).toBeGreaterThan(money);
      } else {
        expect(cost(m)).toBeLessThanOrEqual(money);
        expect(costOfBilled(rate, m)).toBe(cost(m));
        expect(cost(m + rate.subsequentIncrement)).toBeGreaterThan(money);
      }
    }), { numRuns: 5000 });
  });

  it('a call cut off at the maximum never costs more than the balance', () => {
    fc.assert(fc.property(terms.filter((r) => r.ratePerMinute > 0), fc.integer({ min: 0, max: 5_000_000 }),
      fc.double({ min: 0, max: 1, noNaN: true }), (rate, money, fraction) => {
        const max = maxBilledSecondsFor(rate, money) ?? 0;
        const answered = Math.floor(max * 1000 * fraction);
        expect(rateCall(rate, answered).cost).toBeLessThanOrEqual(money);
      }), { numRuns: 2000 });
  });
});
