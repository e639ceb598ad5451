// /metrics with prom-client: what admins graph (ASR and ACD per trunk and route, setup latency,
// post-dial delay, denials by reason) and what keeps the server honest (ledger latency, Redis
// errors, CDR failures and spool, event-loop lag, process figures).
//
// The call path reaches this module through one-line hooks (onCdr, onAnswered, a timing wrapper
// around the ledger), so a call costs a few map lookups and additions: its series are plain cells
// (fast-metrics.ts) that prom-client's registry reads at scrape time. Every label value comes
// from config (route, trunk ids) or a small fixed set (direction, SIP status, deny reason,
// operation): never a phone number, call id or tenant-supplied text.
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Cdr, CallDirection } from '../cdr/model.js';
import { LedgerError } from '../ledger/types.js';
import type { FreeSwitchStatus } from '../media/freeswitch-status.js';
import { FastCounter, FastHistogram, type CounterCell, type HistogramCell } from './fast-metrics.js';

type MaybePromise<T> = T | Promise<T>;

/** Values read at scrape time from the running app; absent ones are not exported. */
export interface MetricSources {
  liveCalls?: () => number;
  registeredSeats?: () => MaybePromise<number>;
  /** drachtio-server connected (and, for the status fallback, a config loaded). */
  up?: () => boolean;
  mediaConnected?: () => boolean;
  spoolDepth?: () => MaybePromise<number>;
  /** Per-source limits (sip/flood-guard.ts). */
  flood?: () => { scannerDrops: number; limited: Record<string, number>; bans: number; bannedNow: number };
  /** Share of new calls overload control refuses now (sip/overload.ts). */
  overloadShedShare?: () => number;
  /** FreeSWITCH's health, load and orphans killed (media/freeswitch-watcher.ts, channel-reconciler.ts); null without one. */
  freeswitch?: () => FreeSwitchStatus | null;
}

/** What a call session knows when both legs are up (calls/session-types.ts AnsweredCall). */
export interface AnsweredCallView {
  spec: { direction: CallDirection; inviteAt: number };
  attempts: readonly { target: string; at: number }[];
  ringAt: number | null;
  answerAt: number | null;
}

/** CDR write outcome (cdr/writer.ts). */
export type CdrOutcome = 'written' | 'duplicate' | 'spooled';

// dialgate's own work before the first onward INVITE: milliseconds, not seconds.
const SETUP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// Carriers ring within a few seconds; past 10 s callers hang up.
const PDD_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30];
// Short calls (< 6 s) are a classic sign of a bad line or of fraud; the rest spans a call centre's day.
const ANSWERED_BUCKETS = [6, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
const LEDGER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];


/** The trunk a dial attempt went to: a trunk id (outbound), `<member>@<trunk>` (a 400 call's forwarded leg), or none (a seat). */
export function trunkOfTarget(direction: CallDirection, target: string): string | null {
  const at = target.lastIndexOf('@');
  if (at >= 0) return target.slice(at + 1);
  return direction === 'outbound' ? target : null;
}

/** A scrape never fails for want of one figure (Redis away): the gauge keeps its last value. */
async function setFrom(g: Gauge, read: (() => MaybePromise<number>) | undefined): Promise<void> {
  if (!read) return;
  try {
    g.set(await read());
  } catch {
    // Redis errors are counted where they happen; the scrape goes on.
  }
}

