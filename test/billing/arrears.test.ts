// The arrears policy (001 §6) as pure functions: the late fee and its rounding, the day count
// from the day the arrears began, closure on the 30th day, and nothing for a closed account.
import { describe, expect, it } from 'vitest';
import { arrearsDay, CLOSE_AFTER_DAYS, lateFeeOf, planArrearsDay, type ArrearsState } from '../../src/billing/arrears.js';

const ZONE = 'Asia/Shanghai';
// 2026-12-01 00:10 Beijing: when a November month close would put an account into arrears.
const SINCE = Date.parse('2026-12-01T00:10:00+08:00');
const state = (o: Partial<ArrearsState> = {}): ArrearsState => ({
  account: 'a', tenant: 't', status: 'active', arrears: 2_520_000, lateFeeArrears: 0, arrearsSince: SINCE, ...o,
});

describe('lateFeeOf', () => {
  it('is 3‰ of the principal, rounded down to the unit (never more than the contract allows)', () => {
    expect(lateFeeOf(2_520_000)).toBe(7_560); // 252 yuan owed → 0.756 yuan a day
    expect(lateFeeOf(1_000)).toBe(3);
    expect(lateFeeOf(1_333)).toBe(3); // 3.999 units → 3
    expect(lateFeeOf(333)).toBe(0); // under 0.0334 yuan owed: the fee rounds to nothing
    expect(lateFeeOf(0)).toBe(0);
    // exact at the top of the safe range, where float division would drift
    expect(lateFeeOf(3_002_399_751_580_330)).toBe(9_007_199_254_740);
    expect(() => lateFeeOf(-1)).toThrow(/≥ 0/);
    expect(() => lateFeeOf(1.5)).toThrow();
    expect(() => lateFeeOf(3_002_399_751_580_331)).toThrow(/too large/);
  });
});

describe('arrearsDay', () => {
  it('counts the day the arrears began as day 1, in the zone (not UTC)', () => {
    expect(arrearsDay(SINCE, '2026-12-01', ZONE)).toBe(1); // 2026-11-30 16:10 UTC is already Dec 1 in Beijing
    expect(arrearsDay(SINCE, '2026-11-30', ZONE)).toBe(0);
    expect(arrearsDay(SINCE, '2026-12-30', ZONE)).toBe(30);
    expect(arrearsDay(SINCE, '2027-01-01', ZONE)).toBe(32);
    expect(() => arrearsDay(SINCE, '2026-02-30', ZONE)).toThrow(/no such day/);
    expect(() => arrearsDay(SINCE, '2026-12-1', ZONE)).toThrow(/YYYY-MM-DD/);
  });
});

describe('planArrearsDay', () => {
  it('charges the day\'s fee on the fees owed, not on unpaid late fees', () => {
    const p = planArrearsDay(state({ arrears: 2_527_560, lateFeeArrears: 7_560 }), '2026-12-02', ZONE);
    expect(p).toMatchObject({ dayOfArrears: 2, close: null,
      lateFee: { entryId: 'latefee:2026-12-02', amount: 7_560, principal: 2_520_000, since: SINCE } });
    expect(p.lateFee!.note).toMatch(/001 §6/);
  });

  it('closes on the 30th day, after that day\'s fee', () => {
    expect(planArrearsDay(state(), '2026-12-29', ZONE).close).toBeNull();
    const p = planArrearsDay(state(), '2026-12-30', ZONE);
    expect(CLOSE_AFTER_DAYS).toBe(30);
    expect(p).toMatchObject({ dayOfArrears: 30, lateFee: { amount: 7_560 }, close: { since: SINCE } });
    expect(p.close!.note).toMatch(/30 days in arrears since 2026-12-01 \(001 §6\(二\)5\)/);
  });

  it('does nothing before the episode, without arrears, or for a closed account', () => {
    expect(planArrearsDay(state(), '2026-11-30', ZONE)).toMatchObject({ dayOfArrears: null, lateFee: null, close: null });
    expect(planArrearsDay(state({ arrears: 0, arrearsSince: null }), '2026-12-05', ZONE)).toMatchObject({ lateFee: null, detail: 'no arrears' });
    expect(planArrearsDay(state({ status: 'closed' }), '2027-01-05', ZONE)).toMatchObject({ lateFee: null, close: null });
  });

  it('still closes on day 30 when the fee rounds to nothing', () => {
    expect(planArrearsDay(state({ arrears: 300 }), '2026-12-30', ZONE)).toMatchObject({ lateFee: null, close: { since: SINCE } });
  });
});
