// Things in a config that stop working on a date: a tenant's service period, a 400 package, and
// the statutory-holiday calendar behind `holidays: cn-statutory` schedules (the table is published
// a year at a time). Loading warns ahead of time, so an admin hears of it before callers do.
// Pure: "now" comes from the loader (LoadOptions.now), never the wall clock.
import { packageEndDate } from '../policy/inbound/status.js';
import { statutoryCalendarCovers, statutoryCalendarYears } from '../time/holidays.js';
import { daysFromCivil, formatLocalDate, localDateTime } from '../time/zone.js';
import type { IssueList } from './errors.js';
import type { Path, YamlSource } from './source.js';
import type { ConfigSnapshot, Schedule } from './types.js';

/** How far ahead an end date or a calendar gap is reported. */
export const NOTICE_DAYS = 30;

interface Where { src: YamlSource; path: Path }

function dayOf(iso: string): number {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  return daysFromCivil(y ?? 1970, m ?? 1, d ?? 1);
}

/**
 * Warns when `end` (exclusive: the first day without service) is past or within NOTICE_DAYS of
 * today in `zone`. `what` names the thing, `after` says what callers get once it has ended.
 */
export function noticeEnd(issues: IssueList, at: Where, what: string, end: string, after: string, now: number, zone: string): void {
  const today = localDateTime(zone, now);
  const left = dayOf(end) - today.dayNumber;
  if (left > NOTICE_DAYS) return;
  const message = left <= 0
    ? `${what} ended on ${end} (today is ${formatLocalDate(today)}): ${after}`
    : `${what} ends on ${end}, in ${left} day${left === 1 ? '' : 's'}: then ${after}`;
  issues.warn(at.src.issue(at.path, message, 'renew it (a later date) or remove it; config check warns 30 days ahead'));
}

export function noticePackageEnd(issues: IssueList, at: Where, number: string, pkg: { startDate: string; months: number }, now: number, zone: string): void {
  noticeEnd(issues, at, `400 number ${number}: the package (${pkg.startDate}, ${pkg.months} months)`,
    packageEndDate(pkg.startDate, pkg.months), 'callers hear not-in-service and get 480 (002 §2.3)', now, zone);
}

/** The local years, this one and (within NOTICE_DAYS of New Year) the next, the table lacks. */
function uncoveredYears(zone: string, now: number): number[] {
  const years = new Set([localDateTime(zone, now).year, localDateTime(zone, now + NOTICE_DAYS * 86_400_000).year]);
  return [...years].filter((y) => !statutoryCalendarCovers(y));
}

/** Warns when a `holidays: cn-statutory` schedule meets a year the holiday table does not cover. */
export function noticeCalendar(issues: IssueList, at: Where, schedule: Schedule, now: number): void {
  if (schedule.holidays !== 'cn-statutory') return;
  const missing = uncoveredYears(schedule.timezone, now);
  if (missing.length === 0) return;
  const { lastYear } = statutoryCalendarYears();
  issues.warn(at.src.issue([...at.path, 'holidays'],
    `the statutory holiday calendar has no data for ${missing.join(' and ')} (it covers up to ${lastYear}): on those days this schedule follows its weekly rules, holidays and make-up working days are not known`,
    'update the chinese-days package once the State Council publishes the year (npm update chinese-days)'));
}

export interface CalendarStatus {
  /** Every cn-statutory schedule's current year is in the table. */
  covered: boolean;
  /** Last year the table holds. */
  coversThrough: number;
  /** Years in use (now, and next within NOTICE_DAYS) that the table lacks. */
  missingYears: number[];
  /** Schedules that use the holiday calendar: "tenant telesales window", "400 4008050508 rule holiday-duty". */
  schedules: string[];
}

/** The holiday calendar as the running config uses it: for /health and the daily log line. */
export function calendarStatus(cfg: Pick<ConfigSnapshot, 'tenants' | 'plans400'>, now: number): CalendarStatus {
  const schedules: string[] = [];
  const missing = new Set<number>();
  const use = (name: string, s: Schedule | undefined): void => {
    if (s?.holidays !== 'cn-statutory') return;
    schedules.push(name);
    for (const y of uncoveredYears(s.timezone, now)) missing.add(y);
  };
  for (const t of cfg.tenants.values()) use(`tenant ${t.id} window`, t.window);
  for (const p of cfg.plans400?.values() ?? []) for (const r of p.time?.rules ?? []) use(`400 ${p.number} rule ${r.id}`, r.schedule);
  const missingYears = [...missing].sort();
  return { covered: missingYears.length === 0, coversThrough: statutoryCalendarYears().lastYear, missingYears, schedules };
}
