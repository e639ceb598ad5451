// One INVITE to one target, shared by the trunk dialler and the member dialler. Stopping it sends
// a CANCEL; a far end that never sent a provisional response cannot be CANCELled (RFC 3261 §9.1)
// and would hold the attempt until Timer B (32 s), so CANCEL_GRACE_MS after a CANCEL we stop
// waiting (the silent carrier). A 2xx that arrives after we gave up, or after a cancel, is hung up.
import type Srf from 'drachtio-srf';
import type { Clock, Timer } from './clock.js';
import type { Endpoint } from '../media/media-gateway.js';
import { retryAfter422 } from './session-timer.js';

/** How long to wait for a CANCELled INVITE to end before giving up on it. */
export const CANCEL_GRACE_MS = 2_000;

/** One attempt as CDRs keep it, the same in every dialler. */
export interface DialAttempt {
  /** Trunk id ("trunk-a") or member target ("seat:1001", "number:138…@trunk-a"). */
  target: string;
  /** Final status (408 for a ring timeout we declared, 487 for our CANCEL). */
  sipStatus: number;
  /** Epoch ms the attempt started (INVITE sent, or the check that skipped it). */
  at: number;
  /** 'timeout' | 'cancelled' | 'answered-too-late' | 'error' | 'busy-trunk' | 'not-registered' ... */
  note?: string;
}

/**
 * Answers the offer a callee made in its 200 OK to an INVITE without SDP (a browser seat rung
 * through FreeSWITCH): `sendAnswer` ACKs the callee with the answer and gives its dialog.
 */
export interface LateOffer {
  answer(offer: string, sendAnswer: (sdp: string) => Promise<Srf.Dialog>): Promise<Endpoint>;
  /** Lets go of an endpoint nobody wants any more (the call was cancelled meanwhile). */
  release(endpoint: Endpoint): void;
}

export interface InviteRequest {
  uri: string;
  /** Our offer; absent with `lateOffer` (the INVITE then has no body). */
  localSdp?: string;
  lateOffer?: LateOffer;
  headers: Record<string, string>;
  auth?: { username: string; password: string };
}

/** What srf's createUAC gives for a 200 OK to an INVITE without SDP (its 3pcc mode). */
interface UnackedAnswer {
  sdp: string;
  ack(sdp: string): Promise<Srf.Dialog>;
  destroy(): Promise<void>;
}

export interface InviteOutcome {
  dialog?: Srf.Dialog;
  /** The media server's endpoint facing the callee, when it answered a late offer. */
  endpoint?: Endpoint;
  sipStatus: number;
  /** Why we stopped it, when we did. */
  stopped: 'timeout' | 'cancelled' | null;
  /** No SIP answer at all (transport error), or a late offer that could not be answered. */
  error: boolean;
  note?: string;
}

export class InviteAttempt {
  readonly at: number;
  readonly outcome: Promise<InviteOutcome>;
  private pending: Srf.SrfRequest | null = null;
  private stopped: 'timeout' | 'cancelled' | null = null;
  private settled = false;
  /** A late offer's 200 arrived: the media server is answering it. */
  private answering = false;
  private grace: Timer | null = null;
  private resolve!: (o: InviteOutcome) => void;

  constructor(private readonly srf: Srf, req: InviteRequest, private readonly clock: Clock, private readonly onProvisional: (status: number, sdp: string | undefined) => void) {
    this.at = clock.now();
    this.outcome = new Promise((r) => { this.resolve = r; });
    this.send(req, true);
  }

  /**
   * Sends the INVITE. A 422 Session Interval Too Small (RFC 4028 §8.2) is answered once, within
   * this attempt and under the same ring timeout: the same Call-ID and From tag, the next CSeq,
   * Session-Expires raised to the far end's Min-SE.
   */
  private send(req: InviteRequest, may422: boolean): void {
    // Without SDP srf ACKs a 200's offer itself (with a recvonly copy of it) unless told noAck,
    // which hands us the offer and the ACK to send (UnackedAnswer).
    const body = req.lateOffer ? { noAck: true } : { localSdp: req.localSdp };
    this.srf.createUAC(req.uri, { ...body, headers: req.headers, ...(req.auth ? { auth: req.auth } : {}) } as Srf.CreateUACOptions, {
      // srf calls this as (err, req), although its typings say (req).
      cbRequest: ((_err: unknown, sent: Srf.SrfRequest | undefined) => {
        if (!sent) return;
        this.pending = this.settled ? null : sent;
        // Stopped while the INVITE was being sent: CANCEL it now.
        if (this.stopped) sendCancel(sent);
      }) as unknown as (r: Srf.SrfRequest) => void,
      cbProvisional: (res: Srf.SrfResponse) => {
        if (!this.settled && !this.stopped) this.onProvisional(res.status, res.body || undefined);
      },
    }).then((answered) => {
      if (req.lateOffer) {
        // Answered: a ring timeout from now on does not undo it (as for any answer crossing it).
        this.answering = true;
        this.pending = null;
        return this.answerLateOffer(answered as unknown as UnackedAnswer | Srf.Dialog, req.lateOffer);
      }
      const dialog = answered;
      // A ring timeout crossed by the answer keeps the call (the callee did answer); a cancel does not.
      if (this.settled || this.stopped === 'cancelled') {
        hangUp(dialog);
        this.done({ sipStatus: 487, stopped: 'cancelled', error: false });
        return;
      }
      this.done({ dialog, sipStatus: 200, stopped: null, error: false });
    }, (err: unknown) => {
      const status = (err as { status?: number }).status;
      const res = (err as { res?: Srf.SrfResponse }).res;
      if (this.stopped) this.done({ sipStatus: this.stopped === 'timeout' ? 408 : 487, stopped: this.stopped, error: false });
      else if (status === 422 && may422 && !this.settled && res) {
        const retry = retryAfter422(req.headers, res);
        if (!retry) return this.done({ sipStatus: 422, stopped: null, error: false });
        this.pending = null;
        const seq = Number(/^\s*(\d+)/.exec(header(res, 'CSeq') ?? '')?.[1] ?? 1);
        const callId = header(res, 'Call-ID');
        const from = header(res, 'From');
        this.send({ ...req, headers: { ...retry, CSeq: `${seq + 1} INVITE`, ...(callId ? { 'Call-ID': callId } : {}), ...(from ? { From: from } : {}) } }, false);
      } else if (typeof status === 'number') this.done({ sipStatus: status, stopped: null, error: false });
      else this.done({ sipStatus: 503, stopped: null, error: true });
    });
  }

