// Blind transfer (issue 13; RFC 3515 REFER, RFC 3420 sipfrag NOTIFYs) of an answered call by the
// seat on one of its legs, to another seat or to a number. The REFER is answered 202, the target
// decided by the pure policy (policy/transfer.ts: a number as a fresh call of the transferring
// seat, a seat registered and of the same tenant), and only an allowed target is dialled. When it
// answers, the remaining party's media is moved to it: anchored calls re-point the transferor's
// FreeSWITCH endpoint (the bridge to the remaining party's endpoint and the recording go on);
// direct calls re-INVITE the remaining party with the target's SDP. Then NOTIFY 200 and BYE to the
// transferor. A refused or failed target gets NOTIFY with its status (and Reason) and the call
// stays as it was, so the transferor can resume.
// Money: the remaining party's leg keeps its reservation (same id, extended as before; its billed
// time is continuous). A number target is a second carrier leg: it takes a port and a trunk slot
// and its own reservation `<callId>:xfer<n>` on the same account, listed in the CDR's charges.
// Attended transfer (Refer-To with Replaces) is answered 501: see parseReferTo and the README.
import type Srf from 'drachtio-srf';
import type { CdrTransfer } from '../cdr/model.js';
import type { ConfigSnapshot, Tenant } from '../config/types.js';
import { slotKey } from '../ledger/concurrency.js';
import { withDeadline } from '../media/deadlines.js';
import { releaseEndpoint, type Endpoint } from '../media/media-gateway.js';
import { isWebSocketContact, webRtcSignal } from '../policy/media-mode.js';
import { startRecording } from './recording.js';
import { reasonHeader } from '../policy/reasons.js';
import { decideTransfer, parseReferTo, sipfrag, type ReferTarget } from '../policy/transfer.js';
import type { RegistrarStore } from '../registrar/store.js';
import type { CallSession } from './call-session.js';
import { hangUp, InviteAttempt } from './invite-attempt.js';
import { readLedgerView } from './ledger-view.js';
import { offerHeaders } from './session-timer.js';
import { fraudZone } from '../fraud/zone.js';
import { hasFraudCaps } from '../policy/decideOutbound.js';
import { DENY_REASONS } from '../policy/reasons.js';
import type { LedgerView } from '../policy/types.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { Reservation } from './reservation.js';
import { DialFailure, TrunkDialer, trunkTargets } from './trunk-dialer.js';

/** How long a transfer target may ring before the transfer fails with 408. */
export const TRANSFER_RING_SECONDS = 30;
/** A NOTIFY's transaction is quick; past this the transfer goes on without its answer. */
const NOTIFY_TIMEOUT_MS = 2_000;

const STATUS_TEXT: Record<number, string> = {
  100: 'Trying', 200: 'OK', 400: 'Bad Request', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  408: 'Request Timeout', 480: 'Temporarily Unavailable', 484: 'Address Incomplete', 486: 'Busy Here',
  487: 'Request Terminated', 500: 'Server Internal Error', 503: 'Service Unavailable', 603: 'Decline',
};
const statusText = (s: number): string => STATUS_TEXT[s] ?? (s >= 600 ? 'Global Failure' : s >= 500 ? 'Server Error' : 'Request Failed');

type Leg = 'caller' | 'far';

interface Outcome {
  status: number;
  outcome: string;
  reason?: string;
  /** Connected: the transferor's dialog, no longer part of the call, to NOTIFY and hang up. */
  old?: Srf.Dialog | undefined;
  reservation?: string;
  /** The recording's continuation file (the recorded channel was replaced). */
  recordingPath?: string;
}

export interface TransferOptions {
  registrar: RegistrarStore;
  cfg: ConfigSnapshot;
  tenant: Tenant;
  /** The seat on each leg now (null: a carrier or a number, which cannot transfer). */
  seatOn: Record<Leg, string | null>;
  /** Who the target sees calling (the remaining party's number). */
  presented: string;
}

/** The blind transfers of one call: one at a time; a target seat may transfer again. */
export class BlindTransfers {
  private n = 0;

  constructor(private readonly s: CallSession, private readonly o: TransferOptions) {}

  /** SessionSpec.onRefer. */
  onRefer(leg: Leg, req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    void this.handle(leg, req, res).catch((err: unknown) => this.s.log.error({ err }, 'transfer failed'));
  }

