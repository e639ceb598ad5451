// The running server says when the holiday calendar runs out: at start and once a day, not every
// hour, and says so again when an update (a config reload with a newer table) covers the year.
import { describe, expect, it } from 'vitest';
import type { Clock, Timer } from '../../src/calls/clock.js';
import { watchCalendar } from '../../src/ops/calendar-watch.js';
import { statutoryCalendarYears } from '../../src/time/holidays.js';
import { EXAMPLE_DIR, load } from '../config/fixture.js';

/** A clock whose timers run only when the test advances it. */
function manualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let seq = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) { const id = ++seq; timers.push({ at: now + ms, fn, id }); return { id }; },
    clearTimeout(t: Timer) { timers = timers.filter((x) => x.id !== t.id); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
      }
      now = end;
    },
  };
}

describe('holiday calendar watch', () => {
  it('warns at start and once per local day while a cn-statutory schedule is in an uncovered year', async () => {
    const r = await load(EXAMPLE_DIR);
    if (!r.ok) throw new Error('example config');
    const uncovered = statutoryCalendarYears().lastYear + 1;
    const clock = manualClock(Date.parse(`${uncovered}-02-08T10:00:00+08:00`));
    const lines: { level: string; msg: string }[] = [];
    const log = { warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }), info: (_o: object, msg: string) => lines.push({ level: 'info', msg }) };
    const watch = watchCalendar(() => r.snapshot, clock, log);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toContain(`no data for ${uncovered}`);
    clock.advance(13 * 3_600_000); // 23:00 the same day: hourly checks, no new line
    expect(lines).toHaveLength(1);
    clock.advance(2 * 3_600_000); // past midnight Beijing time
    expect(lines).toHaveLength(2);
    clock.advance(3 * 86_400_000);
    expect(lines).toHaveLength(5);
    expect(watch.status()).toMatchObject({ covered: false, missingYears: [uncovered] });
    watch.stop();
    clock.advance(3 * 86_400_000);
    expect(lines).toHaveLength(5);
  });

  it('says nothing while the table covers the year', async () => {
    const r = await load(EXAMPLE_DIR);
    if (!r.ok) throw new Error('example config');
    const clock = manualClock(Date.parse(`${statutoryCalendarYears().lastYear}-06-15T10:00:00+08:00`));
    const lines: string[] = [];
    const watch = watchCalendar(() => r.snapshot, clock, { warn: (_o, m) => lines.push(m), info: (_o, m) => lines.push(m) });
    clock.advance(5 * 86_400_000);
    expect(lines).toEqual([]);
    expect(watch.status().covered).toBe(true);
    watch.stop();
  });
});
