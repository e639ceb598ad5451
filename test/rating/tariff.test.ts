import { describe, expect, it } from 'vitest';
import type { Tariff } from '../../src/config/types.js';
import { tariffRateFor } from '../../src/rating/tariff.js';

const base = { initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 };
const tariff: Tariff = {
  id: 't',
  rates: [
    { ...base, ratePerMinute: 1300 },
    { ...base, class: 'landline', ratePerMinute: 1000 },
    { ...base, prefix: '010', ratePerMinute: 900 },
    { ...base, prefix: '0108888', ratePerMinute: 800 },
    { ...base, prefix: '00', class: 'international', ratePerMinute: 50_000 },
    { ...base, prefix: '0044', ratePerMinute: 20_000 },
  ],
};

describe('tariffRateFor', () => {
  it('takes the longest prefix, then the class, then the default', () => {
    expect(tariffRateFor(tariff, { national: '01088881234', class: 'landline' })?.ratePerMinute).toBe(800);
    expect(tariffRateFor(tariff, { national: '01012345678', class: 'landline' })?.ratePerMinute).toBe(900);
    expect(tariffRateFor(tariff, { national: '02012345678', class: 'landline' })?.ratePerMinute).toBe(1000);
    expect(tariffRateFor(tariff, { national: '13812345678', class: 'mobile' })?.ratePerMinute).toBe(1300);
    expect(tariffRateFor(tariff, { national: '00442079460958', class: 'international' })?.ratePerMinute).toBe(20_000);
    expect(tariffRateFor(tariff, { national: '0012125550100', class: 'international' })?.ratePerMinute).toBe(50_000);
  });

  it('returns null when nothing prices the destination', () => {
    expect(tariffRateFor({ id: 'x', rates: [{ ...base, class: 'mobile', ratePerMinute: 1 }] }, { national: '95588', class: 'service' })).toBeNull();
  });
});
