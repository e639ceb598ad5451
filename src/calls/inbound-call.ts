// One inbound 400 call from decision to CDR (issue 6 §3, §4): the pure decision (decideInbound),
// then a CallSession with the package reservation, the prompts (inbound-ivr.ts), ringing the
// destinations (inbound-ringing.ts), the bridge, and the missed-call rule. Teardown, the paid
// boundary, settlement of every reservation and the CDR are the session's.
// Decisions taken here:
// - billed time runs from the destination's answer to the first BYE; IVR time (welcome, PIN) and
//   voicemail are not billed to the owner;
// - a call counts as missed (002 §3.5) when destinations were rung and none answered, the caller
//   hanging up while it rang included; PIN failures and closed/voicemail calls are not missed calls;
// - a seat is rung at its most recent registered contact; a number member through the owner's
//   outbound route, its leg reserved and settled on the owner tenant's account at its tariff, and
//   its cost listed in the call's CDR (`charges`).
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { CdrInput, HangupBy } from '../cdr/model.js';
import type { ConfigSnapshot } from '../config/types.js';
import type { Ledger } from '../ledger/ledger.js';
import { breakApp, releaseEndpoint } from '../media/media-gateway.js';
import { decideInbound, regionLabel } from '../policy/inbound/decideInbound.js';
import { missedCallCharge } from '../policy/inbound/missed-calls.js';
import { INBOUND_DENY, type InboundDenyReason } from '../policy/inbound/reasons.js';
import { carrierTrunkFor } from '../policy/inbound/sources.js';
import type { InboundCall, InboundConnect, InboundDecision, InboundReject, RouteMember } from '../policy/inbound/types.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { reasonHeader } from '../policy/reasons.js';
import type { RegistrarStore } from '../registrar/store.js';
import { userPart } from './call-record.js';
import { CallSession, DEFAULT_MAX_CALL_SECONDS, sessionTimersOf, type SessionDeps, type SessionSettings } from './call-session.js';
import type { AgentEvents, AgentStore } from '../agents/agent-store.js';
import { InboundIvr } from './inbound-ivr.js';
import { Ringer } from './inbound-ringing.js';
import { missedDay, type InboundState } from './inbound-state.js';
import type { LegResult } from './member-dialer.js';
import { Reservation, type Settled } from './reservation.js';
import { relayOffers, relayReInvites } from './reinvite-relay.js';
import { answerTimer } from './session-timer.js';
import { BlindTransfers } from './blind-transfer.js';
import { countSpend } from './spend-caps.js';

export type InboundSettings = SessionSettings;

export interface InboundDeps extends SessionDeps {
  registrar: RegistrarStore;
  state: InboundState;
  /** Agent state (issue 13): seats not available are not rung; absent = every seat is. */
  agents?: AgentEvents & Pick<AgentStore, 'records'>;
}

/** When the owner tenant configures none. */
const DEFAULT_WARNING_SECONDS = 30;

export class InboundCallHandler {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * Whether an INVITE is a carrier's call to a 400 number: it comes from a trunk's inbound source
   * and names a configured 400 number, or any 400/800 number (answered 404 if not configured).
   * Anything else goes to the seat path, where it is challenged like any unauthenticated request,
   * so an INVITE from elsewhere learns nothing about which numbers exist.
   */
  accepts(req: Srf.SrfRequest, cfg: ConfigSnapshot): boolean {
    // Credentials mean a seat answering our challenge, even from a carrier's address.
    if (req.has('Proxy-Authorization')) return false;
    if (!carrierTrunkFor(cfg, req.source_address, Number(req.source_port))) return false;
    const n = normalizeNumber(userPart(req.uri));
    if (!n.ok) return false;
    return cfg.plans400?.has(n.number.national) === true || n.number.class === 'tollfree400' || n.number.class === 'tollfree800';
  }