  /**
   * The callee answered our INVITE without SDP with its offer: the media server answers it, the
   * answer goes in the ACK. Cancelled meanwhile → ACK and BYE; failed → the callee's 200 is ACKed
   * (with its own SDP, as srf does) and hung up, and the attempt ends 488 (the offer not usable).
   */
  private async answerLateOffer(answered: UnackedAnswer | Srf.Dialog, lateOffer: LateOffer): Promise<void> {
    if (!('ack' in answered) || typeof answered.ack !== 'function' || !answered.sdp) {
      // A 200 without an offer (srf ACKed it and made the dialog): nothing the media server can answer.
      hangUp(answered as Srf.Dialog);
      if (this.unwanted()) return this.done({ sipStatus: 487, stopped: 'cancelled', error: false });
      return this.done({ sipStatus: 488, stopped: this.stopped, error: true, note: 'no-offer' });
    }
    const unacked = answered as UnackedAnswer;
    if (this.unwanted()) {
      void unacked.destroy().catch(() => {});
      return this.done({ sipStatus: 487, stopped: 'cancelled', error: false });
    }
    const sent: { dialog?: Promise<Srf.Dialog>; gone?: boolean } = {};
    // The callee's dialog exists from the ACK on: a BYE from it while FreeSWITCH's endpoint is
    // still being made (ICE, DTLS) must not leave the caller bridged to nobody.
    const ack = (sdp: string): Promise<Srf.Dialog> => (sent.dialog = unacked.ack(sdp).then((d) => {
      d.once('destroy', () => { sent.gone = true; });
      return d;
    }));
    try {
      const endpoint = await lateOffer.answer(unacked.sdp, ack);
      if (!sent.dialog) throw new Error('the answer was never sent');
      const dialog = await sent.dialog;
      if (this.unwanted() || sent.gone || (dialog as { connected?: boolean }).connected === false) {
        if (!sent.gone) hangUp(dialog);
        lateOffer.release(endpoint);
        const left = !this.unwanted();
        return this.done({ sipStatus: 487, stopped: left ? null : 'cancelled', error: false, ...(left ? { note: 'callee-left-at-answer' } : {}) });
      }
      this.done({ dialog, endpoint, sipStatus: 200, stopped: null, error: false });
    } catch {
      if (sent.dialog) void sent.dialog.then(hangUp, () => {});
      else void unacked.destroy().catch(() => {});
      this.done({ sipStatus: 488, stopped: this.stopped, error: true, note: 'offer-not-answered' });
    }
  }

  /** An answer now would be hung up: we gave up, or the caller left. */
  private unwanted(): boolean {
    return this.settled || this.stopped === 'cancelled';
  }

  /** CANCEL (ring timeout or the caller gone); the first reason is kept. Never throws. */
  stop(why: 'timeout' | 'cancelled'): void {
    if (this.settled) return;
    // The callee answered and its late offer is being answered: only the caller leaving stops that.
    if (this.answering && why === 'timeout') return;
    if (this.stopped === null || why === 'cancelled') this.stopped = why;
    if (this.pending) sendCancel(this.pending);
    this.grace ??= this.clock.setTimeout(() => this.done({ sipStatus: this.stopped === 'timeout' ? 408 : 487, stopped: this.stopped, error: false }), CANCEL_GRACE_MS);
  }

  private done(o: InviteOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.pending = null;
    if (this.grace) this.clock.clearTimeout(this.grace);
    this.resolve(o);
  }
}

/** CANCEL from event handlers and timers: a final response may already have crossed it. */
function sendCancel(req: Srf.SrfRequest): void {
  try {
    req.cancel(() => {});
  } catch {
    // transaction already completed, or the link is down
  }
}

/** BYE to an answer nobody wants; it may cross the far end's own BYE. */
export function hangUp(dialog: Srf.Dialog): void {
  void Promise.resolve().then(() => dialog.destroy()).catch(() => {});
}

/** A header of a response; undefined when absent (srf throws on some). */
function header(res: Srf.SrfResponse, name: string): string | undefined {
  try {
    return res.get(name) || undefined;
  } catch {
    return undefined;
  }
}
