// Overload control's decisions (sip/overload.ts), fed windows of event-loop load and a clock.
import { describe, expect, it } from 'vitest';
import { DEFAULT_OVERLOAD, OverloadGuard, type LoopLoad } from '../../src/sip/overload.js';

const CALM: LoopLoad = { utilization: 0.3, lagMs: 2 };
const BUSY: LoopLoad = { utilization: 0.99, lagMs: 20 };
const STARVED: LoopLoad = { utilization: 0.5, lagMs: 400 }; // ready to run, but no CPU to run on

/** Offers `n` new calls at `now`; how many were admitted. */
function offer(g: OverloadGuard, n: number, now = 0): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (g.admit(now).ok) ok++;
  return ok;
}

describe('overload control', () => {
  it('admits every call while the loop keeps up, and a single slow window is no overload', () => {
    const g = new OverloadGuard();
    for (let i = 0; i < 20; i++) g.observe(CALM);
    expect(offer(g, 1000)).toBe(1000);
    g.observe(BUSY); // one long pause: a config load, a GC
    g.observe(CALM);
    expect(offer(g, 1000)).toBe(1000);
  });

  it('refuses a growing share while the loop stays over a limit, spread evenly, never all', () => {
    const g = new OverloadGuard();
    g.observe(BUSY);
    g.observe(BUSY);
    expect(g.shedShare).toBeCloseTo(0.1);
    expect(offer(g, 100)).toBe(90);
    g.observe(STARVED); // lag alone counts: a process starved of CPU
    expect(g.shedShare).toBeCloseTo(0.2);
    const verdicts = Array.from({ length: 10 }, () => g.admit(0));
    expect(verdicts.filter((v) => !v.ok)).toEqual([{ ok: false, reason: 'overload' }, { ok: false, reason: 'overload' }]);
    for (let i = 0; i < 30; i++) g.observe(BUSY);
    expect(g.shedShare).toBeCloseTo(0.95);
    expect(offer(g, 1000)).toBe(50); // some calls still probe whether the load has passed
    expect(g.counters.overload).toBe(10 + 2 + 950);
  });

  it('holds the share between calm and the limit, and falls back to admitting all once calm', () => {
    const g = new OverloadGuard();
    for (let i = 0; i < 6; i++) g.observe(BUSY);
    const share = g.shedShare;
    expect(share).toBeCloseTo(0.5);
    g.observe({ utilization: 0.95, lagMs: 10 }); // under 0.97 but over 0.97 × 0.95: not calm yet
    expect(g.shedShare).toBe(share);
    g.observe(CALM);
    expect(g.shedShare).toBeCloseTo(0.45);
    for (let i = 0; i < 9; i++) g.observe(CALM);
    expect(g.shedShare).toBe(0);
    expect(offer(g, 100)).toBe(100);
  });

  it('caps new calls per second: a second\'s burst, then the rate', () => {
    const g = new OverloadGuard({ ...DEFAULT_OVERLOAD, maxCallsPerSecond: 5 });
    expect(offer(g, 10, 1_000)).toBe(5);
    expect(g.admit(1_000)).toEqual({ ok: false, reason: 'calls-per-second' });
    expect(offer(g, 10, 1_400)).toBe(2);
    expect(offer(g, 10, 5_000)).toBe(5); // idle time refills a burst, not more
    expect(g.counters.callsPerSecond).toBe(5 + 1 + 8 + 5);
  });

  it('with shedOnLoad off only the cap refuses; new limits keep the state', () => {
    const off = new OverloadGuard({ ...DEFAULT_OVERLOAD, shedOnLoad: false });
    for (let i = 0; i < 10; i++) off.observe(BUSY);
    expect(offer(off, 100)).toBe(100);

    const g = new OverloadGuard();
    for (let i = 0; i < 4; i++) g.observe(BUSY);
    g.configure({ ...DEFAULT_OVERLOAD, maxLoopLagMs: 500, retryAfterSeconds: 9 });
    expect(g.shedShare).toBeCloseTo(0.3);
    expect(g.retryAfterSeconds).toBe(9);
    g.observe({ utilization: 0.5, lagMs: 300 }); // over the old lag limit, calm under the new one
    expect(g.shedShare).toBeCloseTo(0.25);
  });
});
