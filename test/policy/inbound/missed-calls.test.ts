// 002 §3.5: from the 100th unanswered call of a day on, further unanswered calls are charged.
import { describe, expect, it } from 'vitest';
import { FREE_MISSED_CALLS_PER_DAY, missedCallCharge } from '../../../src/policy/inbound/missed-calls.js';

const RATE = { ratePerMinute: 2500, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 }; // 0.25 yuan/min

describe('missedCallCharge', () => {
  it('the 99th and the 100th missed call of a day are free; the 101st is charged', () => {
    expect(FREE_MISSED_CALLS_PER_DAY).toBe(100);
    expect(missedCallCharge(99, 30_000, RATE)).toMatchObject({ charged: false, cost: 0 });
    expect(missedCallCharge(100, 30_000, RATE)).toMatchObject({ charged: false, cost: 0 });
    expect(missedCallCharge(101, 30_000, RATE)).toMatchObject({ charged: true, billableSeconds: 30, billedSeconds: 60, cost: 2500 });
  });

  it('charges the waiting minutes with the package increments (61 s → 2 minutes)', () => {
    expect(missedCallCharge(150, 61_000, RATE)).toMatchObject({ charged: true, billedSeconds: 120, cost: 5000 });
  });
});
