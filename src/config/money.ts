// Yuan amounts as admins write them ("0.13", 100, "0.0125元") → integer Money (0.0001 yuan).
// The conversion works on the decimal text, never on float arithmetic, so 0.13 is exactly 1300.
import type { Money } from './types.js';

export const UNITS_PER_YUAN = 10_000;
const DECIMALS = 4;

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; hint?: string };

export function parseYuan(input: unknown): Parsed<Money> {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: 'amount must be a finite number' };
    // String(n) is the shortest text that reads back as n: for what a person types (≤ 15
    // significant digits) it is exactly what they typed, minus trailing zeros.
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.trim().replace(/\s*(元|yuan|CNY|RMB)$/i, '');
  } else {
    return { ok: false, reason: 'expected a yuan amount such as "0.13" or 100' };
  }
  if (/e/i.test(text)) {
    return { ok: false, reason: `amount ${text} is in exponent form`, hint: 'write it as a plain decimal, e.g. "0.0001"' };
  }
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) return { ok: false, reason: `"${text}" is not a yuan amount`, hint: 'use a decimal such as "0.13" or 100' };
  const [, sign, whole, frac = ''] = m;
  if (frac.length > DECIMALS) {
    return {
      ok: false,
      reason: `${text} has ${frac.length} decimals; amounts are kept to 0.0001 yuan (4 decimals)`,
      hint: 'round the amount to at most 4 decimals',
    };
  }
  if (sign) return { ok: false, reason: `amount ${text} is negative`, hint: 'amounts here must be 0 or more' };
  const units = Number(whole!) * UNITS_PER_YUAN + Number(frac.padEnd(DECIMALS, '0'));
  if (!Number.isSafeInteger(units)) return { ok: false, reason: `amount ${text} is too large` };
  return { ok: true, value: units };
}

/** Money → "0.13" (no trailing zeros beyond 2 decimals), for diffs and messages. */
export function formatYuan(units: Money): string {
  const neg = units < 0 ? '-' : '';
  const abs = Math.abs(units);
  const whole = Math.floor(abs / UNITS_PER_YUAN);
  const frac = String(abs % UNITS_PER_YUAN).padStart(DECIMALS, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${neg}${whole}.${frac}`;
}
