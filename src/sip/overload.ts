// Overload control for new calls (pure: the adapter in ops/loop-load.ts feeds it measurements).
// Past its capacity a softswitch that takes every INVITE answers all of them late: setups grow to
// seconds, phones retransmit, and fewer calls complete than at capacity (bench:b2bua saw 9291 of
// 13500 at 900 offered against 10548 of 12000 at 800). Refusing the surplus at once with 503 and
// Retry-After (RFC 3261 §21.5.4) keeps the admitted calls fast and tells proxies and phones when
// to come back.
//
// Two limits, either may refuse:
// - a fixed cap on new calls per second (maxCallsPerSecond), the admin's own figure, as
//   FreeSWITCH's sessions-per-second;
// - the event loop's load: each window the adapter reports how busy the loop was (utilisation)
//   and how late its timers fired (lag, which also shows a process starved of CPU by its
//   neighbours). While either is over its limit the share of new calls refused grows step by step;
//   once both are well under it the share falls back. This is the loss-based scheme of RFC 7339
//   applied at our own door: the refused share adapts to what the process can carry instead of a
//   fixed threshold that refuses all or nothing.
// The caller decides which INVITEs count: a call's first INVITE only (an INVITE answering our
// digest challenge is the same call, already paid for in work) and never an emergency number.

export interface OverloadSettings {
  /** New calls per second at most; absent: no fixed cap. Bursts of one second's worth pass. */
  maxCallsPerSecond?: number;
  /** Shed by the event loop's load (the two limits below); false leaves only maxCallsPerSecond. */
  shedOnLoad: boolean;
  /** Event-loop utilisation (0-1) over a window at or above which the refused share grows. */
  maxLoopUtilization: number;
  /** Event-loop lag (ms, timers firing late) at or above which the refused share grows. */
  maxLoopLagMs: number;
  /** Retry-After of the 503, seconds. */
  retryAfterSeconds: number;
}

export const DEFAULT_OVERLOAD: OverloadSettings = { shedOnLoad: true, maxLoopUtilization: 0.97, maxLoopLagMs: 50, retryAfterSeconds: 5 };

/** One window of the event loop as the adapter measured it. */
export interface LoopLoad {
  /** Share of the window the loop was busy (0-1). */
  utilization: number;
  /** How late the window's timers fired at most, ms. */
  lagMs: number;
}

export type OverloadVerdict = { ok: true } | { ok: false; reason: 'calls-per-second' | 'overload' };

// The refused share, in percent (integers: repeated float steps would never return to exactly 0),
// moves by these steps per window (250 ms windows: full shedding in ~2 s, recovery in ~5 s); it
// never reaches 100, so some calls always probe whether the load has passed.
const STEP_UP = 10;
const STEP_DOWN = 5;
const MAX_SHED = 95;
// "Well under" the limits: recovery starts below these shares of them (hysteresis).
const CALM = 0.95;

const OK: OverloadVerdict = { ok: true };

export class OverloadGuard {
  private settings: OverloadSettings;
  /** Percent of new calls refused for load, 0 to MAX_SHED. */
  private shed = 0;
  /** Windows in a row over a limit. */
  private overWindows = 0;
  /** Admission credit, percent: grows by 100 - shed per new call; a call is admitted at 100. */
  private credit = 0;
  private tokens: number;
  private tokensAt = 0;
  /** Refusing verdicts by limit (the caller may still let an emergency call through). */
  readonly counters = { overload: 0, callsPerSecond: 0 };

  constructor(settings: OverloadSettings = DEFAULT_OVERLOAD) {
    this.settings = settings;
    this.tokens = settings.maxCallsPerSecond ?? 0;
  }

  /** New limits (a config reload); the refused share and the rate bucket carry over. */
  configure(settings: OverloadSettings): void {
    this.settings = settings;
    if (settings.maxCallsPerSecond !== undefined) this.tokens = Math.min(this.tokens, settings.maxCallsPerSecond);
  }

  get retryAfterSeconds(): number { return this.settings.retryAfterSeconds; }

  /** Share of new calls refused for load right now (0-1). */
  get shedShare(): number { return this.shed / 100; }

  /**
   * One window of load: the refused share steps up while over a limit (from the second window in a
   * row: one long pause, a config load or a GC, is no overload), down once calm.
   */
  observe(load: LoopLoad): void {
    const { maxLoopUtilization: maxU, maxLoopLagMs: maxLag } = this.settings;
    if (!this.settings.shedOnLoad) {
      this.shed = 0;
      return;
    }
    if (load.utilization >= maxU || load.lagMs >= maxLag) {
      if (++this.overWindows >= 2) this.shed = Math.min(MAX_SHED, this.shed + STEP_UP);
      return;
    }
    this.overWindows = 0;
    if (load.utilization < maxU * CALM && load.lagMs < maxLag * CALM) this.shed = Math.max(0, this.shed - STEP_DOWN);
  }

  /** A new call at `now` (ms): admitted, or refused with the limit that refused it. */
  admit(now: number): OverloadVerdict {
    if (this.shed > 0) {
      this.credit += 100 - this.shed;
      if (this.credit < 100) {
        this.counters.overload++;
        return { ok: false, reason: 'overload' };
      }
      this.credit -= 100;
    } else {
      this.credit = 0;
    }
    const cap = this.settings.maxCallsPerSecond;
    if (cap !== undefined) {
      this.tokens = Math.min(cap, this.tokens + (Math.max(0, now - this.tokensAt) / 1000) * cap);
      this.tokensAt = now;
      if (this.tokens < 1) {
        this.counters.callsPerSecond++;
        return { ok: false, reason: 'calls-per-second' };
      }
      this.tokens -= 1;
    }
    return OK;
  }
}
