// Human time formats: "HH:MM" local times, "08:00-19:30" ranges, weekday names and groups.
import type { Parsed } from './money.js';
import type { TimeRange, Weekday } from './types.js';

export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Keys a weekly table may use besides the weekday names. */
export const DAY_GROUPS: Readonly<Record<string, readonly Weekday[]>> = {
  all: WEEKDAYS,
  weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
  weekend: ['sat', 'sun'],
};

/** Minutes since midnight; 24:00 (= 1440) is valid as the end of a range. */
export function parseLocalTime(text: string): Parsed<number> {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m) return { ok: false, reason: `"${text}" is not a time`, hint: 'write times as HH:MM, e.g. 08:00' };
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24) return { ok: false, reason: `hour ${h} in "${text}" is out of range 00-24` };
  if (min > 59) return { ok: false, reason: `minute ${min} in "${text}" is out of range 00-59` };
  if (h === 24 && min !== 0) return { ok: false, reason: `"${text}" is past the end of the day`, hint: 'the latest time is 24:00' };
  return { ok: true, value: h * 60 + min };
}

export interface ParsedRange extends TimeRange { startMin: number; endMin: number }

/** "08:00-19:30" → range; start before end, end may be 24:00, no crossing midnight. */
export function parseTimeRange(text: string): Parsed<ParsedRange> {
  const parts = text.split('-').map((p) => p.trim());
  if (parts.length !== 2) {
    return { ok: false, reason: `"${text}" is not a time range`, hint: 'write ranges as HH:MM-HH:MM, e.g. 08:00-19:30' };
  }
  const start = parseLocalTime(parts[0]!);
  if (!start.ok) return start;
  const end = parseLocalTime(parts[1]!);
  if (!end.ok) return end;
  if (start.value === 1440) return { ok: false, reason: `range "${text}" starts at 24:00`, hint: 'use 00:00 for midnight at the start of a day' };
  if (end.value <= start.value) {
    return {
      ok: false,
      reason: `range "${text}" ends before it starts`,
      hint: end.value < start.value ? `ranges cannot cross midnight: split it into ${fmt(start.value)}-24:00 and 00:00-${fmt(end.value)}` : 'a range must not be empty',
    };
  }
  return { ok: true, value: { start: fmt(start.value), end: fmt(end.value), startMin: start.value, endMin: end.value } };
}

/** "mon", "weekdays", "mon-fri" → the days it names; undefined if not a day key. */
export function expandDayKey(key: string): readonly Weekday[] | undefined {
  const group = DAY_GROUPS[key];
  if (group) return group;
  if ((WEEKDAYS as readonly string[]).includes(key)) return [key as Weekday];
  const m = /^([a-z]{3})-([a-z]{3})$/.exec(key);
  if (!m) return undefined;
  const a = WEEKDAYS.indexOf(m[1] as Weekday);
  const b = WEEKDAYS.indexOf(m[2] as Weekday);
  if (a < 0 || b < 0 || b < a) return undefined;
  return WEEKDAYS.slice(a, b + 1);
}

export function fmt(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** ISO calendar date "YYYY-MM-DD" that exists. */
export function isIsoDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}
