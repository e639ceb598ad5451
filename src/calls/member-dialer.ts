// Rings one destination of a 400 call (002 §1.3 号码绑定): a registered seat at its contact, or a
// number through the trunks in failover order (004 §2.6; 408/5xx move on to the next trunk). The
// member's no-answer timeout covers the whole attempt; cancel() stops it (CANCEL on the wire).
import type Srf from 'drachtio-srf';
import type { RouteMember } from '../policy/inbound/types.js';
import type { Clock, Timer } from './clock.js';
import { isFailoverStatus } from './trunk-dialer.js';

export interface LegAttempt {
  /** "seat:1001" or "number:13800138000@trunk-a". */
  target: string;
  sipStatus: number;
  at: number;
  note?: string;
}

export interface LegResult {
  member: RouteMember;
  dialog?: Srf.Dialog;
  /** Trunk that carried an answered number leg. */
  trunkId?: string;
  attempts: LegAttempt[];
}

export interface LegOptions {
  localSdp: string;
  /** From header: the original caller (issue 6 §3: the caller id is kept on the forwarded leg). */
  from: string;
  headers?: Record<string, string>;
  clock: Clock;
  /** The seat's registered contact URI, or null when it is not registered. */
  contactOf(seat: string): Promise<string | null>;
  trunkAuth(trunkId: string): { username: string; password: string } | undefined;
  acquireTrunk(trunkId: string): Promise<boolean>;
  releaseTrunk(trunkId: string): Promise<void>;
  onRinging(): void;
}

export class MemberLeg {
  private pending: Srf.SrfRequest | null = null;
  private cancelled = false;
  private timer: Timer | null = null;
  private timedOut = false;

  constructor(private readonly srf: Srf, readonly member: RouteMember, private readonly opts: LegOptions) {}

  cancel(): void {
    this.cancelled = true;
    this.sendCancel();
  }

  /** CANCEL the pending INVITE; called from event handlers and timers, so it never throws. */
  private sendCancel(req: Srf.SrfRequest | null = this.pending): void {
    try {
      req?.cancel(() => {});
    } catch {
      // The transaction already completed (final response crossed the CANCEL) or the link is down.
    }
  }

  async dial(): Promise<LegResult> {
    const { member, opts } = this;
    const attempts: LegAttempt[] = [];
    this.timer = opts.clock.setTimeout(() => {
      this.timedOut = true;
      this.sendCancel();
    }, member.noAnswerSeconds * 1000);
    try {
      if (member.kind === 'seat') {
        const contact = await opts.contactOf(member.seat);
        if (!contact) {
          attempts.push({ target: member.key, sipStatus: 480, at: opts.clock.now(), note: 'not-registered' });
          return { member, attempts };
        }
        const r = await this.attempt(contact, undefined);
        attempts.push({ target: member.key, ...r.attempt });
        return { member, attempts, ...(r.dialog ? { dialog: r.dialog } : {}) };
      }
      for (const t of member.trunks) {
        if (this.cancelled || this.timedOut) break;
        const target = `${member.key}@${t.trunkId}`;
        if (!(await opts.acquireTrunk(t.trunkId))) {
          attempts.push({ target, sipStatus: 503, at: opts.clock.now(), note: 'busy-trunk' });
          continue;
        }
        const r = await this.attempt(t.requestUri, opts.trunkAuth(t.trunkId));
        attempts.push({ target, ...r.attempt });
        if (r.dialog) return { member, attempts, dialog: r.dialog, trunkId: t.trunkId };
        await opts.releaseTrunk(t.trunkId);
        if (!isFailoverStatus(r.attempt.sipStatus) || r.attempt.note === 'no-answer') break;
      }
      return { member, attempts };
    } finally {
      if (this.timer) opts.clock.clearTimeout(this.timer);
    }
  }

  private async attempt(uri: string, auth: { username: string; password: string } | undefined): Promise<{ dialog?: Srf.Dialog; attempt: Omit<LegAttempt, 'target'> }> {
    const { opts } = this;
    const at = opts.clock.now();
    if (this.cancelled) return { attempt: { sipStatus: 487, at, note: 'cancelled' } };
    if (this.timedOut) return { attempt: { sipStatus: 408, at, note: 'no-answer' } };
    try {
      const dialog = await this.srf.createUAC(uri, {
        localSdp: opts.localSdp,
        headers: { ...opts.headers, From: opts.from },
        ...(auth ? { auth } : {}),
      }, {
        // srf calls this as (err, req), although its typings say (req).
        cbRequest: ((_err: unknown, req: Srf.SrfRequest | undefined) => {
          if (!req) return;
          this.pending = req;
          if (this.cancelled || this.timedOut) this.sendCancel(req);
        }) as unknown as (req: Srf.SrfRequest) => void,
        cbProvisional: (res: Srf.SrfResponse) => {
          if (res.status === 180 || res.status === 183) opts.onRinging();
        },
      });
      if (this.cancelled) {
        // Answered as we gave up: the caller is gone or another member won. Our BYE may cross theirs.
        Promise.resolve().then(() => dialog.destroy()).catch(() => {});
        return { attempt: { sipStatus: 487, at, note: 'answered-too-late' } };
      }
      return { dialog, attempt: { sipStatus: 200, at } };
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (this.timedOut) return { attempt: { sipStatus: 408, at, note: 'no-answer' } };
      if (this.cancelled) return { attempt: { sipStatus: 487, at, note: 'cancelled' } };
      if (typeof status === 'number') return { attempt: { sipStatus: status, at } };
      return { attempt: { sipStatus: 503, at, note: 'error' } };
    } finally {
      this.pending = null;
    }
  }
}
