// Number status (002 §2.3, §3.2, §3.11): in service, not in service (package expired, suspended,
// not yet open), or reclaimed (service stopped 7 days or more without renewal). Pure; dates are
// local dates in the plan's zone (Asia/Shanghai by default).
import type { Plan400, Tenant } from '../../config/types.js';
import { daysFromCivil, formatLocalDate, localDateTime } from '../../time/zone.js';

/** 002 §2.3: 通信服务停断7天仍未续费 → the number is given up. */
export const RECLAIM_AFTER_DAYS = 7;

export type NumberStatus =
  | { kind: 'in-service'; detail: string }
  | { kind: 'not-in-service'; detail: string }
  | { kind: 'reclaimed'; detail: string };

function dayNumber(iso: string): number {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  return daysFromCivil(y ?? 1970, m ?? 1, d ?? 1);
}

/** First day after the package period: startDate + months (the day clamped to the month's end). */
export function packageEndDate(startDate: string, months: number): string {
  const [y, m, d] = startDate.slice(0, 10).split('-').map(Number) as [number, number, number];
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return `${year}-${String(month).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`;
}

export function numberStatus(plan: Plan400, owner: Tenant | undefined, now: number, zone: string): NumberStatus {
  const today = formatLocalDate(localDateTime(zone, now));
  const todayN = dayNumber(today);
  const stoppedFor = (since: string): number => todayN - dayNumber(since);
  if (plan.status === 'suspended') {
    const since = plan.suspendedSince ?? today;
    const days = stoppedFor(since);
    if (days >= RECLAIM_AFTER_DAYS) return { kind: 'reclaimed', detail: `suspended since ${since} (${days} days ≥ ${RECLAIM_AFTER_DAYS}): number reclaimed` };
    return { kind: 'not-in-service', detail: `suspended since ${since} (${days} days)` };
  }
  const end = packageEndDate(plan.package.startDate, plan.package.months);
  if (today >= end) {
    const days = stoppedFor(end);
    if (days >= RECLAIM_AFTER_DAYS) return { kind: 'reclaimed', detail: `package ended ${end} (${days} days without renewal ≥ ${RECLAIM_AFTER_DAYS}): number reclaimed` };
    return { kind: 'not-in-service', detail: `package ended ${end}, today is ${today}` };
  }
  if (today < plan.package.startDate) return { kind: 'not-in-service', detail: `service opens ${plan.package.startDate}, today is ${today}` };
  if (owner?.status === 'suspended') return { kind: 'not-in-service', detail: `owner tenant ${owner.id} is suspended` };
  return { kind: 'in-service', detail: `package ${plan.package.startDate} to ${end} (exclusive)` };
}