/** The default process and Node.js metrics (event-loop lag, heap, CPU, fds) are per process: one registry for all apps in it. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

export class OpsMetrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  /** Read at scrape time; the composition root fills it in. */
  sources: MetricSources;

  private readonly decisions: FastCounter;
  private readonly allowCell: CounterCell;
  private readonly cdrs: CounterCell;
  private readonly cdrFailures: CounterCell;
  private readonly cdrsSpooled: CounterCell;
  private readonly reloads: { applied: CounterCell; rejected: CounterCell };
  private readonly mediaDegradedTotal: CounterCell;
  private readonly setup: Record<CallDirection, HistogramCell>;
  private readonly pdd: FastHistogram;
  private readonly attempts: FastCounter;
  private readonly trunkAttempts: FastCounter;
  private readonly answered: FastHistogram;
  private readonly ledgerSeconds: FastHistogram;
  private readonly redisErrors: FastCounter;
  private readonly registers: FastCounter;
  private readonly overloadRefusals: FastCounter;

  constructor(sources: MetricSources = {}) {
    this.sources = sources;
    const registers = [this.registry];
    const self = this;

    const r = this.registry;
    this.decisions = new FastCounter(r, 'dialgate_calls_total', 'Call decisions (outbound and inbound) by outcome and deny reason.', ['decision', 'reason']);
    this.allowCell = this.decisions.cell('allow', '');
    this.attempts = new FastCounter(r, 'dialgate_call_attempts_total',
      'Call attempts (one per CDR) by direction, route, the trunk of the final answer ("" when none was tried) and the final SIP status to the caller.',
      ['direction', 'route', 'trunk', 'status']);
    this.trunkAttempts = new FastCounter(r, 'dialgate_trunk_attempts_total',
      'INVITEs to carrier trunks (failover attempts included) by the trunk\'s final status; 503 includes a trunk at its channel limit.', ['trunk', 'status']);
    this.answered = new FastHistogram(r, 'dialgate_call_answered_seconds',
      'Answered talk time per call (answer to first BYE) by direction, route and trunk: _sum / _count is the ACD.', ['direction', 'route', 'trunk'], ANSWERED_BUCKETS);
    const setup = new FastHistogram(r, 'dialgate_call_setup_seconds',
      'INVITE accepted to the first onward INVITE (policy, Redis reservation and slots, media endpoints); for 400 calls it includes a welcome prompt and PIN.',
      ['direction'], SETUP_BUCKETS);
    this.setup = { outbound: setup.cell('outbound'), inbound: setup.cell('inbound') };
    this.pdd = new FastHistogram(r, 'dialgate_call_post_dial_delay_seconds',
      'Outbound calls: INVITE accepted to the first ringing (180/183) or, without one, the answer; by the trunk that rang first.', ['trunk'], PDD_BUCKETS);
    this.ledgerSeconds = new FastHistogram(r, 'dialgate_ledger_operation_seconds',
      'Ledger and slot operations in Redis (Lua scripts), by operation, failures included.', ['op'], LEDGER_BUCKETS);
    this.redisErrors = new FastCounter(r, 'dialgate_redis_errors_total',
      'Redis failures: connection errors (op="connection") and ledger, slot or CDR operations that failed for want of Redis.', ['op']);

    this.overloadRefusals = new FastCounter(r, 'dialgate_overload_refused_total',
      'New calls refused with 503 by overload control: reason="overload" (event loop past its limits), "calls-per-second" (the configured cap).', ['reason']);
    new Gauge({
      name: 'dialgate_overload_shed_share', help: 'Share of new calls overload control refuses right now (0-1).', registers,
      collect() { const f = self.sources.overloadShedShare; if (f) this.set(f()); },
    });

    this.cdrs = new FastCounter(r, 'dialgate_cdrs_written_total', 'CDRs written (stream and daily files, or the local spool while Redis is away).').cell();
    this.cdrFailures = new FastCounter(r, 'dialgate_cdr_write_failures_total', 'CDRs that could not be written, or that failed on replay from the spool.').cell();
    this.cdrsSpooled = new FastCounter(r, 'dialgate_cdrs_spooled_total', 'CDRs written to the local spool because Redis was away (replayed when it is back).').cell();
    new Gauge({
      name: 'dialgate_cdr_spool_depth', help: 'CDRs in the local spool waiting for Redis.', registers,
      async collect() { await setFrom(this, self.sources.spoolDepth); },
    });

    const reloads = new FastCounter(r, 'dialgate_config_reloads_total', 'Config reloads by result.', ['result']);
    this.reloads = { applied: reloads.cell('applied'), rejected: reloads.cell('rejected') };
    this.mediaDegradedTotal = new FastCounter(r, 'dialgate_media_degraded_total', 'Calls meant to go through FreeSWITCH (anchored or recorded) that did not.').cell();
    this.registers = new FastCounter(r, 'dialgate_sip_registers_total', 'REGISTER requests by the final status sent (401 is the normal challenge).', ['status']);
    new Gauge({
      name: 'dialgate_registered_seats', help: 'Seats with a live registration.', registers,
      async collect() { await setFrom(this, self.sources.registeredSeats); },
    });
    new Gauge({
      name: 'dialgate_live_calls', help: 'Calls in progress on this instance.', registers,
      collect() { this.set(self.sources.liveCalls?.() ?? 0); },
    });
    new Gauge({
      name: 'dialgate_up', help: '1 when the drachtio-server connection is up.', registers,
      collect() { const f = self.sources.up; if (f) this.set(f() ? 1 : 0); },
    });
    new Gauge({
      name: 'dialgate_media_server_connected', help: '1 when the FreeSWITCH event socket is connected.', registers,
      collect() { const f = self.sources.mediaConnected; if (f) this.set(f() ? 1 : 0); },
    });
    new Gauge({
      name: 'dialgate_uptime_seconds', help: 'Seconds since the process started.', registers,
      collect() { this.set(Math.floor(process.uptime())); },
    });
    // Flood-guard figures live in the guard (it is replaced when its limits change); mirrored here.
    new Counter({
      name: 'dialgate_sip_scanner_drops_total', help: 'Requests from known scanner User-Agents dropped without a response.', registers,
      collect() { const f = self.sources.flood?.(); if (f) { this.reset(); this.inc(f.scannerDrops); } },
    });
    new Counter({
      name: 'dialgate_sip_rate_limited_total', help: 'Requests over a source\'s per-second limit (the source is then banned).', labelNames: ['method'], registers,
      collect() {
        const f = self.sources.flood?.();
        if (!f) return;
        this.reset();
        for (const [method, n] of Object.entries(f.limited)) this.labels(method).inc(n);
      },
    });
    new Gauge({
      name: 'dialgate_sip_banned_sources', help: 'Sources refused right now for exceeding a limit.', registers,
      collect() { const f = self.sources.flood?.(); if (f) this.set(f.bannedNow); },
    });

    // FreeSWITCH as the watcher last saw it (issue 14), labelled with its event socket; a figure it
    // has not reported yet is not exported (an unknown idle CPU is no sample, never a 0).
    const fsGauge = (name: string, help: string, read: (f: FreeSwitchStatus) => number | null): void => {
      new Gauge({
        name, help, labelNames: ['freeswitch'], registers,
        collect() {
          this.reset();
          const f = self.sources.freeswitch?.();
          const v = f ? read(f) : null;
          if (f && v !== null) this.labels(f.address).set(v);
        },
      });
    };
    fsGauge('dialgate_fs_connected', '1 when the FreeSWITCH watcher\'s event socket is connected.', (f) => (f.connected ? 1 : 0));
    fsGauge('dialgate_fs_sessions', 'FreeSWITCH channels up now (CHANNEL_CREATE / CHANNEL_DESTROY, checked by each listing).', (f) => f.sessions);
    fsGauge('dialgate_fs_max_sessions', 'FreeSWITCH\'s session limit.', (f) => f.maxSessions);
    fsGauge('dialgate_fs_sessions_per_second', 'Sessions FreeSWITCH created in the last second it measured (its last HEARTBEAT).', (f) => f.sessionsPerSecond);
    fsGauge('dialgate_fs_idle_cpu_ratio', 'Idle CPU as FreeSWITCH measures it (0-1).', (f) => (f.idleCpu === null ? null : f.idleCpu / 100));
    fsGauge('dialgate_fs_uptime_seconds', 'Seconds since FreeSWITCH started.', (f) => f.uptimeSeconds);
    new Counter({
      name: 'dialgate_fs_orphans_killed_total', help: 'FreeSWITCH channels no live call held, killed by the reconciler.', registers,
      collect() { const f = self.sources.freeswitch?.(); if (f) { this.reset(); this.inc(f.orphansKilled); } },
    });
  }

  // ---- hooks (one line each at their call sites) ------------------------------------------------

  /** A new call refused with 503 by overload control (sip/overload.ts). */
  overloadRefused(reason: 'overload' | 'calls-per-second'): void {
    this.overloadRefusals.cell(reason).n++;
  }

  /** A call decided; decision 'allow' | 'deny', reason '' for allow. */
  decision(decision: 'allow' | 'deny', reason = ''): void {
    (decision === 'allow' ? this.allowCell : this.decisions.cell('deny', reason)).n++;
  }

  /**
   * A call's CDR (written or not): its decision, its attempt and trunk outcomes, its talk time; the
   * setup figures of calls that were never answered (answered ones are taken at the answer).
   */
  callEnded(cdr: Cdr): void {
    this.decision(cdr.decision, cdr.denyReason ?? '');
    const last = cdr.trunks.at(-1);
    const trunk = (last && trunkOfTarget(cdr.direction, last.trunk)) ?? '';
    const route = cdr.route ?? '';
    this.attempts.cell(cdr.direction, route, trunk, String(cdr.sipStatus)).n++;
    for (const a of cdr.trunks) {
      const t = trunkOfTarget(cdr.direction, a.trunk);
      if (t !== null) this.trunkAttempts.cell(t, String(a.sipStatus)).n++;
    }
    if (cdr.answerAt !== null) this.answered.cell(cdr.direction, route, trunk).observe(cdr.billableSeconds);
    else if (!cdr.recovered) this.setupTimes(cdr.direction, cdr.inviteAt, cdr.trunks.map((a) => ({ target: a.trunk, at: a.at })), cdr.ringAt, null);
  }

  /** Both legs are up: setup latency and post-dial delay, now rather than at the hang-up. */
  callAnswered(c: AnsweredCallView): void {
    this.setupTimes(c.spec.direction, c.spec.inviteAt, c.attempts, c.ringAt, c.answerAt);
  }

  private setupTimes(direction: CallDirection, inviteAt: number, attempts: readonly { target: string; at: number }[], ringAt: number | null, answerAt: number | null): void {
    const first = attempts[0];
    if (!first) return;
    this.setup[direction].observe(Math.max(0, first.at - inviteAt) / 1000);
    const signal = ringAt ?? answerAt;
    if (direction !== 'outbound' || signal === null) return;
    // The trunk being dialled when the first ring came (failover may have moved on since).
    let rang = first;
    for (const a of attempts) if (a.at <= signal) rang = a;
    this.pdd.cell(trunkOfTarget(direction, rang.target) ?? '').observe(Math.max(0, signal - inviteAt) / 1000);
  }

  cdrWritten(outcome: CdrOutcome = 'written'): void {
    this.cdrs.n++;
    if (outcome === 'spooled') {
      this.cdrsSpooled.n++;
      this.redisError('cdr');
    }
  }

  cdrFailed(): void { this.cdrFailures.n++; }

  /** A call meant to be anchored or recorded that was not (media server down, endpoints failed). */
  mediaDegraded(): void { this.mediaDegradedTotal.n++; }
  get mediaDegradedCalls(): number { return this.mediaDegradedTotal.n; }

  configReloaded(ok: boolean): void { (ok ? this.reloads.applied : this.reloads.rejected).n++; }

  /** A REGISTER answered with `status`. */
  register(status: number | undefined): void { this.registers.cell(String(status ?? 0)).n++; }

  redisError(op: string): void { this.redisErrors.cell(op).n++; }

  /** Times `op` of a Redis-backed store; a failure that is not a business answer counts as a Redis error. */
  ledgerOp(op: string): (seconds: number, err: unknown) => void {
    const h = this.ledgerSeconds.cell(op);
    const e = this.redisErrors.cell(op);
    return (seconds, err) => {
      h.observe(seconds);
      if (err !== undefined && !(err instanceof LedgerError)) e.n++;
    };
  }

  // ---- exposition -------------------------------------------------------------------------------

  /**
   * The text exposition: this app's metrics, then the process's (event loop, heap, CPU).
   * `over` replaces sources for this one call (tests, the status fallback).
   */
  async render(over: { liveCalls?: number; registeredSeats?: number; up?: boolean; mediaConnected?: boolean } = {}): Promise<string> {
    const saved = this.sources;
    const s: MetricSources = { ...saved };
    if (over.liveCalls !== undefined) s.liveCalls = () => over.liveCalls!;
    if (over.registeredSeats !== undefined) s.registeredSeats = () => over.registeredSeats!;
    if (over.up !== undefined) s.up = () => over.up!;
    if (over.mediaConnected !== undefined) s.mediaConnected = () => over.mediaConnected!;
    this.sources = s;
    try {
      const own = await this.registry.metrics();
      return `${own}${await processMetrics().metrics()}`;
    } finally {
      this.sources = saved;
    }
  }
}

