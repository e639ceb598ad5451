// Classification of a Chinese number in national form (what a subscriber dials domestically).
// Ranges follow the MIIT numbering plan (电信网编号计划):
// - emergency 110 police, 119 fire, 120 ambulance, 122 traffic accidents;
// - mobile 1[3-9]x + 8 digits (11 digits);
// - landline 0 + area code + subscriber number: area codes 10 and 2x are two digits with 8-digit
//   subscribers, every other area code is three digits with 7- or 8-digit subscribers; a subscriber
//   number never starts with 0 (the plan also keeps 1 for specials, but numbers such as
//   010-12345678 are used widely in examples and test data, so a leading 1 is accepted);
// - 400 (caller shares the cost) and 800 (toll-free) + 7 digits;
// - service codes: 95xxx national enterprise hotlines (95588, up to 8 digits), 96xxx local
//   hotlines, 10xxx and 1010xxxx carrier services (10086, 10000), 11xxx (11185 post), 12xxx
//   public services (12345 citizen
//   hotline, 12321 spam reports, 12315, 12306), three-digit specials 112 (line faults), 114
//   (directory), 117 (speaking clock), 121 (weather);
// - premium (our decision, see premiumPrefix): 160 / 168 voice information services (声讯台)
//   and 1259x voice value-added SP services, billed at premium rates by the carriers and a
//   classic fraud target; they are denied unless a tenant explicitly allows 'premium'.
import type { NumberClass } from '../config/types.js';

export const EMERGENCY_NUMBERS: ReadonlySet<string> = new Set(['110', '119', '120', '122']);

export interface Classification {
  class: NumberClass;
  /** The national form: a mobile dialled with a leading 0 loses it. */
  national: string;
  /** Landlines: the area code with its 0 (010, 0755). */
  areaCode: string | null;
}

const MOBILE = /^1[3-9]\d{9}$/;
const MOBILE_WITH_TRUNK_ZERO = /^01[3-9]\d{9}$/; // mobiles dialled long-distance from a landline
const LANDLINE_2 = /^0(?:10|2\d)[1-9]\d{7}$/;
const LANDLINE_3 = /^0[3-9]\d\d[1-9]\d{6,7}$/;
const TOLLFREE = /^[48]00\d{7}$/;
const PREMIUM = /^(?:16[08]\d{3,8}|1259\d{1,7})$/;
const SERVICE = /^(?:9[56]\d{3,6}|10\d{3}|1010\d{4}|1[12]\d{3}|11[247]|121)$/;

/** Classifies digits in national form; null when they fit no plan (malformed). */
export function classifyNational(digits: string): Classification | null {
  if (EMERGENCY_NUMBERS.has(digits)) return { class: 'emergency', national: digits, areaCode: null };
  // Premium before mobile: 160/168 are not mobile segments, 16812345678 is a voice info number.
  if (PREMIUM.test(digits)) return { class: 'premium', national: digits, areaCode: null };
  if (MOBILE.test(digits)) return { class: 'mobile', national: digits, areaCode: null };
  if (MOBILE_WITH_TRUNK_ZERO.test(digits)) return { class: 'mobile', national: digits.slice(1), areaCode: null };
  if (LANDLINE_2.test(digits)) return { class: 'landline', national: digits, areaCode: digits.slice(0, 3) };
  if (LANDLINE_3.test(digits)) return { class: 'landline', national: digits, areaCode: digits.slice(0, 4) };
  if (TOLLFREE.test(digits)) {
    return { class: digits.startsWith('4') ? 'tollfree400' : 'tollfree800', national: digits, areaCode: null };
  }
  if (SERVICE.test(digits)) return { class: 'service', national: digits, areaCode: null };
  return null;
}
