// zonedIso renders CDR and access-log times; it computes fields from a cached zone offset, so it
// is checked against Intl formatting every instant directly, across zones with DST and odd offsets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zonedIso } from '../../src/cdr/time.js';

const formats = new Map<string, Intl.DateTimeFormat>();
function reference(ms: number, timeZone: string): string {
  const f = formats.get(timeZone) ?? formats.set(timeZone, new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })).get(timeZone)!;
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).filter((x) => x.type !== 'literal').map((x) => [x.type, Number(x.value)]));
  const millis = ((ms % 1000) + 1000) % 1000;
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  const off = Math.round((asUtc - (ms - millis)) / 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(p.year!, 4)}-${pad(p.month!)}-${pad(p.day!)}T${pad(p.hour!)}:${pad(p.minute!)}:${pad(p.second!)}.${pad(millis, 3)}`
    + `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

const ZONES = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'UTC'];

describe('zonedIso', () => {
  it('Beijing time of a known instant', () => {
    expect(zonedIso(Date.UTC(2026, 9, 1, 12, 0, 0, 7))).toBe('2026-10-01T20:00:00.007+08:00');
  });

  it('equals Intl formatting for any instant 1990–2100 in zones with DST and 30/45-minute offsets', () => {
    fc.assert(fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...ZONES), (ms, zone) => {
      expect(zonedIso(ms, zone)).toBe(reference(ms, zone));
    }), { numRuns: 3000 });
  });

  it('equals Intl formatting around every DST transition of 2026 in New York and Lord Howe', () => {
    for (const zone of ['America/New_York', 'Australia/Lord_Howe']) {
      for (let ms = Date.UTC(2026, 0, 1); ms < Date.UTC(2027, 0, 1); ms += 29 * 60_000 + 13_001) {
        if (zonedIso(ms, zone) !== reference(ms, zone)) expect(zonedIso(ms, zone)).toBe(reference(ms, zone));
      }
    }
  });
});
