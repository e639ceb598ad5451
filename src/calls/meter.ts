// One prepaid reservation of a call on one account and rate: authorise before bridging, extend in
// chunks, settle exactly the rated cost (or release), the paid boundary in between. Inbound 400
// calls use one for the package account (002 §1.3 计费) and one more for a forwarded leg to a
// number, charged to the owner tenant's account at its outbound tariff.
import type { TariffRate } from '../config/types.js';
import type { Ledger } from '../ledger/ledger.js';
import type { HeartbeatResult, ReserveResult, SettleResult } from '../ledger/types.js';
import { costOfBilled, maxBilledSecondsFor, rateCall, type RatedCall } from '../rating/rate.js';

export class Meter {
  granted = 0;
  /** Answered seconds the reservation pays for; null = unlimited (free rate) or not authorised. */
  maxBilled: number | null = null;
  private reserved = false;

  constructor(
    private readonly ledger: Ledger,
    readonly account: string,
    /** Reservation id in the ledger (the call id, or call id + leg). */
    readonly reservationId: string,
    readonly rate: TariffRate,
    private readonly chunkSeconds: number,
    private readonly meta: string,
  ) {}

  get charged(): boolean {
    return this.rate.ratePerMinute > 0 || this.rate.connectFee > 0;
  }

  private chunkBilled(): number {
    const r = this.rate;
    const s = Math.max(this.chunkSeconds, r.initialIncrement);
    return r.initialIncrement + Math.ceil((s - r.initialIncrement) / r.subsequentIncrement) * r.subsequentIncrement;
  }

  /**
   * Reserves one initial increment; a free rate needs no reservation. Only the first increment, as
   * outbound calls do: a low balance then admits as many calls as it can pay a first increment for,
   * instead of the first few calls holding whole chunks. Further time is reserved in chunks (extend).
   */
  async authorise(now: number): Promise<ReserveResult> {
    if (!this.charged) return { ok: true, granted: 0, total: 0, available: 0, existing: false };
    const min = costOfBilled(this.rate, this.rate.initialIncrement);
    const max = min;
    const r = await this.ledger.reserve(this.account, this.reservationId, { min, max }, now, this.meta);
    if (r.ok) {
      this.reserved = true;
      this.granted = r.total;
      this.maxBilled = maxBilledSecondsFor(this.rate, this.granted);
    }
    return r;
  }

  /** The next chunk; false when the balance cannot pay one more increment. */
  async extend(now: number): Promise<boolean> {
    if (!this.reserved || this.maxBilled === null) return true;
    const min = Math.max(1, costOfBilled(this.rate, this.maxBilled + this.rate.subsequentIncrement) - this.granted);
    const max = Math.max(min, costOfBilled(this.rate, this.maxBilled + this.chunkBilled()) - this.granted);
    const r = await this.ledger.extend(this.account, this.reservationId, { min, max }, now);
    if (!r.ok) return false;
    this.granted = r.total;
    this.maxBilled = maxBilledSecondsFor(this.rate, this.granted);
    return true;
  }

  /** Keeps the reservation alive for crash recovery; null when there is none (free rate). */
  async heartbeat(now: number, answeredAt?: number): Promise<HeartbeatResult | null> {
    return this.reserved ? this.ledger.heartbeat(this.account, this.reservationId, now, answeredAt) : null;
  }

  /** Settles answered time (null = never connected: released); idempotent in the ledger. */
  async finish(answeredMs: number | null, cdrRef: string, now: number): Promise<{ rated: RatedCall; settlement: SettleResult | null }> {
    let ms = answeredMs ?? 0;
    // A cut-off ends at the paid boundary by construction; timer lateness is not billed.
    if (this.maxBilled !== null) ms = Math.min(ms, this.maxBilled * 1000);
    const rated = answeredMs === null ? { billableSeconds: 0, billedSeconds: 0, cost: 0 } : rateCall(this.rate, ms);
    if (!this.reserved) return { rated: this.charged ? rated : { ...rated, cost: 0 }, settlement: null };
    this.reserved = false;
    const settlement = answeredMs === null
      ? await this.ledger.release(this.account, this.reservationId, now)
      : await this.ledger.settle(this.account, this.reservationId, rated.cost, cdrRef, now);
    return { rated, settlement };
  }
}
