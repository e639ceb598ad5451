import { describe, expect, it } from 'vitest';
import { normalizeNumber } from '../../src/numbers/normalize.js';
import { regionMatches } from '../../src/numbers/region.js';

function region(raw: string) {
  const r = normalizeNumber(raw);
  if (!r.ok || !r.number.region) throw new Error(`no region for ${raw}`);
  return r.number.region;
}

describe('regions', () => {
  it('answers to English and Chinese province and city names', () => {
    const sz = region('0755 8888 6666');
    for (const name of ['Guangdong', '广东省', '广东', 'Shenzhen', '深圳市', '深圳']) expect(regionMatches(sz, name)).toBe(true);
    expect(regionMatches(sz, 'Guangzhou')).toBe(false);
  });

  it('splits areas that share an area code', () => {
    const shenyang = region('024-12345678');
    expect(shenyang.province).toBe('Liaoning');
    for (const name of ['Shenyang', 'Tieling', '铁岭市', '辽宁']) expect(regionMatches(shenyang, name)).toBe(true);
  });

  it('knows autonomous regions and municipalities', () => {
    expect(region('0471-1234567')).toMatchObject({ province: 'Inner Mongolia', provinceZh: '内蒙古' });
    expect(region('021-12345678')).toMatchObject({ province: 'Shanghai', provinceZh: '上海市', cityZh: '上海市' });
  });

  it('is fast after the first lookup', () => {
    region('13912345678');
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) normalizeNumber(`139${String(10_000_000 + i)}`);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
