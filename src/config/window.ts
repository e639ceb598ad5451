// Dialing windows (004 §3.2: outbound only 08:00–19:30) from their YAML form into a Schedule,
// rejecting day keys that name nothing and ranges that overlap on a day.
import type { IssueList } from './errors.js';
import { expandDayKey, parseTimeRange, WEEKDAYS, type ParsedRange } from './schedule.js';
import type { Path, YamlSource } from './source.js';
import type { Schedule, TimeRange, Weekday } from './types.js';

export interface ScheduleYaml {
  timezone?: string;
  holidays?: 'ignore' | 'cn-statutory';
  weekly: Record<string, string[]>;
  holidayRanges?: string[];
  workdayRanges?: string[];
}

interface Placed { range: ParsedRange; path: Path }

/**
 * Days not named in `weekly` are closed. A day named twice (e.g. in `all` and `mon`) gets both
 * lists; their ranges must not overlap.
 */
export function buildSchedule(src: YamlSource, path: Path, y: ScheduleYaml, defaultTimezone: string, issues: IssueList): Schedule {
  const perDay = new Map<Weekday, Placed[]>();
  for (const [key, texts] of Object.entries(y.weekly)) {
    const days = expandDayKey(key);
    if (!days) {
      issues.error(src.issue([...path, 'weekly', key], `\`${key}\` does not name days`, 'use mon..sun, all, weekdays, weekend, or a forward range such as mon-fri', true));
      continue;
    }
    for (const d of days) if (!perDay.has(d)) perDay.set(d, []);
    texts.forEach((text, i) => {
      const r = parseTimeRange(text);
      if (!r.ok) return; // reported by the schema check
      for (const d of days) perDay.get(d)!.push({ range: r.value, path: [...path, 'weekly', key, i] });
    });
  }
  const weekly: Partial<Record<Weekday, TimeRange[]>> = {};
  const overlaps = new Map<string, { a: Placed; b: Placed; days: Weekday[] }>();
  for (const d of WEEKDAYS) {
    const placed = perDay.get(d);
    if (!placed) continue;
    weekly[d] = sortedRanges(placed, (a, b) => {
      const k = `${a.path.join('/')}|${b.path.join('/')}`;
      const o = overlaps.get(k) ?? { a, b, days: [] };
      o.days.push(d);
      overlaps.set(k, o);
    });
  }
  for (const { a, b, days } of overlaps.values()) {
    issues.error(src.issue(b.path,
      `${b.range.start}-${b.range.end} overlaps ${a.range.start}-${a.range.end} (${src.where(a.path)}) on ${days.length === 7 ? 'every day' : days.join(', ')}`,
      'ranges of one day must not overlap; merge them into one range'));
  }
  const holidayRanges = sortedRanges(
    (y.holidayRanges ?? []).flatMap((text, i) => {
      const r = parseTimeRange(text);
      return r.ok ? [{ range: r.value, path: [...path, 'holidayRanges', i] }] : [];
    }),
    (a, b) => issues.error(src.issue(b.path, `${b.range.start}-${b.range.end} overlaps ${a.range.start}-${a.range.end}`, 'merge them into one range')),
  );
  const workdayRanges = y.workdayRanges === undefined ? undefined : sortedRanges(
    y.workdayRanges.flatMap((text, i) => {
      const r = parseTimeRange(text);
      return r.ok ? [{ range: r.value, path: [...path, 'workdayRanges', i] }] : [];
    }),
    (a, b) => issues.error(src.issue(b.path, `${b.range.start}-${b.range.end} overlaps ${a.range.start}-${a.range.end}`, 'merge them into one range')),
  );
  return {
    timezone: y.timezone ?? defaultTimezone,
    weekly,
    holidays: y.holidays ?? 'ignore',
    holidayRanges,
    ...(workdayRanges ? { workdayRanges } : {}),
  };
}

function sortedRanges(placed: Placed[], onOverlap: (earlier: Placed, later: Placed) => void): TimeRange[] {
  const sorted = [...placed].sort((x, y) => x.range.startMin - y.range.startMin || x.range.endMin - y.range.endMin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.range.startMin < prev.range.endMin) onOverlap(prev, cur);
  }
  return sorted.map((p) => ({ start: p.range.start, end: p.range.end }));
}