  private async handle(leg: Leg, req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> {
    const { s, o } = this;
    const seat = o.seatOn[leg];
    const refuse = (status: number, text: string): void => { res.send(status, { headers: { Reason: reasonHeader(status, text) } }); };
    if (!seat) return refuse(603, 'Only a seat may transfer the call');
    const target = parseReferTo(req.has('Refer-To') ? req.get('Refer-To') : undefined, o.cfg);
    if (target.kind === 'bad') {
      s.log.info({ why: target.why }, 'REFER refused');
      return refuse(400, target.why);
    }
    if (target.kind === 'replaces') {
      // Attended transfer needs the consultation call (seat → target) to be one of ours to replace;
      // not built: say so to the phone, which then keeps the call (README: Transfer).
      s.log.info({ seat }, 'attended transfer (Replaces) refused: not supported');
      return refuse(501, 'Attended transfer not supported');
    }
    if (!s.beginTransfer(leg)) return refuse(491, 'A transfer is already in progress');
    const dialog = leg === 'caller' ? s.uas : s.uac;
    res.send(202);
    const eventId = /^\s*(\d+)/.exec(req.get('CSeq'))?.[1];
    const record: CdrTransfer = {
      transferredBy: seat, transferTo: target.kind === 'seat' ? target.seat : target.number, at: s.deps.clock.now(),
      outcome: 'pending', sipStatus: 0, transferorSeconds: null, targetSeconds: null, reservation: null,
    };
    s.transfers.push(record);
    const log = s.log.child({ transfer: ++this.n, by: seat, to: record.transferTo });
    log.info('blind transfer requested');
    await this.notify(dialog, eventId, 100, true);
    let r: Outcome;
    try {
      r = await this.attempt(leg, seat, target, this.n);
    } catch (err) {
      log.error({ err }, 'transfer attempt failed');
      r = { status: 500, outcome: 'failed-500' };
    }
    record.outcome = r.outcome;
    record.sipStatus = r.status;
    if (r.reservation) record.reservation = r.reservation;
    if (r.recordingPath) record.recordingPath = r.recordingPath;
    const transferorGone = s.endTransfer();
    log.info({ status: r.status, outcome: r.outcome }, 'blind transfer done');
    if (r.old) {
      if (!transferorGone) {
        await this.notify(r.old, eventId, 200, false);
        s.hangupDialog(r.old);
      }
      return;
    }
    // Not moved: the call is as it was; the transferor resumes (or, gone meanwhile, the call ends).
    if (transferorGone) return s.end(leg === 'caller' ? 'caller' : 'callee', 'bye');
    await this.notify(dialog, eventId, r.status, false, r.reason);
  }

  /** Decides and dials the target; on its answer moves the remaining party's media to it. */
  private async attempt(leg: Leg, seat: string, target: Extract<ReferTarget, { kind: 'seat' | 'number' }>, n: number): Promise<Outcome> {
    const { s, o } = this;
    const { deps } = s;
    const binding = target.kind === 'seat'
      ? (await o.registrar.lookup(target.seat, deps.clock.now())).sort((a, b) => b.registeredAt - a.registeredAt)[0]
      : undefined;
    const contact = binding?.contact ?? null;
    const view = target.kind === 'number'
      ? { ...(await readLedgerView(deps.ledger, deps.slots, o.cfg, o.tenant)), ...(await this.fraudView(target.number)) }
      : { available: 0, tenantActiveCalls: 0, trunkActiveCalls: new Map<string, number>() };
    const d = decideTransfer({ callId: s.spec.callId, n, seat, tenant: o.tenant.id }, target, o.cfg, contact, view, deps.clock.now());
    if (d.kind === 'deny') {
      s.log.info({ reason: d.reason, detail: d.detail }, 'transfer target refused');
      return { status: d.sipStatus, outcome: d.reason, reason: d.reasonHeader };
    }
    if (s.phase !== 'answered') return { status: 487, outcome: 'cancelled' };
    // The transferor's endpoint (anchored) is re-pointed; otherwise the remaining party is re-INVITEd.
    const ep = leg === 'caller' ? s.epA : s.epB;
    const other = leg === 'caller' ? s.epB : s.epA;
    const remaining = leg === 'caller' ? s.uac : s.uas;
    if (!remaining) return { status: 500, outcome: 'failed-500' };
    // A browser target takes DTLS-SRTP only: it is rung without SDP and its offer answered by an
    // endpoint of its own next to the remaining party's (as 400 calls ring browsers). That needs
    // the call anchored; a direct call's remaining party speaks plain RTP to nobody in between.
    const browserTarget = binding !== undefined && isWebSocketContact(binding);
    if (browserTarget && !other) {
      return { status: 488, outcome: 'webrtc-target-not-anchored', reason: reasonHeader(488, 'A web phone cannot take a call that is not anchored') };
    }
    // A browser's endpoint speaks DTLS-SRTP (UDP/TLS/RTP/SAVPF), which a desktop phone or a carrier
    // refuses: the target gets a plain endpoint of its own next to the remaining party's, bridged
    // to it once the target answers; the browser's endpoint goes with the browser's leg.
    let fresh: Endpoint | undefined;
    /** The target's endpoint came from its answer (late offer): already negotiated. */
    let negotiated = false;
    if (!browserTarget && ep && other && webRtcSignal(ep.local.sdp, null) !== null) {
      try {
        fresh = await deps.media.offeringEndpoint(other);
      } catch (err) {
        s.log.warn({ err }, 'transfer: no plain endpoint for the target of a WebRTC seat');
        return { status: 503, outcome: 'media-failed' };
      }
    }
    const offer = fresh ? fresh.local.sdp : ep ? ep.local.sdp : remaining.remote.sdp;
    const from = `<sip:${o.presented || seat}@${deps.settings.sipDomain}>`;
    const referredBy = `<sip:${seat}@${deps.settings.sipDomain}>`;
    // RFC 4028 on the new leg too, as on every leg we dial: a target gone silent is found.
    const timers = s.spec.sessionTimers ? offerHeaders(s.spec.sessionTimers) : {};

    let dialog: Srf.Dialog | undefined;
    let status = 0;
    let money: Reservation | null = null;
    const member = `${s.spec.callId}:xfer${n}`;
    if (d.kind === 'seat') {
      const media = browserTarget
        ? { lateOffer: { answer: (sdp: string, sendAnswer: (a: string) => Promise<Srf.Dialog>) => deps.media.answerLateOffer(sdp, sendAnswer, other), release: (e: Endpoint) => void releaseEndpoint(e, s.log) } }
        : { localSdp: offer };
      const attempt = new InviteAttempt(deps.srf, { uri: d.contact, ...media, headers: { ...timers, From: from, 'Referred-By': referredBy } }, deps.clock, () => {});
      const ring = deps.clock.setTimeout(() => attempt.stop('timeout'), TRANSFER_RING_SECONDS * 1000);
      const stop = s.onEnding(() => attempt.stop('cancelled'));
      const out = await attempt.outcome.finally(() => { deps.clock.clearTimeout(ring); stop(); });
      dialog = out.dialog;
      status = out.sipStatus;
      if (out.endpoint) {
        fresh = out.endpoint;
        negotiated = true;
      }
    } else {
      const decision = d.decision;
      // A second carrier leg: a port of the tenant, a trunk slot, and its own reservation.
      const slot = await s.holdSlot(slotKey('tenant', o.tenant.id), member, o.tenant.maxConcurrent);
      if (!slot.ok) return { status: 486, outcome: 'tenant-busy', reason: reasonHeader(486, 'All lines of the account in use') };
      // A Redis failure past this point must not keep the port (or the money) taken.
      try {
        // The toll-fraud caps count a transfer's new carrier leg as a call of the tenant (atomically
        // across instances, as at an outbound call's admission).
        if (deps.fraud && hasFraudCaps(o.tenant)) {
          const a = await deps.fraud.admit(o.tenant.id, decision.callee.national, deps.clock.now(), fraudZone(o.tenant, o.cfg), o.tenant);
          if (!a.ok) {
            await s.dropSlot(slotKey('tenant', o.tenant.id), member);
            const why = a.cap === 'cps' ? 'calls-per-second' : 'callee-attempts';
            const deny = DENY_REASONS[why];
            return { status: deny.sipStatus, outcome: why, reason: reasonHeader(deny.sipStatus, deny.text) };
          }
        }
        if (decision.rate) {
          money = new Reservation(deps.ledger, o.tenant.account, member, {
            rate: decision.rate, tenant: o.tenant.id, seat, callee: decision.callee.national, caller: decision.callerId,
            inviteAt: deps.clock.now(), direction: 'outbound', cdrId: `${s.spec.cdrBase().cdrId}:xfer${n}`,
          }, deps.settings.chunkSeconds);
          const r = await money.authorise(deps.clock.now());
          if (!r.ok) {
            await s.dropSlot(slotKey('tenant', o.tenant.id), member);
            return { status: 402, outcome: 'insufficient-balance', reason: reasonHeader(402, 'Insufficient balance') };
          }
          s.addReservation(money);
        }
        const dialer = new TrunkDialer(deps.srf);
        const stop = s.onEnding(() => dialer.cancel());
        try {
          const got = await dialer.dial({
            targets: trunkTargets(decision, o.cfg), localSdp: offer, fromHost: deps.settings.sipDomain,
            headers: { ...timers, 'Referred-By': referredBy }, clock: deps.clock,
            acquireTrunk: async (id) => (await s.holdSlot(slotKey('trunk', id), member, o.cfg.trunks.get(id)?.maxConcurrent ?? 0)).ok,
            releaseTrunk: (id) => s.dropSlot(slotKey('trunk', id), member),
            onProvisional: () => {},
          });
          dialog = got.dialog;
          status = 200;
        } catch (err) {
          if (!(err instanceof DialFailure)) throw err;
          status = err.status;
        } finally {
          stop();
        }
      } catch (err) {
        if (money) await s.dropReservation(money).catch(() => {});
        await s.dropSlot(slotKey('tenant', o.tenant.id), member).catch(() => {});
        if (fresh) await releaseEndpoint(fresh, s.log);
        throw err;
      }
    }
    const giveUp = async (st: number, outcome: string): Promise<Outcome> => {
      if (dialog) hangUp(dialog);
      if (fresh) await releaseEndpoint(fresh, s.log);
      if (money) await s.dropReservation(money);
      if (d.kind === 'number') await s.dropSlot(slotKey('tenant', o.tenant.id), member);
      return { status: st, outcome };
    };
    if (!dialog) return giveUp(status, s.phase === 'answered' ? `failed-${status}` : 'cancelled');
    if (s.phase !== 'answered') return giveUp(487, 'cancelled');
    try {
      if (fresh) {
        if (!negotiated) await fresh.modify(dialog.remote.sdp);
        await fresh.bridge(other!);
      } else if (ep) await ep.modify(dialog.remote.sdp);
      else await remaining.modify(dialog.remote.sdp);
    } catch (err) {
      s.log.warn({ err }, 'transfer: moving the media failed');
      return giveUp(500, 'media-failed');
    }
    if (s.phase !== 'answered') return giveUp(487, 'cancelled');
    if (money) {
      money.answeredAt = deps.clock.now();
      s.rescheduleBoundary();
    }
    const old = s.replaceLeg(leg, dialog);
    let recordingPath: string | undefined;
    if (fresh) {
      // When the recorded endpoint leaves with the transferor, the recording goes on from here,
      // on the remaining party's channel, in a file of its own (named in this transfer's entry).
      if (s.recordingPath && ep === s.recordingOn) {
        const r = await startRecording(other!, s.recordingFile(o.tenant.id, 'transfer-'), s.log);
        if (r.ok) {
          recordingPath = r.path;
          s.recordingOn = other;
        } else s.log.warn({ why: r.why }, 'transfer: recording not continued');
      }
      s.replaceEndpoint(leg, fresh);
      void releaseEndpoint(ep, s.log);
    }
    o.seatOn[leg] = d.kind === 'seat' ? d.seat : null;
    // The agent states follow: the transferor is free now, a target seat is on this call.
    await s.agentTransferred(d.kind === 'seat' ? d.seat : null);
    const live = deps.live.get(s.spec.callId);
    if (live && d.kind === 'seat') live.seat = d.seat;
    return { status: 200, outcome: 'connected', old, ...(money ? { reservation: money.id } : {}), ...(recordingPath ? { recordingPath } : {}) };
  }

  /** The tenant's fraud counters for a number target's decision (spend caps too); unread if Redis fails. */
  private async fraudView(number: string): Promise<Pick<LedgerView, 'fraud'>> {
    const { deps } = this.s;
    const t = this.o.tenant;
    if (!deps.fraud || !hasFraudCaps(t)) return {};
    try {
      const n = normalizeNumber(number);
      return { fraud: await deps.fraud.view(t.id, n.ok ? n.number.national : null, deps.clock.now(), fraudZone(t, this.o.cfg)) };
    } catch (err) {
      this.s.log.warn({ err }, 'fraud counters not read for the transfer target');
      return {};
    }
  }

  /** NOTIFY (RFC 3515 §2.4.4) with a sipfrag of the progress; bounded, never throws. */
  private async notify(d: Srf.Dialog | undefined, eventId: string | undefined, status: number, active: boolean, reason?: string): Promise<void> {
    if (!d || (d as { connected?: boolean }).connected === false) return;
    // srf's typings want an SrfRequest; at run time Dialog#request takes {method, headers, body}.
    const send = d.request as unknown as (opts: { method: string; headers: Record<string, string>; body: string }) => Promise<unknown>;
    const req = send.call(d, {
      method: 'NOTIFY',
      headers: {
        Event: eventId ? `refer;id=${eventId}` : 'refer',
        'Subscription-State': active ? 'active;expires=60' : 'terminated;reason=noresource',
        'Content-Type': 'message/sipfrag;version=2.0',
      },
      body: sipfrag(status, statusText(status), reason),
    });
    await withDeadline(req, NOTIFY_TIMEOUT_MS, 'NOTIFY').catch((err: unknown) => this.s.log.debug({ err }, 'NOTIFY failed'));
  }
}
