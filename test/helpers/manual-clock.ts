// A clock whose timers run only when the test advances it (time-dependent policy is tested with an
// injected clock, not by waiting).
import type { Clock, Timer } from '../../src/calls/clock.js';

export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** Delays (from now) of the timers waiting, soonest first. */
  pending(): number[];
}

export function manualClock(start: number): ManualClock {
  let now = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let seq = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.push({ at: now + Math.max(0, ms), fn, id });
      return { id };
    },
    clearTimeout(t: Timer) { timers = timers.filter((x) => x.id !== t.id); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
      }
      now = end;
    },
    pending: () => timers.map((t) => t.at - now).sort((a, b) => a - b),
  };
}