  async handle(req: Srf.SrfRequest, res: Srf.SrfResponse, cfg: ConfigSnapshot): Promise<void> {
    const { clock, ledger } = this.deps;
    const inviteAt = clock.now();
    const call: InboundCall = {
      callId: req.get('Call-ID'), sourceIp: req.source_address, sourcePort: Number(req.source_port),
      from: userPart(req.get('From')), to: userPart(req.uri),
    };
    // RFC 4028 §8.1: a carrier offering less than our Min-SE gets 422 before anything else; a step
    // of the INVITE (the carrier retries with our Min-SE), not a call: no CDR, nothing read.
    const st = sessionTimersOf(this.deps, cfg);
    const timer = st ? answerTimer(req, st) : null;
    if (timer?.kind === 'reject') {
      this.deps.log.info({ callId: call.callId, sessionExpires: req.get('Session-Expires'), minSe: timer.minSe }, 'session interval too small: 422');
      res.send(422, { headers: { 'Min-SE': String(timer.minSe) } });
      return;
    }
    // A CANCEL can arrive while the ledger is read; srf emits it once, so listen from the start.
    let cancelledEarly = (req as { canceled?: boolean }).canceled === true;
    const onEarlyCancel = (): void => { cancelledEarly = true; };
    req.on('cancel', onEarlyCancel);
    const n = normalizeNumber(call.to);
    const plan = n.ok ? cfg.plans400?.get(n.number.national) : undefined;
    let account: Awaited<ReturnType<Ledger['getAccount']>> = null;
    let ledgerError: Error | null = null;
    try {
      account = plan ? await ledger.getAccount(plan.account) : null;
    } catch (err) {
      ledgerError = err as Error;
    } finally {
      (req as unknown as NodeJS.EventEmitter).removeListener('cancel', onEarlyCancel);
    }
    let decision = decideInbound(call, cfg, {
      available: account ? account.available : null,
      ...(account ? { standing: { status: account.status, arrears: account.arrears, arrearsSince: account.arrearsSince } } : {}),
    }, clock.now());
    if (ledgerError && (decision.kind !== 'reject' || decision.reason === 'package-used-up')) {
      // The package could not be read (Redis): refuse for now, without claiming the number is out of service.
      decision = {
        ...decision, kind: 'reject', reason: 'ledger-unavailable', sipStatus: INBOUND_DENY['ledger-unavailable'].sipStatus,
        reasonHeader: reasonHeader(503, INBOUND_DENY['ledger-unavailable'].text!), detail: ledgerError.message, announcement: null,
        trace: [...decision.trace.filter((t) => t.step !== 'package' && t.step !== 'balance'),
          { step: 'package', outcome: 'deny', detail: `ledger unavailable: ${ledgerError.message}` }],
      } as InboundReject;
    }
    const log = this.deps.log.child({ callId: call.callId, number: decision.number, caller: call.from });
    if (ledgerError) log.error({ err: ledgerError }, 'package account read failed');
    await new InboundFlow(this.deps, req, res, cfg, decision, inviteAt, log, cancelledEarly).run();
  }
}

class InboundFlow {
  private readonly s: CallSession;
  private readonly ivr: InboundIvr;
  private ringer: Ringer | null = null;
  private pkg: Reservation | null = null;
  /** The member that answered (kept even if the bridge then failed: not a missed call). */
  private answered: RouteMember | null = null;
  /** The call was stopped by us (shutdown, admin) before the answer: not a missed call. */
  private stoppedBySystem = false;
  /** Blind transfers by the answering seat (issue 13); null until a seat answered. */
  private transfers: BlindTransfers | null = null;

  constructor(
    private readonly deps: InboundDeps,
    req: Srf.SrfRequest,
    res: Srf.SrfResponse,
    private readonly cfg: ConfigSnapshot,
    private readonly d: InboundDecision,
    private readonly inviteAt: number,
    log: Logger,
    cancelledEarly: boolean,
  ) {
    const owner = d.owner ? cfg.tenants.get(d.owner) : undefined;
    this.s = new CallSession(deps, req, res, {
      callId: d.callId, direction: 'inbound', tenant: d.owner, seat: '', callee: d.number ?? '', inviteAt,
      timeZone: cfg.server?.timezone || 'Asia/Shanghai',
      warningSeconds: owner?.warningSeconds ?? DEFAULT_WARNING_SECONDS,
      warningPrompt: owner?.announcements['credit-warning'] ?? deps.settings.defaultWarning,
      maxCallSeconds: owner?.maxCallSeconds ?? DEFAULT_MAX_CALL_SECONDS,
      sessionTimers: sessionTimersOf(deps, cfg),
      cdrBase: () => this.cdrBase(),
      onStop: (by) => this.onStop(by),
      afterSettle: (endAt, settled) => this.afterSettle(endAt, settled),
      onRefer: (leg, req, res) => {
        if (this.transfers) return this.transfers.onRefer(leg, req, res);
        res.send(603, { headers: { Reason: reasonHeader(603, 'Only a seat may transfer the call') } });
      },
    }, log);
    this.ivr = new InboundIvr(this.s, d.trace);
    this.s.watchCancel(cancelledEarly);
  }

