// Rings one destination of a 400 call (002 §1.3 号码绑定): a registered seat at its contact, or a
// number through the trunks in failover order (004 §2.6; 408/5xx move on to the next trunk). The
// member's no-answer timeout covers the whole attempt; cancel() stops it (CANCEL on the wire, and
// the same 2 s grace for a silent far end as the trunk dialler: one InviteAttempt for both).
import type Srf from 'drachtio-srf';
import type { RouteMember } from '../policy/inbound/types.js';
import type { Clock, Timer } from './clock.js';
import type { Endpoint } from '../media/media-gateway.js';
import { InviteAttempt, type DialAttempt, type LateOffer } from './invite-attempt.js';
import { isFailoverStatus } from './trunk-dialer.js';

export interface LegResult {
  member: RouteMember;
  dialog?: Srf.Dialog;
  /** Trunk that carried an answered number leg. */
  trunkId?: string;
  /** The media server's endpoint facing a browser seat that answered (its late offer answered). */
  endpoint?: Endpoint;
  attempts: DialAttempt[];
}

export interface LegOptions {
  localSdp: string;
  /** From header: the original caller (issue 6 §3: the caller id is kept on the forwarded leg). */
  from: string;
  headers?: Record<string, string>;
  clock: Clock;
  /** The seat's registered contact (URI, and whether it is a browser over WebSocket), or null. */
  contactOf(seat: string): Promise<{ uri: string; webrtc: boolean } | null>;
  /**
   * How a browser seat is rung: an INVITE without SDP whose offer (in the 200) the media server
   * answers; the caller's own SDP when it is already WebRTC (no media server, direct); or not at
   * all (a browser cannot take plain RTP).
   */
  webRtcSeat: LateOffer | 'caller-sdp' | null;
  trunkAuth(trunkId: string): { username: string; password: string } | undefined;
  acquireTrunk(trunkId: string): Promise<boolean>;
  releaseTrunk(trunkId: string): Promise<void>;
  onRinging(): void;
}

export class MemberLeg {
  private current: InviteAttempt | null = null;
  private stopped: 'timeout' | 'cancelled' | null = null;

  constructor(private readonly srf: Srf, readonly member: RouteMember, private readonly opts: LegOptions) {}

  cancel(): void {
    this.stop('cancelled');
  }

  private stop(why: 'timeout' | 'cancelled'): void {
    if (this.stopped !== 'cancelled') this.stopped = why;
    this.current?.stop(why);
  }

  async dial(): Promise<LegResult> {
    const { member, opts } = this;
    const attempts: DialAttempt[] = [];
    const timer: Timer = opts.clock.setTimeout(() => this.stop('timeout'), member.noAnswerSeconds * 1000);
    try {
      if (member.kind === 'seat') {
        const at = opts.clock.now();
        const contact = await opts.contactOf(member.seat);
        if (!contact) {
          attempts.push({ target: member.key, sipStatus: 480, at, note: 'not-registered' });
          return { member, attempts };
        }
        const browser = contact.webrtc ? opts.webRtcSeat : undefined;
        if (browser === null) {
          attempts.push({ target: member.key, sipStatus: 488, at, note: 'webrtc-seat-needs-media-server' });
          return { member, attempts };
        }
        const r = await this.attempt(member.key, contact.uri, undefined, typeof browser === 'object' ? browser : undefined);
        attempts.push(r.attempt);
        return { member, attempts, ...(r.dialog ? { dialog: r.dialog } : {}), ...(r.endpoint ? { endpoint: r.endpoint } : {}) };
      }
      for (const t of member.trunks) {
        if (this.stopped) break;
        const target = `${member.key}@${t.trunkId}`;
        const at = opts.clock.now();
        if (!(await opts.acquireTrunk(t.trunkId))) {
          attempts.push({ target, sipStatus: 503, at, note: 'busy-trunk' });
          continue;
        }
        const r = await this.attempt(target, t.requestUri, opts.trunkAuth(t.trunkId));
        attempts.push(r.attempt);
        if (r.dialog) return { member, attempts, dialog: r.dialog, trunkId: t.trunkId };
        await opts.releaseTrunk(t.trunkId);
        if (!isFailoverStatus(r.attempt.sipStatus) || r.attempt.note === 'no-answer') break;
      }
      return { member, attempts };
    } finally {
      opts.clock.clearTimeout(timer);
    }
  }

  private async attempt(target: string, uri: string, auth: { username: string; password: string } | undefined, lateOffer?: LateOffer): Promise<{ dialog?: Srf.Dialog; endpoint?: Endpoint; attempt: DialAttempt }> {
    const { opts } = this;
    const at = opts.clock.now();
    if (this.stopped === 'cancelled') return { attempt: { target, sipStatus: 487, at, note: 'cancelled' } };
    if (this.stopped === 'timeout') return { attempt: { target, sipStatus: 408, at, note: 'no-answer' } };
    const attempt = new InviteAttempt(this.srf, {
      uri, ...(lateOffer ? { lateOffer } : { localSdp: opts.localSdp }), headers: { ...opts.headers, From: opts.from }, ...(auth ? { auth } : {}),
    }, opts.clock, (status) => {
      if (status === 180 || status === 183) opts.onRinging();
    });
    this.current = attempt;
    // Stopped while the attempt was being set up.
    if (this.stopped) attempt.stop(this.stopped);
    const o = await attempt.outcome;
    this.current = null;
    const note = o.stopped === 'timeout' ? 'no-answer' : o.stopped === 'cancelled' ? 'cancelled' : o.note ?? (o.error ? 'error' : undefined);
    return { ...(o.dialog ? { dialog: o.dialog } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}), attempt: { target, sipStatus: o.sipStatus, at: attempt.at, ...(note ? { note } : {}) } };
  }
}