/**
 * Wraps methods of a Redis-backed store (the ledger, the slots) so each call is timed; the store's
 * code is untouched. `ops` maps a method name to its metric label.
 */
export function timeOperations<T extends object>(target: T, ops: Partial<Record<keyof T & string, string>>, metrics: Pick<OpsMetrics, 'ledgerOp'>): T {
  const obj = target as Record<string, unknown>;
  for (const [method, label] of Object.entries(ops) as [string, string][]) {
    const fn = obj[method];
    if (typeof fn !== 'function') throw new Error(`timeOperations: ${method} is not a method`);
    const done = metrics.ledgerOp(label);
    const call = fn as (this: T, ...a: unknown[]) => Promise<unknown>;
    // A plain function chaining one then() costs a call a promise and a microtask fewer than an
    // async wrapper awaiting the method; a synchronous throw still becomes a rejection.
    obj[method] = function timed(...args: unknown[]): Promise<unknown> {
      const t0 = performance.now();
      let p: Promise<unknown>;
      try {
        p = Promise.resolve(call.apply(target, args));
      } catch (err) {
        done((performance.now() - t0) / 1000, err);
        return Promise.reject(err as Error);
      }
      return p.then(
        (r) => { done((performance.now() - t0) / 1000, undefined); return r; },
        (err: unknown) => { done((performance.now() - t0) / 1000, err); throw err; },
      );
    };
  }
  return target;
}
