// Chinese statutory holidays (法定节假日) and make-up working days (调休上班), from the
// chinese-days package's published table (dist/chinese-days.json, one entry per date, updated
// yearly when the State Council announces the next year). Loaded once into a map keyed by day
// number, so a lookup is one Map.get.
import { createRequire } from 'node:module';
import { daysFromCivil } from './zone.js';

export type StatutoryDayKind = 'holiday' | 'makeup-workday';

export interface StatutoryDay {
  kind: StatutoryDayKind;
  /** "National Day / 国庆节" */
  name: string;
}

interface ChineseDaysTable {
  holidays: Record<string, string>; // "2026-10-01": "National Day,国庆节,3"
  workdays: Record<string, string>;
}

let table: { days: Map<number, StatutoryDay>; firstYear: number; lastYear: number } | undefined;

function load(): NonNullable<typeof table> {
  const data = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as ChineseDaysTable;
  const days = new Map<number, StatutoryDay>();
  let firstYear = Infinity;
  let lastYear = -Infinity;
  const add = (entries: Record<string, string>, kind: StatutoryDayKind): void => {
    for (const [date, label] of Object.entries(entries)) {
      const [year, month, day] = date.split('-').map(Number);
      if (!year || !month || !day) continue;
      const [en, zh] = label.split(',');
      days.set(daysFromCivil(year, month, day), { kind, name: zh ? `${en} / ${zh}` : (en ?? label) });
      firstYear = Math.min(firstYear, year);
      lastYear = Math.max(lastYear, year);
    }
  };
  add(data.holidays, 'holiday');
  add(data.workdays, 'makeup-workday');
  return { days, firstYear, lastYear };
}

/** The statutory status of a local date (by day number), or undefined for an ordinary day. */
export function statutoryDay(dayNumber: number): StatutoryDay | undefined {
  return (table ??= load()).days.get(dayNumber);
}

/** Whether the table covers the year (beyond it, every day is ordinary: say so in explain output). */
export function statutoryCalendarCovers(year: number): boolean {
  const t = (table ??= load());
  return year >= t.firstYear && year <= t.lastYear;
}

/** The first and last year the table holds. */
export function statutoryCalendarYears(): { firstYear: number; lastYear: number } {
  const t = (table ??= load());
  return { firstYear: t.firstYear, lastYear: t.lastYear };
}
