// 002 §3.5 missed calls: "如日未接电话数量达到或超过100个 … 则当日只要有客户再进行拨打，乙方对甲方未接
// 通话部分按照号码套餐费率乘以对应分钟数进行扣费". Once a day's unanswered calls have reached 100,
// every further unanswered call that day is charged at the package rate for its minutes.
// Our reading, to the call: the 100th unanswered call is the one that *reaches* the threshold and
// is not charged; the 101st and every later one that day are (the acceptance: the 101st is
// charged, the 99th is not). The day is the local calendar day (Asia/Shanghai), so the count
// resets at local midnight. The minutes are the caller's waiting time, from the INVITE to its end,
// rated with the same function and increments as answered time.
import type { TariffRate } from '../../config/types.js';
import { rateCall } from '../../rating/rate.js';

/** Unanswered calls a day that cost nothing; from the next one on they are charged. */
export const FREE_MISSED_CALLS_PER_DAY = 100;

export interface MissedCallCharge {
  charged: boolean;
  billableSeconds: number;
  billedSeconds: number;
  cost: number;
  detail: string;
}

/** `ordinal`: this call's place among the day's unanswered calls of the number (1-based). */
export function missedCallCharge(ordinal: number, waitedMs: number, rate: TariffRate): MissedCallCharge {
  if (ordinal <= FREE_MISSED_CALLS_PER_DAY) {
    return { charged: false, billableSeconds: 0, billedSeconds: 0, cost: 0, detail: `missed call ${ordinal} of the day: free up to ${FREE_MISSED_CALLS_PER_DAY} (002 §3.5)` };
  }
  const r = rateCall(rate, waitedMs);
  return { charged: true, ...r, detail: `missed call ${ordinal} of the day (> ${FREE_MISSED_CALLS_PER_DAY}): ${r.billedSeconds} s at the package rate (002 §3.5)` };
}
