// A deliberately tiny normaliser for numbers written in config files and list files.
// The full normaliser (classification, trunk prefixes, short codes) lives in src/numbers/; list
// files only need the forms people paste from CRMs and complaint exports:
//   13800138000, +86 138 0013 8000, 0086-13800138000, 8613800138000  → 13800138000
//   010-12345678, +86 10 12345678, 00861012345678                    → 01012345678
//   +86 10086 (short service code)                                   → 10086
//   +86 400 123 4567                                                  → 4001234567
//   +1 212 555 0100 (another country)                                 → 0012125550100
// Separators (space - . ( )) are dropped. Anything else is not a number (returns null).

export function toNationalNumber(raw: string): string | null {
  let s = raw.trim();
  if (s === '') return null;
  if (/[ \-.()]/.test(s)) s = s.replace(/[ \-.()]/g, '');
  let international = false;
  if (s.startsWith('+')) {
    s = s.slice(1);
    international = true;
  } else if (s.startsWith('00')) {
    s = s.slice(2);
    international = true;
  }
  if (!/^\d{3,20}$/.test(s)) return null;
  if (international) {
    if (!s.startsWith('86')) return `00${s}`;
    return afterCountryCode(s.slice(2));
  }
  // 86 + mobile without a plus sign, as CRM exports often write it.
  if (s.length === 13 && /^861[3-9]/.test(s)) return s.slice(2);
  // A mobile written with a trunk 0 (013800138000): the same national form as numbers/normalize.
  if (s.length === 12 && /^01[3-9]/.test(s)) return s.slice(1);
  return s;
}

/**
 * Digits after +86: mobiles, 400/800 and short service codes stay; landlines (area code of 2-3
 * digits + 7-8 digit subscriber = 9-11 digits, e.g. 10 12345678) get their trunk 0 back.
 */
function afterCountryCode(n: string): string | null {
  if (n.length < 3) return null;
  if (/^1[3-9]\d{9}$/.test(n) || /^[48]00/.test(n) || n.startsWith('0') || n.length < 9) return n;
  return `0${n}`;
}
