// The paid boundary of an answered call (003 §2.2, 002 §2.3): the cut-off at the end of what the
// reservations pay for is armed first, an extension is tried a little before the warning would
// be due and moves the boundary when it succeeds, otherwise the warning plays and the cut-off
// ends the call. A slow or hung extension can never let the call run past what is reserved.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { HangupBy } from '../cdr/model.js';
import { endpointApi, type Endpoint } from '../media/media-gateway.js';
import type { CallPhase } from './call-phase.js';
import type { Clock, Timer } from './clock.js';
import { creditWarningInfo, viaIsWebSocket } from './credit-warning-info.js';
import type { Reservation } from './reservation.js';

/** Cut a little before the boundary so signalling latency cannot cross into the next increment. */
const CUTOFF_MARGIN_MS = 300;
/** Try to extend the reservations this long before the warning would be due. */
const EXTEND_LEAD_MS = 5_000;

/** What the boundary needs of its call session. */
export interface BoundaryHost {
  readonly phase: CallPhase;
  readonly answerAt: number | null;
  readonly epA: Endpoint | undefined;
  /** The caller's leg and INVITE: a web phone (over WebSocket) is also told in an INFO. */
  readonly uas?: Srf.Dialog | undefined;
  readonly req?: { get(name: string): string | undefined };
  readonly spec: { warningSeconds: number; warningPrompt: string };
  readonly deps: { clock: Clock };
  readonly log: Logger;
  payers(): Reservation[];
  after(ms: number, fn: () => void): Timer;
  cancelTimer(t: Timer | null): void;
  end(by: HangupBy, cause: string): void;
}

export class PaidBoundary {
  private cutTimer: Timer | null = null;
  /** One pending extension at a time, also when a transfer re-arms the boundary. */
  private extendTimer: Timer | null = null;

  constructor(private readonly call: BoundaryHost) {}

  /** Arms the cut-off at the first boundary of the paying reservations (none: unlimited). */
  schedule(): void {
    const c = this.call;
    // Each payer's own answer: a leg added by a transfer started paying later than the call.
    const ends = c.payers().filter((r) => r.maxBilled !== null).map((r) => (r.answeredAt ?? c.answerAt!) + r.maxBilled! * 1000);
    if (!ends.length || c.answerAt === null || c.phase !== 'answered') return;
    const cutAt = Math.min(...ends) - CUTOFF_MARGIN_MS;
    const warnAt = cutAt - c.spec.warningSeconds * 1000;
    const now = c.deps.clock.now();
    c.cancelTimer(this.cutTimer);
    this.cutTimer = c.after(cutAt - now, () => c.end('cutoff', 'balance-exhausted'));
    c.cancelTimer(this.extendTimer);
    this.extendTimer = c.after(warnAt - EXTEND_LEAD_MS - now, () => void this.tryExtend(cutAt, warnAt));
  }

  private async tryExtend(cutAt: number, warnAt: number): Promise<void> {
    const c = this.call;
    if (c.phase !== 'answered') return;
    let ok = true;
    try {
      for (const r of c.payers()) ok = (await r.extend(c.deps.clock.now())) && ok;
    } catch (err) {
      ok = false;
      c.log.warn({ err }, 'reservation extension failed');
    }
    if (c.phase !== 'answered') return;
    if (ok) return this.schedule();
    // The balance is used up: warn; the cut-off at the boundary is armed.
    const now = c.deps.clock.now();
    c.after(warnAt - now, () => void this.warn());
    c.log.info({ cutoffInMs: cutAt - now }, 'balance exhausted: cut-off scheduled');
  }

  private async warn(): Promise<void> {
    const c = this.call;
    if (c.phase !== 'answered') return;
    if (c.uas && viaIsWebSocket(c.req?.get('Via'))) {
      c.log.info('credit warning sent to the web phone');
      // srf's typings want a full SrfRequest; at runtime Dialog#request takes {method, headers, body}
      c.uas.request(creditWarningInfo(c.spec.warningSeconds) as unknown as Srf.SrfRequest)
        .catch((err: unknown) => c.log.warn({ err }, 'credit warning INFO failed'));
    }
    if (!c.epA) {
      c.log.info('credit warning due, no media anchored to play it');
      return;
    }
    c.log.info({ prompt: c.spec.warningPrompt }, 'credit warning');
    // uuid_broadcast plays to the caller without breaking the bridge.
    await endpointApi(c.epA, 'uuid_broadcast', `${c.epA.uuid} ${c.spec.warningPrompt} aleg`)
      .catch((err: unknown) => c.log.warn({ err }, 'credit warning failed'));
  }
}
