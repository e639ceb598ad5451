// Local calendar fields of an instant in an IANA time zone, fast enough for every call.
// Intl.DateTimeFormat is slow (microseconds per format) and allocates, so per zone we keep one
// formatter and cache the UTC offset per UTC day: a day whose start and end have the same offset
// is assumed to have no transition in between (no zone has two transitions within a day), and
// on the rare transition day the transition's second is found once by bisection (transitions do
// not all fall on a quarter hour: St John's changed at 00:01 local until 2011).

const DAY_MS = 86_400_000;
const CACHE_LIMIT = 50_000;

interface ZoneCache {
  format: Intl.DateTimeFormat;
  days: Map<number, number>; // UTC day → offset ms, or NaN on a transition day
  /** Transition days: the first second of the new offset, and the offsets before and after. */
  transitions: Map<number, { at: number; before: number; after: number }>;
}

const zones = new Map<string, ZoneCache>();

export interface LocalDateTime {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  /** Milliseconds since local midnight. */
  msOfDay: number;
  /** Days since 1970-01-01 of the local date: a cheap key for calendars. */
  dayNumber: number;
  /** Local minus UTC, in ms (+08:00 = 28 800 000). */
  offsetMs: number;
}

function zoneCache(timeZone: string): ZoneCache {
  let cache = zones.get(timeZone);
  if (!cache) {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short',
    });
    cache = { format, days: new Map(), transitions: new Map() };
    zones.set(timeZone, cache);
  }
  return cache;
}

/** True when Intl knows the zone (for config validation). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneCache(timeZone);
    return true;
  } catch {
    return false;
  }
}

function offsetByIntl(format: Intl.DateTimeFormat, epochMs: number): number {
  const f: Record<string, number> = {};
  let bc = false;
  for (const part of format.formatToParts(epochMs)) {
    if (part.type === 'era') bc = part.value.startsWith('B');
    else if (part.type !== 'literal') f[part.type] = Number(part.value);
  }
  const year = bc ? 1 - (f.year ?? 0) : (f.year ?? 0);
  const asUtc = Date.UTC(year, (f.month ?? 1) - 1, f.day ?? 1, f.hour ?? 0, f.minute ?? 0, f.second ?? 0);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

function set(map: Map<number, number>, key: number, value: number): void {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
}

/** UTC offset of the zone at the instant, in ms. Throws RangeError for an unknown zone. */
export function offsetAt(timeZone: string, epochMs: number): number {
  const cache = zoneCache(timeZone);
  const utcDay = Math.floor(epochMs / DAY_MS);
  let offset = cache.days.get(utcDay);
  if (offset === undefined) {
    const start = offsetByIntl(cache.format, utcDay * DAY_MS);
    const end = offsetByIntl(cache.format, utcDay * DAY_MS + DAY_MS - 1000);
    offset = start === end ? start : Number.NaN;
    set(cache.days, utcDay, offset);
  }
  if (!Number.isNaN(offset)) return offset;
  let t = cache.transitions.get(utcDay);
  if (t === undefined) {
    const before = offsetByIntl(cache.format, utcDay * DAY_MS);
    const after = offsetByIntl(cache.format, utcDay * DAY_MS + DAY_MS - 1000);
    // Bisect to the second: lo always has the old offset, hi the new one.
    let lo = utcDay * DAY_MS, hi = utcDay * DAY_MS + DAY_MS - 1000;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (offsetByIntl(cache.format, mid) === before) lo = mid;
      else hi = mid;
    }
    t = { at: hi, before, after };
    if (cache.transitions.size >= CACHE_LIMIT) cache.transitions.clear();
    cache.transitions.set(utcDay, t);
  }
  return epochMs >= t.at ? t.after : t.before;
}

/** Civil date of a day number (Howard Hinnant's days_from_civil inverse). */
export function civilFromDays(dayNumber: number): { year: number; month: number; day: number } {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Day number of a civil date (days since 1970-01-01). */
export function daysFromCivil(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY_MS);
}

/** The local date and time of an instant in a zone. */
export function localDateTime(timeZone: string, epochMs: number): LocalDateTime {
  const offsetMs = offsetAt(timeZone, epochMs);
  const local = epochMs + offsetMs;
  const dayNumber = Math.floor(local / DAY_MS);
  const { year, month, day } = civilFromDays(dayNumber);
  return {
    year, month, day,
    weekday: (((dayNumber + 3) % 7) + 7) % 7, // 1970-01-01 was a Thursday (3)
    msOfDay: local - dayNumber * DAY_MS,
    dayNumber,
    offsetMs,
  };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "2026-10-01" */
export function formatLocalDate(t: LocalDateTime): string {
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

/** The local calendar day of an instant in a zone, "2026-10-01": the one way dialgate computes it. */
export function localDate(timeZone: string, epochMs: number): string {
  return formatLocalDate(localDateTime(timeZone, epochMs));
}

/** "2026-10-01T20:00:00+08:00" */
export function formatLocalDateTime(t: LocalDateTime): string {
  const s = Math.floor(t.msOfDay / 1000);
  const off = Math.abs(t.offsetMs) / 60_000;
  const sign = t.offsetMs < 0 ? '-' : '+';
  return `${formatLocalDate(t)}T${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`
    + `${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
}

/** The instant a local day (days since 1970-01-01, local calendar) begins in the zone. */
export function startOfLocalDay(timeZone: string, dayNumber: number): number {
  const asUtc = dayNumber * DAY_MS;
  // Two passes find the offset in force at that local midnight (DST zones; Shanghai is fixed).
  const first = asUtc - offsetAt(timeZone, asUtc);
  return asUtc - offsetAt(timeZone, first);
}