  /** Stops whatever runs before the answer: member legs, prompts, PIN collection, recording. */
  private onStop(by: HangupBy): void {
    this.stoppedBySystem = by === 'system';
    this.ringer?.stop();
    for (const ep of [this.s.epA, this.ivr.announcing]) {
      if (ep) void breakApp(ep, this.s.log);
    }
  }

  async run(): Promise<void> {
    const { s, d } = this;
    try {
      if (d.kind === 'reject') await this.reject(d);
      else if (s.aborted) await s.abandon();
      else if (d.kind === 'voicemail') await this.ivr.voicemail(d);
      else await this.connect(d);
    } catch (err) {
      await s.failed(err, 'inbound call failed');
    }
    await s.done;
  }

  private async reject(d: InboundReject): Promise<void> {
    this.s.log.info({ reason: d.reason, status: d.sipStatus, detail: d.detail }, 'inbound call refused');
    this.deps.live.delete(d.callId);
    if (d.announcement) await this.ivr.earlyMedia(d.announcement);
    if (!this.s.res.finalResponseSent && !this.s.cancelled) this.s.res.send(d.sipStatus, d.reasonHeader ? { headers: { Reason: d.reasonHeader } } : {});
    await this.s.finish(d.sipStatus, { hangupCause: d.reason });
  }

  /** A refusal found while the call runs (package reservation refused, no media for a PIN). */
  private async refuseAtRuntime(reason: InboundDenyReason, detail: string, announcement: string | null): Promise<void> {
    const deny = INBOUND_DENY[reason];
    this.s.log.info({ reason, detail }, 'inbound call refused');
    if (announcement) await this.ivr.earlyMedia(announcement);
    this.s.sendFinal(deny.sipStatus, deny.text ?? undefined);
    this.d.trace.push({ step: reason === 'media-unavailable' ? 'pin' : 'package', outcome: 'deny', detail });
    await this.s.finish(deny.sipStatus, { decision: 'deny', denyReason: reason });
  }

  private announcement(kind: 'notInService' | 'unavailable'): string | null {
    const plan = this.d.number ? this.cfg.plans400?.get(this.d.number) : undefined;
    return plan?.announcements[kind] ?? null;
  }

  private async connect(d: InboundConnect): Promise<void> {
    const { s, deps } = this;
    // 002 §1.3 计费 / §2.3: reserve on the package before anything rings; refused = service stopped.
    const pkg = new Reservation(deps.ledger, d.account, d.callId, {
      rate: d.rate, tenant: d.owner, seat: null, callee: d.number, caller: d.callerRaw, inviteAt: this.inviteAt, direction: 'inbound', cdrId: `in-${d.callId}`,
    }, deps.settings.chunkSeconds);
    const r = await pkg.authorise(deps.clock.now());
    if (!r.ok) {
      if (s.aborted) return s.abandon();
      return this.refuseAtRuntime('package-used-up', `ledger: ${r.reason}, available ${r.available}`, this.announcement('notInService'));
    }
    this.pkg = pkg;
    s.addReservation(pkg);
    s.startHeartbeat();
    if (s.aborted) return s.abandon();

    const anchored = deps.media.available && !!s.req.body;
    if (!anchored) s.degraded(deps.media.available ? 'the caller offered no SDP' : 'media server unavailable', d.recording);
    if (d.pin && !anchored) return this.refuseAtRuntime('media-unavailable', 'a PIN is required and no media server is connected', null);
    if (anchored) {
      try {
        s.epA = await deps.media.endpointFor(s.req.body);
        s.epB = await deps.media.offeringEndpoint(s.epA);
      } catch (err) {
        s.log.warn({ err }, 'media endpoints failed');
        s.degraded(`media endpoints failed (${(err as Error).message})`, d.recording);
        await s.releaseMedia();
        if (d.pin && !s.aborted) return this.refuseAtRuntime('media-unavailable', 'media endpoints failed', null);
      }
    }
    if (s.aborted) return s.abandon();
    if ((d.welcome !== null || d.pin !== null) && s.epA) {
      if (!(await this.ivr.answerCaller())) return s.abandon();
      if (d.welcome) await this.ivr.play(d.welcome, 'welcome');
      if (d.pin && !s.aborted && (await this.ivr.collectPin(d.pin)) === 'failed') {
        if (d.pinFailed) await this.ivr.play(d.pinFailed, 'PIN failure prompt');
        if (!s.aborted) s.note('system', 'pin-failed');
        return s.abandon();
      }
    }
    if (s.aborted) return s.abandon();
    s.to('dialling');
    this.ringer = new Ringer(s, d, this.cfg, deps.registrar, deps.state, deps.agents);
    const won = await this.ringer.ring();
    if (!won) return this.unanswered(d);
    await this.bridge(d, won);
  }

