// The one money path of a call: a prepaid reservation on one account at one rate. Authorise one
// initial increment before anything rings, extend in chunks during the call, heartbeat for crash
// recovery, settle exactly the rated cost (or release). Outbound calls, the 400 package, forwarded
// legs and the missed-call charge all go through here. Every ledger step is one idempotent script.
import type { Money, TariffRate } from '../config/types.js';
import type { Ledger } from '../ledger/ledger.js';
import { encodeMeta, type ReservationMeta } from '../ledger/reservation-meta.js';
import type { EntryResult, HeartbeatResult, ReserveResult, SettleResult } from '../ledger/types.js';
import type { Logger } from 'pino';
import { isRedisUnavailable } from '../ledger/redis-errors.js';
import { costOfBilled, maxBilledSecondsFor, rateCall, type RatedCall } from '../rating/rate.js';
import { retryLater } from './retry-later.js';

export interface Settled {
  account: string;
  reservationId: string;
  cdrId: string;
  rated: RatedCall;
  /** What the account paid (0 when released or free). */
  cost: Money;
  settlement: SettleResult | null;
  /** Redis was away: the settlement is retried in the background with this same cost. */
  deferred?: boolean;
}

export class Reservation {
  granted = 0;
  /** Answered seconds the reservation pays for; null = unlimited (free rate) or not authorised. */
  maxBilled: number | null = null;
  /** Set when the call is answered with this reservation paying for the talk time. */
  answeredAt: number | null = null;
  private held = false;

  constructor(
    private readonly ledger: Ledger,
    readonly account: string,
    /** Reservation id in the ledger (the call id, or call id + leg). */
    readonly id: string,
    readonly meta: ReservationMeta,
    private readonly chunkSeconds: number,
  ) {}

  get rate(): TariffRate { return this.meta.rate; }

  /** Free rates (and emergency calls) reserve nothing. */
  get charged(): boolean {
    return this.rate.ratePerMinute > 0 || this.rate.connectFee > 0;
  }

  /** The chunk on the increment grid. */
  private chunkBilled(): number {
    const r = this.rate;
    const s = Math.max(this.chunkSeconds, r.initialIncrement);
    return r.initialIncrement + Math.ceil((s - r.initialIncrement) / r.subsequentIncrement) * r.subsequentIncrement;
  }

  /**
   * Reserves one initial increment only: a low balance then admits as many calls as it can pay a
   * first increment for, instead of the first few calls holding whole chunks. Further time is
   * reserved in chunks during the call (extend).
   */
  async authorise(now: number): Promise<ReserveResult> {
    if (!this.charged) return { ok: true, granted: 0, total: 0, available: 0, existing: false };
    const min = costOfBilled(this.rate, this.rate.initialIncrement);
    const r = await this.ledger.reserve(this.account, this.id, { min, max: min }, now, encodeMeta(this.meta));
    if (r.ok) {
      this.held = true;
      this.granted = r.total;
      this.maxBilled = maxBilledSecondsFor(this.rate, this.granted);
    }
    return r;
  }

  /** The next chunk; false when the balance cannot pay one more increment. */
  async extend(now: number): Promise<boolean> {
    if (!this.held || this.maxBilled === null) return true;
    const min = Math.max(1, costOfBilled(this.rate, this.maxBilled + this.rate.subsequentIncrement) - this.granted);
    const max = Math.max(min, costOfBilled(this.rate, this.maxBilled + this.chunkBilled()) - this.granted);
    const r = await this.ledger.extend(this.account, this.id, { min, max }, now);
    if (!r.ok) return false;
    this.granted = r.total;
    this.maxBilled = maxBilledSecondsFor(this.rate, this.granted);
    return true;
  }

  /** Keeps the reservation alive for crash recovery; null when nothing is held. */
  async heartbeat(now: number): Promise<HeartbeatResult | null> {
    return this.held ? this.ledger.heartbeat(this.account, this.id, now, this.answeredAt ?? undefined) : null;
  }

  /**
   * Settles the answered time up to `endAt` (never answered: released). A call is cut off at the
   * paid boundary; timer or signalling lateness past it is not billed. Idempotent in the ledger.
   */
  async settle(endAt: number, log?: Logger): Promise<Settled> {
    const answeredMs = this.answeredAt === null ? null : Math.max(0, endAt - this.answeredAt);
    let ms = answeredMs ?? 0;
    if (this.maxBilled !== null) ms = Math.min(ms, this.maxBilled * 1000);
    const rated = answeredMs === null ? { billableSeconds: 0, billedSeconds: 0, cost: 0 } : rateCall(this.rate, ms);
    const cost = this.charged ? rated.cost : 0;
    const out = { account: this.account, reservationId: this.id, cdrId: this.meta.cdrId, rated };
    if (!this.held) return { ...out, cost: answeredMs === null ? 0 : cost, settlement: null };
    const step = () => (answeredMs === null
      ? this.ledger.release(this.account, this.id, endAt)
      : this.ledger.settle(this.account, this.id, cost, this.meta.cdrId, endAt));
    let settlement: SettleResult;
    try {
      settlement = await step();
    } catch (err) {
      if (!log || !isRedisUnavailable(err)) throw err;
      // Redis is away: the CDR says what the call costs now, the ledger catches up when it is back.
      this.held = false;
      retryLater(`${answeredMs === null ? 'release' : 'settle'} ${this.account}/${this.id}`, step, log, `${this.account}/${this.id}`);
      return { ...out, cost: answeredMs === null ? 0 : cost, settlement: null, deferred: true };
    }
    this.held = false;
    return { ...out, cost: answeredMs === null ? 0 : settlement.debited, settlement };
  }

  /** A charge for an unanswered call (002 §3.5 missed calls), after the reservation is released. */
  async chargeUnanswered(entryId: string, cost: Money, note: string, now: number): Promise<EntryResult> {
    if (this.held) await this.settle(now);
    return this.ledger.charge(this.account, entryId, 'missed-call', cost, note, now);
  }
}
