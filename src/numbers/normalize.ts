// Normalisation of a dialled number to its national form before any decision is taken on it:
// blacklists, routes and tariffs all match the national form, so "+86 138-0013-8000",
// "008613800138000", "8613800138000" and "sip:13800138000@pbx" are one number.
import type { NumberClass } from '../config/types.js';
import { classifyNational } from './classify.js';
import { type Region, regionOfAreaCode, regionOfMobile } from './region.js';

export interface DialledNumber {
  /** What the caller sent. */
  raw: string;
  /** National form: 13800138000, 01012345678, 4001234567, 95588, 110; international 00 + CC + number. */
  national: string;
  /** +CC… form; null for short codes, which have none. */
  e164: string | null;
  class: NumberClass;
  /** Landlines: area code with its 0 (010, 0755); otherwise null. */
  areaCode: string | null;
  /** Province and city of landlines and mobiles where the data knows it. */
  region: Region | null;
}

export type NumberErrorCode = 'empty' | 'invalid-characters' | 'too-long' | 'unknown-format';

export interface NumberError {
  code: NumberErrorCode;
  message: string;
  raw: string;
}

export type NormalizeResult = { ok: true; number: DialledNumber } | { ok: false; error: NumberError };

// RFC 3966 visual separators plus spaces; anything else (letters, * and #) is not a PSTN number.
const DIALLABLE = /^[\s(]*\+?[\d\s\-.()/]+$/;
const PLUS = /^[\s(]*\+/;
const NOT_DIGIT = /\D/g;
const MAX_DIGITS = 20;
const INTERNATIONAL = /^[1-9]\d{5,14}$/; // E.164: country code + number, at most 15 digits

/** The user part of a SIP/tel URI or name-addr; the input itself when it is not one. */
export function userPart(raw: string): string {
  let s = raw.trim();
  const open = s.indexOf('<');
  if (open >= 0) {
    const close = s.indexOf('>', open);
    s = s.slice(open + 1, close < 0 ? undefined : close);
  }
  const colon = s.indexOf(':');
  if (colon > 0 && colon <= 4) {
    const scheme = s.slice(0, colon).toLowerCase();
    if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') s = s.slice(colon + 1);
  }
  for (const stop of ['@', ';', '?']) {
    const at = s.indexOf(stop);
    if (at >= 0) s = s.slice(0, at);
  }
  if (s.startsWith('%2B') || s.startsWith('%2b')) s = `+${s.slice(3)}`;
  return s.trim();
}

function fail(raw: string, code: NumberErrorCode, message: string): NormalizeResult {
  return { ok: false, error: { code, message, raw } };
}

function international(raw: string, digits: string): NormalizeResult {
  if (!INTERNATIONAL.test(digits)) {
    return fail(raw, 'unknown-format', `not a valid international number: +${digits}`);
  }
  return {
    ok: true,
    number: { raw, national: `00${digits}`, e164: `+${digits}`, class: 'international', areaCode: null, region: null },
  };
}

function national(raw: string, digits: string): NormalizeResult {
  const c = classifyNational(digits);
  if (!c) return fail(raw, 'unknown-format', `not a Chinese number in any known form: ${digits}`);
  let e164: string | null = null;
  let region: Region | null = null;
  switch (c.class) {
    case 'mobile':
      e164 = `+86${c.national}`;
      region = regionOfMobile(c.national);
      break;
    case 'landline':
      e164 = `+86${c.national.slice(1)}`;
      region = c.areaCode ? regionOfAreaCode(c.areaCode) : null;
      break;
    case 'tollfree400':
    case 'tollfree800':
      e164 = `+86${c.national}`;
      break;
    default:
      break;
  }
  return { ok: true, number: { raw, national: c.national, e164, class: c.class, areaCode: c.areaCode, region } };
}

/** Digits after country code 86: "+86 010 …" (stray trunk 0) and "+86 10 …" both mean 010…. */
function afterCountryCode(raw: string, nsn: string): NormalizeResult {
  const n = nsn.startsWith('0') ? nsn.slice(1) : nsn;
  // Landline significant numbers start with an area code, 10 (Beijing, 10 digits) or [2-9]x
  // (9 digits or more); 95xxx and 96xxx short codes are shorter, 400/800 are not area codes.
  const beijing = n.length === 10 && n.startsWith('10');
  const areaCode = n.length >= 9 && n.charCodeAt(0) >= 50 /* '2' */ && !n.startsWith('400') && !n.startsWith('800');
  if (beijing || areaCode) return national(raw, `0${n}`);
  return national(raw, n);
}

/**
 * Normalises a dialled number (digits, +86 / 0086 / 86 forms, separators, SIP or tel URI) to its
 * national form and classifies it. Malformed input gives an error (the caller answers 484).
 */
export function normalizeNumber(raw: string): NormalizeResult {
  const user = userPart(raw);
  if (user === '') return fail(raw, 'empty', 'no number dialled');
  if (!DIALLABLE.test(user)) return fail(raw, 'invalid-characters', `not a dialable number: ${user}`);
  const digits = user.replace(NOT_DIGIT, '');
  if (digits === '') return fail(raw, 'empty', 'no digits dialled');
  if (digits.length > MAX_DIGITS) return fail(raw, 'too-long', `too many digits (${digits.length})`);
  if (PLUS.test(user)) {
    return digits.startsWith('86') ? afterCountryCode(raw, digits.slice(2)) : international(raw, digits);
  }
  if (digits.startsWith('00')) {
    return digits.startsWith('0086') ? afterCountryCode(raw, digits.slice(4)) : international(raw, digits.slice(2));
  }
  // Bare 86: no national number starts with 86 and is 11+ digits long (local numbers without
  // their area code are 7-8 digits and are not accepted anyway).
  if (digits.startsWith('86') && digits.length >= 11) return afterCountryCode(raw, digits.slice(2));
  return national(raw, digits);
}