  private async bridge(d: InboundConnect, won: LegResult): Promise<void> {
    const { s, deps } = this;
    const uac = won.dialog!;
    this.answered = won.member;
    if (won.endpoint) {
      // A browser seat answered through its own endpoint (its late offer answered by FreeSWITCH):
      // that endpoint is the far leg's, the one that offered plain RTP to the others is not needed.
      const spare = s.epB;
      s.epB = won.endpoint;
      void releaseEndpoint(spare, s.log);
      s.mediaNote = 'anchored: WebRTC seat';
    }
    // Watch the member leg from now on: it may hang up while the caller leg is being answered.
    s.farAnswered(uac);
    // The answering seat is on this call from now on, for 400 distribution on every instance.
    if (won.member.kind === 'seat') await s.agentOnCall(won.member.seat);
    if (s.aborted) return s.abandon();
    s.media = s.epA && s.epB ? 'anchored' : 'direct';
    try {
      if (s.epA && s.epB) {
        if (!won.endpoint) await s.epB.modify(uac.remote.sdp);
        if (s.aborted) return await s.abandon();
        if (!s.callerAnswered) await s.answerCaller(s.epA.local.sdp);
        await s.epA.bridge(s.epB);
        // hold/resume and new offers are answered by each leg's own endpoint
        if (s.uas) relayOffers(s.uas, s.epA, s.log, 'caller');
        relayOffers(uac, s.epB, s.log, 'far end');
        if (d.recording && !s.aborted) await s.startRecording(d.owner);
      } else {
        await s.answerCaller(uac.remote.sdp);
        if (s.uas) relayReInvites(s.uas, uac, s.log);
      }
    } catch (err) {
      s.log.warn({ err }, 'caller leg failed at answer');
      return s.abandon(500);
    }
    // A leg hung up, or shutdown came, while the caller leg was being answered: end both now.
    if (s.aborted) return s.abandon();
    const forward = this.ringer?.forwards.get(won.member.key);
    if (s.phase === 'ivr') s.to('dialling');
    await s.answered([...(this.pkg ? [this.pkg] : []), ...(forward ? [forward] : [])]);
    const live = deps.live.get(d.callId);
    if (live) live.seat = won.member.kind === 'seat' ? won.member.seat : '';
    const owner = this.cfg.tenants.get(d.owner);
    // The answering seat may transfer the caller (issue 13): the far leg is the seat's.
    if (won.member.kind === 'seat' && owner && deps.registrar) {
      this.transfers = new BlindTransfers(s, {
        registrar: deps.registrar, cfg: this.cfg, tenant: owner, seatOn: { caller: null, far: won.member.seat }, presented: d.callerRaw,
      });
    }
    s.log.info({ member: won.member.key, maxBilledSeconds: this.pkg?.maxBilled }, 'inbound call answered');
    await deps.state.answered(won.member.key, s.answerAt!).catch(() => {});
  }

