// Evaluation of a Schedule (weekly ranges, Chinese statutory holidays) at an instant.
// Ranges are half-open [start, end) in local time: a 08:00–19:30 window admits 19:29:59.999 and
// refuses 19:30:00 (004 §3.2). A range with end <= start matches nothing: an overnight window is
// written as two ranges on adjacent days.
// With holidays 'cn-statutory':
// - a statutory holiday uses `holidayRanges` (empty = closed), whatever its weekday;
// - a make-up working day (调休, usually a Saturday or Sunday) is an ordinary working day: it uses
//   `workdayRanges` when configured, else the ranges of the first of Monday…Friday that has any.
//   The State Council's notices name the date to be worked, not which weekday it stands in for,
//   so "an ordinary working day" is the faithful reading.
import type { Schedule, TimeRange, Weekday } from '../config/types.js';
import { type StatutoryDay, statutoryCalendarCovers, statutoryDay } from './holidays.js';
import { type LocalDateTime, formatLocalDateTime, localDateTime } from './zone.js';

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export type DayType = 'workday' | 'weekend' | 'holiday' | 'makeup-workday';

/** Ranges as [startMs, endMs) pairs of ms since local midnight, flattened. */
type Compiled = Float64Array;

interface CompiledSchedule {
  weekly: Compiled[]; // by weekday index, Monday first
  workday: Compiled;
  holiday: Compiled;
  workdayRanges: readonly TimeRange[];
}

const compiled = new WeakMap<Schedule, CompiledSchedule>();

/** "HH:MM" → ms since midnight; NaN when malformed. "24:00" is the end of the day. */
export function parseLocalTime(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) return Number.NaN;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return Number.NaN;
  return (h * 60 + min) * 60_000;
}

function compileRanges(ranges: readonly TimeRange[] | undefined): Compiled {
  const out: number[] = [];
  for (const r of ranges ?? []) out.push(parseLocalTime(r.start), parseLocalTime(r.end));
  return Float64Array.from(out);
}

function compile(schedule: Schedule): CompiledSchedule {
  let c = compiled.get(schedule);
  if (!c) {
    const workdayRanges = schedule.workdayRanges
      ?? WEEKDAYS.slice(0, 5).map((d) => schedule.weekly[d]).find((r) => r !== undefined && r.length > 0)
      ?? [];
    c = {
      weekly: WEEKDAYS.map((d) => compileRanges(schedule.weekly[d])),
      workday: compileRanges(workdayRanges),
      holiday: compileRanges(schedule.holidayRanges),
      workdayRanges,
    };
    compiled.set(schedule, c);
  }
  return c;
}

function inRanges(ranges: Compiled, msOfDay: number): boolean {
  for (let i = 0; i + 1 < ranges.length; i += 2) {
    // NaN bounds (malformed config) compare false: the range matches nothing.
    if (msOfDay >= ranges[i]! && msOfDay < ranges[i + 1]!) return true;
  }
  return false;
}

function statutory(schedule: Schedule, t: LocalDateTime): StatutoryDay | undefined {
  return schedule.holidays === 'cn-statutory' ? statutoryDay(t.dayNumber) : undefined;
}

function rangesFor(schedule: Schedule, c: CompiledSchedule, t: LocalDateTime, day: StatutoryDay | undefined): Compiled {
  if (day?.kind === 'holiday') return c.holiday;
  if (day?.kind === 'makeup-workday') return c.workday;
  return c.weekly[t.weekday] ?? c.holiday;
}

/** Whether the instant falls inside the schedule. */
export function isWithin(schedule: Schedule, nowMs: number): boolean {
  const c = compile(schedule);
  const t = localDateTime(schedule.timezone || DEFAULT_TIME_ZONE, nowMs);
  return inRanges(rangesFor(schedule, c, t, statutory(schedule, t)), t.msOfDay);
}

export interface ScheduleDescription {
  timezone: string;
  /** "2026-10-01T20:00:00+08:00" */
  localTime: string;
  weekday: Weekday;
  dayType: DayType;
  /** Statutory holiday or make-up day name, e.g. "National Day / 国庆节". */
  holidayName: string | null;
  /** The ranges that applied on this day. */
  ranges: readonly TimeRange[];
  within: boolean;
  /** False when holidays are on but the statutory table has no data for this year. */
  calendarCovered: boolean;
}

/** isWithin with the facts behind it, for explain output, CDRs and logs. */
export function describe(schedule: Schedule, nowMs: number): ScheduleDescription {
  const timezone = schedule.timezone || DEFAULT_TIME_ZONE;
  const c = compile(schedule);
  const t = localDateTime(timezone, nowMs);
  const day = statutory(schedule, t);
  const weekday = WEEKDAYS[t.weekday] ?? 'mon';
  let dayType: DayType = t.weekday >= 5 ? 'weekend' : 'workday';
  let ranges: readonly TimeRange[] = schedule.weekly[weekday] ?? [];
  if (day?.kind === 'holiday') {
    dayType = 'holiday';
    ranges = schedule.holidayRanges;
  } else if (day?.kind === 'makeup-workday') {
    dayType = 'makeup-workday';
    ranges = c.workdayRanges;
  }
  return {
    timezone,
    localTime: formatLocalDateTime(t),
    weekday,
    dayType,
    holidayName: day?.name ?? null,
    ranges,
    within: inRanges(rangesFor(schedule, c, t, day), t.msOfDay),
    calendarCovered: schedule.holidays !== 'cn-statutory' || statutoryCalendarCovers(t.year),
  };
}
