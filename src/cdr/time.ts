// Wall-clock rendering in a named time zone (CDRs and access logs are read in Beijing time).
// Intl rather than a fixed +08:00 so a tenant zone other than Asia/Shanghai renders correctly.

export const BEIJING = 'Asia/Shanghai';

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, timeZone: string): Record<string, number> {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

import { localDate } from '../time/zone.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "YYYY-MM-DD" of the instant in the zone (the one local-date function, time/zone.ts). */
export function zonedDate(ms: number, timeZone = BEIJING): string {
  return localDate(timeZone, ms);
}

/** ISO 8601 with the zone's offset, e.g. 2025-03-01T08:00:00.000+08:00. */
export function zonedIso(ms: number, timeZone = BEIJING): string {
  const p = parts(ms, timeZone);
  const millis = ((ms % 1000) + 1000) % 1000;
  const asUtc = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  const offsetMin = Math.round((asUtc - (ms - millis)) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${zonedDate(ms, timeZone)}T${pad(p.hour ?? 0)}:${pad(p.minute ?? 0)}:${pad(p.second ?? 0)}`
    + `.${pad(millis, 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