  /** Nobody answered: the missed-call rule, the unavailable announcement, 480 (or BYE). */
  private async unanswered(d: InboundConnect): Promise<void> {
    const { s } = this;
    if (!s.aborted && d.unavailable) {
      if (s.callerAnswered) await this.ivr.play(d.unavailable, 'unavailable prompt');
      else await this.ivr.earlyMedia(d.unavailable);
    }
    if (s.aborted) return s.abandon();
    s.note(s.callerAnswered ? 'system' : null, 'no-answer');
    if (s.callerAnswered) s.hangupCaller();
    else s.sendFinal(480, 'No answer');
    await s.releaseMedia();
    await s.finish(s.callerAnswered ? 200 : 480);
  }

  /** Member state, and 002 §3.5: rung, nobody answered → counted; past the 100th of the day charged. */
  private async afterSettle(endAt: number, settled: Settled[]): Promise<Partial<CdrInput>> {
    const { s, d, deps } = this;
    await this.ringer?.drain();
    if (this.answered && s.answerAt !== null) await deps.state.ended(this.answered.key, endAt).catch(() => {});
    const charges = settled.filter((x) => x.cost > 0).map((x) => ({ account: x.account, reservation: x.reservationId, cost: x.cost }));
    // Forwarded legs are paid from the owner tenant's own account: they count toward its spend caps
    // (the package's minutes do not: they were paid for up front).
    const owner = d.owner ? this.cfg.tenants.get(d.owner) : undefined;
    // (by reservation, not account: a plan without its own package account uses the owner's)
    const forwards = settled.filter((x) => x.reservationId !== this.pkg?.id && x.account === owner?.account);
    if (owner) await countSpend(s, owner, this.cfg, endAt, forwards).catch((err: unknown) => s.log.warn({ err }, 'spend caps not counted'));
    const out: Partial<CdrInput> = {
      seat: s.answerAt !== null && this.answered?.kind === 'seat' ? this.answered.seat : null, charges,
    };
    // A member that answered (bridge then failed) or our own shutdown is not the caller missing us.
    if (d.kind !== 'connect' || s.ringAt === null || s.answerAt !== null || s.stop?.cause === 'pin-failed'
      || this.answered !== null || this.stoppedBySystem || !this.pkg) return out;
    const zone = this.cfg.server?.timezone || 'Asia/Shanghai';
    const day = missedDay(this.inviteAt, zone);
    const ordinal = await deps.state.countMissed(d.number, day);
    const charge = missedCallCharge(ordinal, endAt - this.inviteAt, d.rate);
    d.trace.push({ step: 'missed-call', outcome: 'pass', detail: charge.detail });
    if (!charge.charged || charge.cost <= 0) return out;
    const r = await this.pkg.chargeUnanswered(`missed:${d.callId}`, charge.cost, `missed call ${ordinal} of ${day} on ${d.number} (002 §3.5)`, endAt);
    const cost = r.paid < 0 ? -r.paid : charge.cost;
    return { ...out, cost, billedSeconds: charge.billedSeconds, balanceAfter: r.balanceAfter, charges: [...charges, { account: d.account, reservation: `missed:${d.callId}`, cost }] };
  }

  private cdrBase(): CdrInput {
    const d = this.d;
    return {
      cdrId: `in-${d.callId}`,
      callId: d.callId,
      direction: 'inbound',
      tenant: d.owner,
      seat: null,
      callerRaw: d.callerRaw,
      // The caller as kept on the forwarded leg; for inbound CDRs class and region describe the caller.
      callerPresented: d.caller?.national ?? null,
      calleeRaw: userPart(this.s.req.uri),
      calleeNormalised: d.number,
      numberClass: d.caller?.class ?? null,
      region: regionLabel(d.caller),
      decision: d.kind === 'reject' ? 'deny' : 'allow',
      denyReason: d.kind === 'reject' ? d.reason : null,
      sipStatus: 0,
      route: d.kind === 'connect' ? d.groups[0]?.id ?? null : null,
      inviteAt: this.inviteAt,
      endAt: this.deps.clock.now(),
      configVersion: d.configVersion,
      trace: [
        ...d.trace.map((t) => ({ step: t.step, outcome: t.outcome, detail: t.detail })),
        ...(d.kind !== 'reject' ? [{ step: 'branch', outcome: 'pass', detail: `time ${d.branch.time ?? '-'}, region ${d.branch.region ?? '-'}` }] : []),
      ],
    };
  }
}

