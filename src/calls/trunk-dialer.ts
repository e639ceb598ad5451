// Dials the trunks of an allowed call in failover order (004 §2.6: when a line fails, other lines
// must carry the calls). 408, 5xx, timeouts and transport errors move on to the next trunk; a
// callee's own answer (486 busy, 404, 6xx ...) ends the attempt, since another carrier would get
// the same answer from the same phone.
import type Srf from 'drachtio-srf';
import type { ConfigSnapshot } from '../config/types.js';
import type { Allow } from '../policy/types.js';
import type { Clock } from './clock.js';
import { InviteAttempt, type DialAttempt } from './invite-attempt.js';

export interface TrunkTarget {
  trunkId: string;
  requestUri: string;
  callerId: string;
  timeoutSeconds: number;
  /** Digest credentials the carrier may challenge for. */
  auth?: { username: string; password: string };
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
  attempts: DialAttempt[];
}

export class DialFailure extends Error {
  constructor(readonly status: number, readonly attempts: DialAttempt[], readonly cancelled = false) {
    super(`all trunks failed, last status ${status}`);
  }
}

/** An allowed decision's trunks as the dialler takes them (timeouts and credentials from the config). */
export function trunkTargets(decision: Pick<Allow, 'trunks'>, cfg: ConfigSnapshot): TrunkTarget[] {
  return decision.trunks.map((t) => {
    const trunk = cfg.trunks.get(t.trunkId)!;
    return {
      trunkId: t.trunkId, requestUri: t.requestUri, callerId: t.callerId, timeoutSeconds: trunk.timeoutSeconds,
      ...(trunk.username && trunk.password ? { auth: { username: trunk.username, password: trunk.password } } : {}),
    };
  });
}

/** Statuses after which the next trunk is tried. */
export function isFailoverStatus(status: number): boolean {
  return status === 408 || (status >= 500 && status < 600);
}

export class TrunkDialer {
  private cancelled = false;
  private current: InviteAttempt | null = null;

  constructor(private readonly srf: Srf) {}

  /** The caller gave up (CANCEL or BYE before answer): stop the current attempt and all others. */
  cancel(): void {
    this.cancelled = true;
    this.current?.stop('cancelled');
  }

  async dial(opts: DialOptions): Promise<Dialled> {
    const attempts: DialAttempt[] = [];
    let lastStatus = 503;
    for (const target of opts.targets) {
      if (this.cancelled) break;
      const at = opts.clock.now();
      if (!(await opts.acquireTrunk(target.trunkId))) {
        attempts.push({ target: target.trunkId, sipStatus: 503, at, note: 'busy-trunk' });
        continue;
      }
      // Cancelled while the slot was being taken: send no INVITE at all.
      if (this.cancelled) {
        await opts.releaseTrunk(target.trunkId);
        break;
      }
      const attempt = new InviteAttempt(this.srf, {
        uri: target.requestUri,
        localSdp: opts.localSdp,
        headers: { ...opts.headers, From: `<sip:${target.callerId}@${opts.fromHost}>` },
        ...(target.auth ? { auth: target.auth } : {}),
      }, opts.clock, opts.onProvisional);
      this.current = attempt;
      const ring = opts.clock.setTimeout(() => attempt.stop('timeout'), target.timeoutSeconds * 1000);
      const o = await attempt.outcome.finally(() => opts.clock.clearTimeout(ring));
      this.current = null;
      const note = o.stopped ?? (o.error ? 'error' : undefined);
      attempts.push({ target: target.trunkId, sipStatus: o.sipStatus, at: attempt.at, ...(note ? { note } : {}) });
      if (o.dialog) return { dialog: o.dialog, trunkId: target.trunkId, attempts };
      await opts.releaseTrunk(target.trunkId);
      lastStatus = o.sipStatus;
      if (this.cancelled) break;
      if (!isFailoverStatus(lastStatus)) throw new DialFailure(lastStatus, attempts);
    }
    if (this.cancelled) throw new DialFailure(487, attempts, true);
    // No trunk left (all failed over or full): 503, as DESIGN says for "no trunk left".
    throw new DialFailure(attempts.length > 0 && !isFailoverStatus(lastStatus) ? lastStatus : 503, attempts);
  }
}
