import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatLocalDateTime, isValidTimeZone, localDateTime, offsetAt } from '../../src/time/zone.js';

// Reference: Intl directly, on every call.
function reference(timeZone: string, ms: number) {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short',
  }).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    date: `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`,
    weekday: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')),
  };
}

describe('localDateTime', () => {
  it('gives Beijing time', () => {
    const t = localDateTime('Asia/Shanghai', Date.parse('2026-10-01T12:00:00Z'));
    expect(t).toMatchObject({ year: 2026, month: 10, day: 1, weekday: 3, msOfDay: 20 * 3600_000, offsetMs: 8 * 3600_000 });
    expect(formatLocalDateTime(t)).toBe('2026-10-01T20:00:00+08:00');
  });

  it('agrees with Intl in zones with and without DST', () => {
    const zones = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/St_Johns'];
    fc.assert(fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.parse('1995-01-01'), max: Date.parse('2040-01-01') }), (zone, ms) => {
      const t = localDateTime(zone, ms);
      const ref = reference(zone, ms);
      expect(formatLocalDateTime(t).slice(0, 19)).toBe(ref.date);
      expect(t.weekday).toBe(ref.weekday);
    }), { numRuns: 3000 });
  });

  it('finds a transition that is not on a quarter hour (St John\'s, 2002-04-07 00:01 local)', () => {
    // fast-check found this: 03:31 UTC, ten seconds either side of the change
    expect(offsetAt('America/St_Johns', Date.parse('2002-04-07T03:30:59Z'))).toBe(-3.5 * 3600_000);
    expect(offsetAt('America/St_Johns', Date.parse('2002-04-07T03:31:00Z'))).toBe(-2.5 * 3600_000);
    expect(formatLocalDateTime(localDateTime('America/St_Johns', 1018150260000))).toBe('2002-04-07T01:01:00-02:30');
  });

  it('handles instants around a DST transition', () => {
    // Europe/London 2026-03-29 01:00 UTC: GMT → BST.
    expect(offsetAt('Europe/London', Date.parse('2026-03-29T00:59:59Z'))).toBe(0);
    expect(offsetAt('Europe/London', Date.parse('2026-03-29T01:00:00Z'))).toBe(3600_000);
  });

  it('validates zone names', () => {
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
