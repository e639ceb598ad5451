// Wall-clock rendering in a named time zone (CDRs and access logs are read in Beijing time).
// Intl rather than a fixed +08:00 so a tenant zone other than Asia/Shanghai renders correctly; the
// zone's offset comes from time/zone.ts, which asks Intl once per day (per quarter hour across a
// transition) instead of formatting every timestamp (this runs several times per call).
import { formatLocalDate, localDate, localDateTime } from '../time/zone.js';

export const BEIJING = 'Asia/Shanghai';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "YYYY-MM-DD" of the instant in the zone (the one local-date function, time/zone.ts). */
export function zonedDate(ms: number, timeZone = BEIJING): string {
  return localDate(timeZone, ms);
}

/** ISO 8601 with the zone's offset, e.g. 2025-03-01T08:00:00.000+08:00. */
export function zonedIso(ms: number, timeZone = BEIJING): string {
  const t = localDateTime(timeZone, ms);
  const millis = ((ms % 1000) + 1000) % 1000;
  const s = Math.floor(t.msOfDay / 1000);
  const offsetMin = Math.round(t.offsetMs / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${formatLocalDate(t)}T${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
    + `.${pad(millis, 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
