// The one rating function: live calls (cut-off), explain, settlement and re-rating all use it.
// Rules (issue 4 §2; 004 §1, §3.1: 0.13 yuan per 60 s, any part minute billed as 60 s):
// - billable seconds = answered ms rounded up to whole seconds;
// - billed seconds = 0 when billable is 0, else the initial increment plus the rest rounded up
//   to subsequent increments;
// - cost = connect fee + rate per minute × billed seconds / 60, rounded up to the smallest money
//   unit (0.0001 yuan) once per call. A call with 0 billed seconds costs nothing, connect fee
//   included ("0 s answered → 0 cost").
// Money is integer; products are exact while below 2^53 and fall back to BigInt above it.
import type { Money, TariffRate } from '../config/types.js';

/** The parts of a tariff rate that decide a price. */
export type RatingTerms = Pick<TariffRate, 'ratePerMinute' | 'initialIncrement' | 'subsequentIncrement' | 'connectFee'>;

export interface RatedCall {
  billableSeconds: number;
  billedSeconds: number;
  cost: Money;
}

function check(rate: RatingTerms): void {
  if (!(Number.isSafeInteger(rate.initialIncrement) && rate.initialIncrement > 0
    && Number.isSafeInteger(rate.subsequentIncrement) && rate.subsequentIncrement > 0
    && Number.isSafeInteger(rate.ratePerMinute) && rate.ratePerMinute >= 0
    && Number.isSafeInteger(rate.connectFee) && rate.connectFee >= 0)) {
    throw new RangeError(`invalid rating terms ${JSON.stringify(rate)}`);
  }
}

/** Answered milliseconds → whole seconds, rounded up; nothing answered → 0. */
export function billableSeconds(answeredMs: number): number {
  return answeredMs > 0 ? Math.ceil(answeredMs / 1000) : 0;
}

/** Billable seconds → billed seconds on the increment grid. */
export function billedSeconds(billable: number, initialIncrement: number, subsequentIncrement: number): number {
  if (billable <= 0) return 0;
  if (billable <= initialIncrement) return initialIncrement;
  const rest = billable - initialIncrement;
  return initialIncrement + Math.ceil(rest / subsequentIncrement) * subsequentIncrement;
}

/** ceil(a × b / 60) for non-negative safe integers, exactly. */
function perMinute(ratePerMinute: number, seconds: number): number {
  const product = ratePerMinute * seconds;
  if (Number.isSafeInteger(product)) {
    const rem = product % 60;
    return (product - rem) / 60 + (rem > 0 ? 1 : 0);
  }
  const big = BigInt(ratePerMinute) * BigInt(seconds);
  return Number((big + 59n) / 60n);
}

/** Cost of a billed duration (already on the increment grid). */
export function costOfBilled(rate: RatingTerms, billed: number): Money {
  if (billed <= 0) return 0;
  return rate.connectFee + perMinute(rate.ratePerMinute, billed);
}

/** Rates an answered call: answer (200 OK) to the first BYE, in ms. */
export function rateCall(rate: RatingTerms, answeredMs: number): RatedCall {
  check(rate);
  const billable = billableSeconds(answeredMs);
  const billed = billedSeconds(billable, rate.initialIncrement, rate.subsequentIncrement);
  return { billableSeconds: billable, billedSeconds: billed, cost: costOfBilled(rate, billed) };
}

/**
 * The longest billed duration (0 or initial + k × subsequent seconds) whose cost is ≤ available:
 * a call cut off at that many answered seconds never costs more than the balance.
 * 0 when even the initial increment is unaffordable; null (unlimited) when the rate is free.
 */
export function maxBilledSecondsFor(rate: RatingTerms, available: Money): number | null {
  check(rate);
  const budget = available - rate.connectFee;
  if (budget < 0) return 0;
  if (rate.ratePerMinute === 0) return null;
  // cost(B) ≤ available ⇔ ceil(r·B/60) ≤ budget ⇔ r·B ≤ 60·budget (budget is an integer).
  const r = BigInt(rate.ratePerMinute);
  const limit = 60n * BigInt(budget);
  const initial = BigInt(rate.initialIncrement);
  if (r * initial > limit) return 0;
  const k = (limit - r * initial) / (r * BigInt(rate.subsequentIncrement));
  return Number(initial + k * BigInt(rate.subsequentIncrement));
}
