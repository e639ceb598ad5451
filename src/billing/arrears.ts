// Arrears policy (001 §6; 003 §3 二 says the same 3‰), as pure functions of an account's state,
// a day and a time zone. The ledger keeps the state (arrears, arrearsSince, lateFeeArrears); the
// daily close (close-day.ts) applies what planArrearsDay decides.
//
// 001 §6(一) 欠费停机: "甲方超过约定缴费日未交足费用（欠费），乙方有权暂停提供服务，并可以按照
// 自欠费之日起每日加收千分之三的违约金" — an account in arrears is suspended, and from the day the
// arrears began a late fee of 3‰ of the arrears is added each day. (The original prints "3%(千分之三)";
// the words say per mille, and 003 §3 二 writes ３‰: the rate is 3‰.)
// 001 §6(二)5: "甲方欠费满30日仍未缴纳费用" — 30 full days in arrears, the agreement may be ended:
// the account is closed.
import { formatYuan } from '../config/money.js';
import type { Money } from '../ledger/types.js';
import { daysFromCivil, localDate } from '../time/zone.js';

/** 001 §6(一): 3‰ of the arrears per day. */
export const LATE_FEE_PER_MILLE = 3;
/** 001 §6(二)5: closed once in arrears for 30 days. */
export const CLOSE_AFTER_DAYS = 30;

const DAY = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/** What the policy reads of a ledger account. */
export interface ArrearsState {
  account: string;
  tenant: string;
  status: 'active' | 'suspended' | 'closed';
  /** Everything owed: unpaid fees and unpaid late fees. */
  arrears: Money;
  /** Unpaid late fees inside `arrears`. */
  lateFeeArrears: Money;
  /** Start of the episode; null when there are no arrears (or they predate episode stamps). */
  arrearsSince: number | null;
}

/**
 * 3‰ of `principal`, rounded down to the ledger unit (0.0001 yuan). Down, in the tenant's favour:
 * the contract allows at most 3‰, so rounding up would overcharge; what rounding gives up is under
 * 0.0001 yuan a day. Exact integer arithmetic (no float division).
 */
export function lateFeeOf(principal: Money): Money {
  if (!Number.isSafeInteger(principal) || principal < 0) throw new Error(`principal must be a whole number of units ≥ 0: ${principal}`);
  const n = principal * LATE_FEE_PER_MILLE;
  if (!Number.isSafeInteger(n)) throw new Error(`principal too large: ${principal}`);
  return (n - (n % 1000)) / 1000;
}

/** Day number (days since 1970-01-01) of a YYYY-MM-DD, or an error for a malformed one. */
export function dayNumberOf(day: string): number {
  const m = DAY.exec(day);
  if (!m) throw new Error(`day must be YYYY-MM-DD: ${day}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const n = daysFromCivil(y, mo, d);
  if (new Date(n * 86_400_000).getUTCDate() !== d) throw new Error(`no such day: ${day}`);
  return n;
}

/** Which day of the episode `day` is (1 = the day the arrears began), in the zone; ≤ 0 = before it. */
export function arrearsDay(since: number, day: string, zone: string): number {
  return dayNumberOf(day) - dayNumberOf(localDate(zone, since)) + 1;
}

export interface DayPlan {
  account: string;
  tenant: string;
  day: string;
  /** Day of the episode (1-based), null when the account is not in arrears on that day. */
  dayOfArrears: number | null;
  /** The late fee to charge for the day (null: none). */
  lateFee: { entryId: string; amount: Money; principal: Money; since: number; note: string } | null;
  /** Close the account after the fee (001 §6(二)5). */
  close: { since: number; note: string } | null;
  /** Why, in one line (printed by the CLI). */
  detail: string;
}

/**
 * The daily close of one account for `day` (a local date in `zone`): a late fee for every day of
 * the episode from its first, on the fees owed (arrears − unpaid late fees, so late fees bear no
 * late fee), then closure on the 30th day. A closed account is charged nothing more (the
 * agreement has ended; what is owed is collected outside dialgate). Entry ids are account-scoped
 * and named by the day (`latefee:YYYY-MM-DD`), so a re-run charges nothing twice.
 */
export function planArrearsDay(s: ArrearsState, day: string, zone: string): DayPlan {
  const base = { account: s.account, tenant: s.tenant, day, lateFee: null, close: null };
  dayNumberOf(day);
  if (s.status === 'closed') return { ...base, dayOfArrears: null, detail: 'closed: no late fee' };
  if (s.arrears <= 0 || s.arrearsSince === null) return { ...base, dayOfArrears: null, detail: 'no arrears' };
  const since = s.arrearsSince;
  const n = arrearsDay(since, day, zone);
  if (n < 1) return { ...base, dayOfArrears: null, detail: `arrears began after ${day}` };
  const principal = s.arrears - s.lateFeeArrears;
  const fee = lateFeeOf(principal);
  const lateFee = fee > 0 ? {
    entryId: `latefee:${day}`, amount: fee, principal, since,
    note: `late fee ${day}, day ${n} in arrears: 3‰ of ${principal} owed (001 §6(一))`,
  } : null;
  const close = n >= CLOSE_AFTER_DAYS ? { since, note: `closed: ${n} days in arrears since ${localDate(zone, since)} (001 §6(二)5)` } : null;
  const owed = `day ${n} in arrears, ${formatYuan(principal)} yuan owed${s.lateFeeArrears ? ` + ${formatYuan(s.lateFeeArrears)} yuan late fees` : ''}`;
  return { ...base, dayOfArrears: n, lateFee, close, detail: lateFee ? owed : `${owed}; the fee rounds to 0` };
}
