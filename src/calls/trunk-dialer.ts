// Dials the trunks of an allowed call in failover order (004 §2.6: when a line fails, other lines
// must carry the calls). 408, 5xx, timeouts and transport errors move on to the next trunk; a
// callee's own answer (486 busy, 404, 6xx ...) ends the attempt, since another carrier would get
// the same answer from the same phone.
import type Srf from 'drachtio-srf';
import type { Clock } from './clock.js';

export interface TrunkTarget {
  trunkId: string;
  requestUri: string;
  callerId: string;
  timeoutSeconds: number;
  /** Digest credentials the carrier may challenge for. */
  auth?: { username: string; password: string };
}

export interface TrunkAttempt {
  trunk: string;
  sipStatus: number;
  at: number;
  /** 'timeout' | 'error' | 'busy-trunk' | undefined for a SIP answer. */
  note?: string;
}

export interface DialOptions {
  targets: readonly TrunkTarget[];
  localSdp: string;
  /** Host the From header names (our SIP domain). */
  fromHost: string;
  /** Extra headers on every attempt (P-Asserted-Identity etc). */
  headers?: Record<string, string>;
  clock: Clock;
  /** Takes a trunk capacity slot; false = trunk full, skip it. */
  acquireTrunk(trunkId: string): Promise<boolean>;
  releaseTrunk(trunkId: string): Promise<void>;
  onProvisional(status: number, sdp: string | undefined): void;
}

export interface Dialled {
  dialog: Srf.Dialog;
  trunkId: string;
  attempts: TrunkAttempt[];
}

export class DialFailure extends Error {
  constructor(readonly status: number, readonly attempts: TrunkAttempt[], readonly cancelled = false) {
    super(`all trunks failed, last status ${status}`);
  }
}

/** Statuses after which the next trunk is tried. */
/** How long to wait for a CANCELled INVITE to end before giving up on it. */
const CANCEL_GRACE_MS = 2_000;

export function isFailoverStatus(status: number): boolean {
  return status === 408 || (status >= 500 && status < 600);
}

export class TrunkDialer {
  private pending: Srf.SrfRequest | null = null;
  private cancelled = false;
  /** Stops waiting for the current attempt soon (after a CANCEL that may get no answer). */
  private abortCurrent: (() => void) | null = null;

  constructor(private readonly srf: Srf) {}

  /** The caller gave up (CANCEL or BYE before answer): stop the current attempt and all others. */
  cancel(): void {
    this.cancelled = true;
    const req = this.pending;
    if (req) req.cancel(() => {});
    this.abortCurrent?.();
  }

  async dial(opts: DialOptions): Promise<Dialled> {
    const attempts: TrunkAttempt[] = [];
    let lastStatus = 503;
    for (const target of opts.targets) {
      if (this.cancelled) break;
      if (!(await opts.acquireTrunk(target.trunkId))) {
        attempts.push({ trunk: target.trunkId, sipStatus: 503, at: opts.clock.now(), note: 'busy-trunk' });
        continue;
      }
      // Cancelled while the slot was being taken: send no INVITE at all.
      if (this.cancelled) {
        await opts.releaseTrunk(target.trunkId);
        break;
      }
      const outcome = await this.attempt(target, opts);
      attempts.push(outcome.attempt);
      if (outcome.dialog) return { dialog: outcome.dialog, trunkId: target.trunkId, attempts };
      await opts.releaseTrunk(target.trunkId);
      lastStatus = outcome.attempt.sipStatus;
      if (this.cancelled) break;
      if (!isFailoverStatus(lastStatus)) throw new DialFailure(lastStatus, attempts);
    }
    if (this.cancelled) throw new DialFailure(487, attempts, true);
    // No trunk left (all failed over or full): 503, as DESIGN says for "no trunk left".
    throw new DialFailure(attempts.length > 0 && !isFailoverStatus(lastStatus) ? lastStatus : 503, attempts);
  }

  /**
   * One INVITE to one trunk. The ring timeout (and the caller's CANCEL) send a CANCEL; a carrier
   * that never sent a provisional response cannot be CANCELled (RFC 3261 §9.1) and would hold the
   * attempt until Timer B (32 s), so after CANCEL_GRACE_MS we stop waiting and move on. A late 2xx
   * from the abandoned attempt is hung up at once.
   */
  private attempt(target: TrunkTarget, opts: DialOptions): Promise<{ dialog?: Srf.Dialog; attempt: TrunkAttempt }> {
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      let grace: ReturnType<Clock['setTimeout']> | null = null;
      const done = (r: { dialog?: Srf.Dialog; attempt: TrunkAttempt }): void => {
        if (settled) return;
        settled = true;
        this.pending = null;
        this.abortCurrent = null;
        opts.clock.clearTimeout(timer);
        if (grace) opts.clock.clearTimeout(grace);
        resolve(r);
      };
      const giveUpSoon = (): void => {
        grace ??= opts.clock.setTimeout(() => done({
          attempt: { trunk: target.trunkId, sipStatus: timedOut ? 408 : 487, at: opts.clock.now(), note: timedOut ? 'timeout' : 'cancelled' },
        }), CANCEL_GRACE_MS);
      };
      this.abortCurrent = giveUpSoon;
      const timer = opts.clock.setTimeout(() => {
        timedOut = true;
        this.pending?.cancel(() => {});
        giveUpSoon();
      }, target.timeoutSeconds * 1000);
      this.srf.createUAC(target.requestUri, {
        localSdp: opts.localSdp,
        headers: {
          ...opts.headers,
          From: `<sip:${target.callerId}@${opts.fromHost}>`,
        },
        ...(target.auth ? { auth: target.auth } : {}),
      }, {
        // srf calls this as (err, req), although its typings say (req).
        cbRequest: ((_err: unknown, req: Srf.SrfRequest | undefined) => {
          if (!req) return;
          if (settled) {
            req.cancel(() => {});
            return;
          }
          this.pending = req;
          // The caller may have cancelled, or the ring timer expired, while the INVITE was being sent.
          if (this.cancelled || timedOut) req.cancel(() => {});
        }) as unknown as (req: Srf.SrfRequest) => void,
        cbProvisional: (res: Srf.SrfResponse) => {
          if (!settled) opts.onProvisional(res.status, res.body || undefined);
        },
      }).then((dialog) => {
        if (settled) {
          // Answered after we gave up on it: the call went elsewhere (or nowhere).
          void Promise.resolve().then(() => dialog.destroy()).catch(() => {});
          return;
        }
        done({ dialog, attempt: { trunk: target.trunkId, sipStatus: 200, at: opts.clock.now() } });
      }, (err: unknown) => {
        const status = (err as { status?: number }).status;
        const at = opts.clock.now();
        if (timedOut) done({ attempt: { trunk: target.trunkId, sipStatus: 408, at, note: 'timeout' } });
        else if (typeof status === 'number') done({ attempt: { trunk: target.trunkId, sipStatus: status, at } });
        else done({ attempt: { trunk: target.trunkId, sipStatus: 503, at, note: 'error' } });
      });
    });
  }
}
