// Time as a dependency: policy decisions and call timers read it from here, so tests can move
// the wall clock (20:00 Beijing time) without waiting, while timers still fire in real time.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
}

export interface Timer { readonly id: unknown }

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, Math.max(0, ms)) }),
  clearTimeout: (t) => clearTimeout(t.id as NodeJS.Timeout),
};

/** Real timers, wall clock shifted so that "now" starts at `startAt` (for tests and the demo). */
export function shiftedClock(startAt: number): Clock & { set(at: number): void } {
  let offset = startAt - Date.now();
  return {
    now: () => Date.now() + offset,
    setTimeout: systemClock.setTimeout,
    clearTimeout: systemClock.clearTimeout,
    set(at: number) { offset = at - Date.now(); },
  };
}
