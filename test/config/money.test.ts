// Yuan → Money (0.0001 yuan) is exact: decimal text in, integer out, no float arithmetic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatYuan, parseYuan } from '../../src/config/money.js';

const units = (v: unknown) => {
  const r = parseYuan(v);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};

describe('parseYuan', () => {
  it('converts strings and numbers exactly', () => {
    expect(units('0.13')).toBe(1300);
    expect(units(0.13)).toBe(1300); // 0.13 * 10000 in floats is 1300.0000000000002
    expect(units(100)).toBe(1_000_000);
    expect(units('11000')).toBe(110_000_000);
    expect(units('0.0001')).toBe(1);
    expect(units('0.07')).toBe(700); // 0.07 * 10000 = 700.0000000000001
    expect(units('1.1')).toBe(11_000);
    expect(units('420.00')).toBe(4_200_000);
    expect(units('0.13元')).toBe(1300);
    expect(units(' 5. ')).toBe(50_000);
  });

  it('rejects more than 4 decimals, exponents, negatives and non-numbers', () => {
    for (const bad of ['0.00001', 0.13005, 1e-7, '1e3', '-1', 'abc', '', true, null, Number.NaN]) {
      expect(parseYuan(bad).ok, String(bad)).toBe(false);
    }
    const r = parseYuan('0.12345');
    expect(r.ok === false && r.reason).toContain('5 decimals');
  });

  it('round-trips every amount with up to 4 decimals', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e12 }), (u) => {
      const text = `${Math.floor(u / 10000)}.${String(u % 10000).padStart(4, '0')}`;
      expect(units(text)).toBe(u);
      expect(units(formatYuan(u))).toBe(u);
    }));
  });

  it('formats for messages', () => {
    expect(formatYuan(1300)).toBe('0.13');
    expect(formatYuan(1_000_000)).toBe('100.00');
    expect(formatYuan(1)).toBe('0.0001');
  });
});
