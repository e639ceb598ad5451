// One outbound seat call from decision to CDR: the pure decision, then a CallSession with the
// tenant's port slot, the prepaid reservation, trunk failover and the bridge (anchored through
// FreeSWITCH or direct). Teardown, the paid boundary, settlement and the CDR are the session's.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { CdrInput } from '../cdr/model.js';
import type { ConfigSnapshot, Seat, Tenant } from '../config/types.js';
import { slotKey } from '../ledger/concurrency.js';
import { playBounded, releaseEndpoint, type Endpoint } from '../media/media-gateway.js';
import { decideOutbound, hasFraudCaps, stepOf } from '../policy/decideOutbound.js';
import { chooseMedia, viaTransport, webRtcSignal, type WebRtcSignal } from '../policy/media-mode.js';
import { DENY_REASONS, reasonHeader, type DenyReason } from '../policy/reasons.js';
import type { Allow, Decision, Deny, LedgerView, OutboundCall } from '../policy/types.js';
import { isRedisUnavailable } from '../ledger/redis-errors.js';
import type { ReserveResult } from '../ledger/types.js';
import { userPart, writeCdr } from './call-record.js';
import { CallSession, DEFAULT_MAX_CALL_SECONDS, sessionTimersOf, type SessionDeps, type SessionSettings } from './call-session.js';
import { readLedgerView } from './ledger-view.js';
import { Reservation } from './reservation.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { fraudZone } from '../fraud/zone.js';
import { countSpend } from './spend-caps.js';
import { answerTimer, offerHeaders } from './session-timer.js';
import { DialFailure, TrunkDialer, trunkTargets } from './trunk-dialer.js';
import { BlindTransfers } from './blind-transfer.js';
import { relayOffers, relayReInvites } from './reinvite-relay.js';

export type { LiveCall } from './call-session.js';

export type OutboundSettings = SessionSettings;
export type OutboundDeps = SessionDeps;

const zoneOf = fraudZone;

/** Ledger refusals of a reservation, as the caller is told. */
function ledgerDeny(reason: string): DenyReason {
  return reason === 'EXPIRED' ? 'tenant-expired'
    : reason === 'SUSPENDED' ? 'tenant-suspended' : reason === 'CLOSED' ? 'tenant-closed'
      : reason === 'NOT_YET_VALID' ? 'tenant-not-yet-valid' : 'insufficient-balance';
}

/** A denial found while the call runs (ports taken meanwhile, the ledger refusing, no recorder). */
function runtimeDeny(call: OutboundCall, cfg: ConfigSnapshot, base: Allow, reason: DenyReason, detail: string, tenant: Tenant): Deny {
  const d = DENY_REASONS[reason];
  return {
    kind: 'deny', callId: call.callId, tenantId: call.tenantId, seatId: call.seatId, reason,
    sipStatus: d.sipStatus, reasonHeader: reasonHeader(d.sipStatus, d.text), detail,
    announcement: tenant.announcements[reason] ?? null,
    callee: base.callee, configVersion: cfg.version,
    trace: [...base.trace, { step: stepOf(reason), outcome: 'deny', detail }],
  };
}

function cdrBase(call: OutboundCall, cfg: ConfigSnapshot, d: Decision, inviteAt: number, endAt: number): CdrInput {
  const callee = d.callee;
  return {
    cdrId: `out-${call.callId}`,
    callId: call.callId,
    direction: 'outbound',
    tenant: call.tenantId,
    seat: call.seatId,
    callerRaw: call.from,
    callerPresented: d.kind === 'allow' ? d.callerId : null,
    calleeRaw: call.to,
    calleeNormalised: callee?.national ?? null,
    numberClass: callee?.class ?? null,
    region: callee?.region ? `${callee.region.provinceZh}${callee.region.cityZh === callee.region.provinceZh ? '' : callee.region.cityZh}` : null,
    decision: d.kind,
    denyReason: d.kind === 'deny' ? d.reason : null,
    sipStatus: d.kind === 'deny' ? d.sipStatus : 0,
    route: d.kind === 'allow' ? d.routeId : null,
    inviteAt,
    endAt,
    configVersion: cfg.version,
    trace: d.trace.map((t) => ({ step: t.step, outcome: t.outcome, detail: t.detail })),
  };
}

/** What the INVITE carries, for the decision (RFC 3264 offer, or a late offer with none). */
export function bodyKind(contentType: string | undefined, body: string | undefined): NonNullable<OutboundCall['body']> {
  if (!body || body.trim() === '') return 'none';
  if (!/^application\/sdp\b/i.test(contentType?.trim() ?? '')) return 'other';
  return /^v=0/m.test(body) && /^m=audio [1-9]\d* /m.test(body) ? 'sdp' : 'bad-sdp';
}

/** A refusal for want of Redis tells the phone when to try again (RFC 3261 §21.5.4). */
function retryAfter(reason: DenyReason): Record<string, string> {
  return reason === 'ledger-unavailable' ? { 'Retry-After': '30' } : {};
}

/** Plays an announcement as early media (183 + FreeSWITCH endpoint), then returns. */
async function announce(deps: Pick<SessionDeps, 'media'>, req: Srf.SrfRequest, res: Srf.SrfResponse, file: string, log: Logger): Promise<void> {
  if (!deps.media.available || !req.body) return;
  // Early media to a browser would need FreeSWITCH's DTLS answer in the 183; the Reason says it.
  if (webRtcSignal(req.body, null) !== null) return;
  let ep: Endpoint | undefined;
  try {
    ep = await deps.media.endpointFor(req.body);
    res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
    await playBounded(ep, file, log, deps.media.prompts);
  } catch (err) {
    log.warn({ err, file }, 'announcement failed');
  } finally {
    await releaseEndpoint(ep, log);
  }
}

/** p, marked handled now (it is awaited later: a rejection meanwhile must not count as unhandled). */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export class OutboundCallHandler {
  constructor(private readonly deps: OutboundDeps) {}

  /** Reads the ledger state the pure decision needs. */
  async ledgerView(tenant: Tenant | undefined, cfg: ConfigSnapshot, to?: string): Promise<LedgerView> {
    return readLedgerView(this.deps.ledger, this.deps.slots, cfg, tenant, to);
  }

  /** The tenant's toll-fraud counters for the decision; unread (caps not applied) if Redis fails here. */
  private async fraudView(tenant: Tenant, call: OutboundCall, cfg: ConfigSnapshot): Promise<Pick<LedgerView, 'fraud'>> {
    if (!this.deps.fraud) return {};
    const n = normalizeNumber(call.to);
    try {
      return { fraud: await this.deps.fraud.view(tenant.id, n.ok ? n.number.national : null, this.deps.clock.now(), zoneOf(tenant, cfg)) };
    } catch (err) {
      this.deps.log.warn({ err, tenant: tenant.id }, 'fraud counters not read');
      return {};
    }
  }

  /**
   * The ledger view of a seat's INVITE, read before its authentication has finished (its digest
   * is right; the lockout's answer is on its way): handle() then waits for no read of its own.
   * Never rejects (an unreadable ledger is the unavailable view).
   */
  prefetchView(req: Srf.SrfRequest, seat: Seat, cfg: ConfigSnapshot): Promise<LedgerView> {
    return this.ledgerView(cfg.tenants.get(seat.tenant), cfg, userPart(req.uri));
  }

  async handle(req: Srf.SrfRequest, res: Srf.SrfResponse, seat: Seat, cfg: ConfigSnapshot, prefetched?: Promise<LedgerView>): Promise<void> {
    const { clock } = this.deps;
    const inviteAt = clock.now();
    const call: OutboundCall = {
      callId: req.get('Call-ID'), seatId: seat.id, tenantId: seat.tenant, from: userPart(req.get('From')), to: userPart(req.uri),
      body: bodyKind(req.has('Content-Type') ? req.get('Content-Type') : undefined, req.body),
    };
    // A CANCEL can arrive while the ledger is read; srf emits it once, so listen from the start.
    let cancelledEarly = (req as { canceled?: boolean }).canceled === true;
    const onEarlyCancel = (): void => { cancelledEarly = true; };
    req.on('cancel', onEarlyCancel);
    const tenant = cfg.tenants.get(seat.tenant);
    let view: LedgerView;
    try {
      view = await (prefetched ?? this.ledgerView(tenant, cfg, call.to));
      if (tenant && hasFraudCaps(tenant) && !view.unavailable) view = { ...view, ...(await this.fraudView(tenant, call, cfg)) };
    } finally {
      (req as unknown as NodeJS.EventEmitter).removeListener('cancel', onEarlyCancel);
    }
    // An unknown tenant is denied by the decision itself ('unknown-tenant').
    const decision = decideOutbound(call, cfg, view, clock.now());
    const log = this.deps.log.child({ callId: call.callId, seat: seat.id, tenant: seat.tenant });
    // RFC 4028 §8.1: a Session-Expires below our Min-SE is refused with 422 before anything else;
    // like a digest challenge it is a step of the INVITE, not a call attempt (the seat retries).
    const st = sessionTimersOf(this.deps, cfg);
    const timer = st ? answerTimer(req, st) : null;
    if (timer?.kind === 'reject') {
      log.info({ sessionExpires: req.get('Session-Expires'), minSe: timer.minSe }, 'session interval too small: 422');
      res.send(422, { headers: { 'Min-SE': String(timer.minSe) } });
      return;
    }
    if (decision.kind === 'deny') {
      log.info({ reason: decision.reason, status: decision.sipStatus, detail: decision.detail }, 'outbound call denied');
      if (decision.announcement) await announce(this.deps, req, res, decision.announcement, log);
      if (!res.finalResponseSent) res.send(decision.sipStatus, { headers: { Reason: decision.reasonHeader, ...retryAfter(decision.reason) } });
      await writeCdr({ ...this.deps, log }, { ...cdrBase(call, cfg, decision, inviteAt, clock.now()), sipStatus: decision.sipStatus });
      return;
    }
    if (!tenant) throw new Error(`allowed a call of unknown tenant ${seat.tenant}`);
    log.info({ callee: decision.callee.national, route: decision.routeId, trunks: decision.trunks.map((t) => t.trunkId) }, 'outbound call allowed');
    await new OutboundFlow(this.deps, req, res, call, cfg, tenant, decision, inviteAt, log, cancelledEarly).run();
  }
}

/** The life of one allowed call: what only an outbound call does; the rest is its session's. */
class OutboundFlow {
  private readonly s: CallSession;
  private readonly dialer: TrunkDialer;
  private readonly money: Reservation | null;
  private deny: Deny | null = null;
  /** The seat leg is a browser's (its offer, or SIP over WebSocket): always anchored. */
  private readonly webrtc: WebRtcSignal;
  private readonly transfers: BlindTransfers | null;

  constructor(
    private readonly deps: OutboundDeps,
    private readonly req: Srf.SrfRequest,
    private readonly res: Srf.SrfResponse,
    private readonly call: OutboundCall,
    private readonly cfg: ConfigSnapshot,
    private readonly tenant: Tenant,
    private readonly decision: Allow,
    inviteAt: number,
    log: Logger,
    cancelledEarly: boolean,
  ) {
    this.dialer = new TrunkDialer(deps.srf);
    this.webrtc = webRtcSignal(req.body, viaTransport(req.has('Via') ? req.get('Via') : null) ?? (req as { protocol?: string }).protocol);
    // Emergency calls are never rated nor charged (issue 4 §8): no reservation at all.
    this.money = decision.emergency || !decision.rate ? null : new Reservation(deps.ledger, tenant.account, call.callId, {
      rate: decision.rate, tenant: tenant.id, seat: call.seatId, callee: decision.callee.national, caller: call.from, inviteAt,
      direction: 'outbound', cdrId: `out-${call.callId}`,
    }, deps.settings.chunkSeconds);
    this.s = new CallSession(deps, req, res, {
      callId: call.callId, direction: 'outbound', tenant: call.tenantId, seat: call.seatId, callee: decision.callee.national, inviteAt,
      timeZone: cfg.server?.timezone || 'Asia/Shanghai',
      warningSeconds: tenant.warningSeconds,
      warningPrompt: tenant.announcements['credit-warning'] ?? deps.settings.defaultWarning,
      maxCallSeconds: tenant.maxCallSeconds ?? DEFAULT_MAX_CALL_SECONDS,
      sessionTimers: sessionTimersOf(deps, cfg),
      cdrBase: () => cdrBase(call, cfg, this.deny ?? decision, inviteAt, deps.clock.now()),
      onStop: () => this.dialer.cancel(),
      afterSettle: async (endAt, settled) => { await countSpend(this.s, this.tenant, this.cfg, endAt, settled); return {}; },
      // Issue 13: the seat may transfer the callee to another seat or a number.
      ...(deps.registrar ? { onRefer: (leg, req, res) => this.transfers!.onRefer(leg, req, res) } : {}),
    }, log);
    this.transfers = deps.registrar ? new BlindTransfers(this.s, {
      registrar: deps.registrar, cfg, tenant, seatOn: { caller: call.seatId, far: null }, presented: decision.callee.national,
    }) : null;
    this.s.watchCancel(cancelledEarly);
  }

  async run(): Promise<void> {
    const { s, deps, call } = this;
    try {
      if (s.cancelled) return await s.finish(487);
      // 004 §2.2 purchased ports, atomically across instances (the pure check may have raced).
      const caps = !this.decision.emergency && !!deps.fraud && hasFraudCaps(this.tenant);
      // Without fraud caps, what the call takes before it rings leaves in one write: the port,
      // the prepaid reservation (003 §2.2, 002 §2.3), the first trunk's slot and the seat's agent
      // state. The outcome is that of taking them in turn: a refused port wins, then the money;
      // whatever was taken meanwhile lands first (landed()) and finish() gives it back. With caps
      // the order stays port, caps (an attempt counts only once the port is held), money, then
      // trunk and agent.
      const together = !caps;
      const money = this.money && together ? this.taking(this.authorise()) : null;
      if (together && !this.decision.emergency) this.takeFirstTrunk();
      // The seat is on this call (issue 13) from now until the teardown: 400 calls do not ring it.
      // Not waited for before the dial; a failure is logged, never fatal.
      let agent = together ? s.agentOnCall(call.seatId) : null;
      if (!this.decision.emergency) {
        const slot = await s.holdSlot(slotKey('tenant', this.tenant.id), call.callId, this.tenant.maxConcurrent);
        if (!slot.ok) return await this.denyAtRuntime('tenant-busy', `${slot.count} of ${this.tenant.maxConcurrent} ports in use`);
        // The caps again, atomically across instances: the attempt is counted here or refused.
        if (caps) {
          const a = await deps.fraud!.admit(this.tenant.id, this.decision.callee.national, deps.clock.now(), zoneOf(this.tenant, this.cfg), this.tenant);
          if (!a.ok) {
            return await this.denyAtRuntime(a.cap === 'cps' ? 'calls-per-second' : 'callee-attempts',
              a.cap === 'cps' ? `${a.count} calls this second` : `${a.count} attempts to this number today`);
          }
        }
      }
      const r = await (money ?? (this.money ? this.authorise() : null));
      if (r && !r.ok) return await this.denyAtRuntime(ledgerDeny(r.reason), `ledger: ${r.reason}, available ${r.available}`);
      // With caps the agent's script leaves now, in the same write as the trunk slot's.
      agent ??= s.agentOnCall(call.seatId);
      s.startHeartbeat();
      await this.connect();
      await agent;
    } catch (err) {
      await this.landed();
      // Redis went away between the decision and here: refuse like the decision would have.
      if (isRedisUnavailable(err) && s.answerAt === null && !this.res.finalResponseSent) await this.denyAtRuntime('ledger-unavailable', (err as Error).message);
      else await s.failed(err, 'outbound call failed');
    }
    await s.done;
  }

  /** The first trunk's slot, taken before the dial; acquireTrunk hands its answer to the dialer. */
  private firstTrunk: { id: string; ok: Promise<boolean> } | null = null;

  private takeFirstTrunk(): void {
    const id = this.decision.trunks[0]?.trunkId;
    const trunk = id === undefined ? undefined : this.cfg.trunks.get(id);
    if (!trunk || id === undefined) return;
    this.firstTrunk = { id, ok: this.taking(this.s.holdSlot(slotKey('trunk', id), this.call.callId, trunk.maxConcurrent).then((r) => r.ok)) };
  }

  /** What run() takes in parallel (money, the first trunk's slot), not awaited where it is taken. */
  private readonly inFlight: Promise<unknown>[] = [];

  private taking<T>(p: Promise<T>): Promise<T> {
    this.inFlight.push(settledLater(p));
    return p;
  }

  /**
   * Waits until everything taken in parallel has landed (in the session's reservations and slots),
   * so that a call ending before it rings gives all of it back. Replies on one connection come in
   * order: by the time the port's answer is in, the others are too.
   */
  private async landed(): Promise<void> {
    await Promise.allSettled(this.inFlight);
  }

  /** The reservation, added to the session once granted (so finish() settles it whatever follows). */
  private async authorise(): Promise<ReserveResult> {
    const r = await this.money!.authorise(this.deps.clock.now());
    if (r.ok) this.s.addReservation(this.money!);
    return r;
  }

  private async denyAtRuntime(reason: DenyReason, detail: string): Promise<void> {
    await this.landed();
    const deny = this.deny = runtimeDeny(this.call, this.cfg, this.decision, reason, detail, this.tenant);
    this.s.log.info({ reason, detail }, 'outbound call denied');
    if (deny.announcement) await announce(this.deps, this.req, this.res, deny.announcement, this.s.log);
    if (!this.res.finalResponseSent) this.res.send(deny.sipStatus, { headers: { Reason: deny.reasonHeader, ...retryAfter(reason) } });
    await this.s.finish(deny.sipStatus);
  }

  /**
   * Media endpoints when the route (or `recording: required`, or a WebRTC seat) wants them; the
   * offer to send. A WebRTC caller's endpoint is made at the answer, together with the caller's
   * 200 OK (MediaGateway.answerWebRtcCaller): fsmrf makes no endpoint for a DTLS offer otherwise.
   */
  private async anchor(): Promise<string> {
    const { s, deps, decision } = this;
    const choice = chooseMedia({
      route: decision.media, recordingRequired: decision.recordingRequired, recording: decision.recording, webrtc: this.webrtc,
    });
    s.mediaNote = choice.note;
    if (!choice.anchor) return this.req.body;
    const why = !deps.media.available ? 'media server unavailable' : !this.req.body ? 'the caller offered no SDP' : null;
    if (why !== null) {
      if (!choice.mustAnchor) s.degraded(why, decision.recording);
      else s.mediaNote = `not connected: WebRTC seat, ${why}`;
      return this.req.body;
    }
    try {
      if (!choice.mustAnchor) s.epA = await deps.media.endpointFor(this.req.body);
      s.epB = await deps.media.offeringEndpoint(s.epA);
      return s.epB.local.sdp;
    } catch (err) {
      s.log.warn({ err }, 'media endpoints failed');
      await s.releaseMedia();
      if (!choice.mustAnchor) s.degraded(`media endpoints failed (${(err as Error).message})`, decision.recording);
      else s.mediaNote = `not connected: WebRTC seat, media endpoints failed (${(err as Error).message})`;
      return this.req.body;
    }
  }

  private async connect(): Promise<void> {
    const { s, deps, call } = this;
    await this.landed(); // an abandon below gives back the first trunk's slot too
    if (s.aborted) return s.abandon();
    const offer = await this.anchor();
    // A WebRTC caller's own endpoint comes at the answer; the trunk's is made now.
    const anchored = s.epB !== undefined && (s.epA !== undefined || this.webrtc !== null);
    if (!anchored && this.webrtc !== null && !s.aborted) {
      return this.denyAtRuntime('webrtc-media-unavailable', s.mediaNote ?? 'media server unavailable');
    }
    if (!anchored && this.decision.recordingRequired && !s.aborted) {
      return this.denyAtRuntime('recording-unavailable', s.mediaNote ?? 'media server unavailable');
    }
    s.media = anchored ? 'anchored' : 'direct';
    if (s.aborted) return s.abandon();
    s.to('dialling');
    let dialled;
    try {
      dialled = await this.dialer.dial({
        targets: trunkTargets(this.decision, this.cfg),
        localSdp: offer,
        fromHost: deps.settings.sipDomain,
        ...(sessionTimersOf(deps, this.cfg) ? { headers: offerHeaders(sessionTimersOf(deps, this.cfg)!) } : {}),
        clock: deps.clock,
        acquireTrunk: async (id) => {
          const trunk = this.cfg.trunks.get(id);
          if (!trunk) return false;
          const taken = this.firstTrunk?.id === id ? this.firstTrunk.ok : null;
          this.firstTrunk = null;
          try {
            return taken ? await taken : (await s.holdSlot(slotKey('trunk', id), call.callId, trunk.maxConcurrent)).ok;
          } catch (err) {
            // An emergency call is not held back by a trunk counter it cannot read.
            if (this.decision.emergency && isRedisUnavailable(err)) return true;
            throw err;
          }
        },
        releaseTrunk: (id) => s.dropSlot(slotKey('trunk', id), call.callId),
        onProvisional: (status, sdp) => {
          if (this.res.finalResponseSent || s.aborted) return;
          // Ringing is 180/183; a 100 Trying only says the INVITE arrived (the CDR's ringTime, the post-dial delay).
          if (status === 180 || status === 183) s.ringAt ??= deps.clock.now();
          // Direct media passes the carrier's early media (ringback, carrier announcements) through.
          if (!anchored && status === 183 && sdp) this.res.send(183, { body: sdp, headers: { 'Content-Type': 'application/sdp' } });
          else if (status === 180 || status === 183) this.res.send(180);
        },
      });
    } catch (err) {
      if (!(err instanceof DialFailure)) throw err;
      s.attempts = err.attempts;
      if (s.aborted) {
        s.log.info({ attempts: err.attempts, stop: s.stop }, 'outbound call abandoned while dialling');
        return s.abandon();
      }
      await s.releaseMedia();
      s.sendFinal(err.status, err.status === 503 ? 'No trunk available' : 'Callee failure');
      s.log.info({ status: err.status, attempts: err.attempts }, 'outbound call not connected');
      return s.finish(err.status);
    }
    s.attempts = dialled.attempts;
    // Watch the trunk leg from now on: the carrier may hang up while the seat leg is answered.
    s.farAnswered(dialled.dialog);
    // The caller gave up (or the call was stopped) just as the callee answered.
    if (s.aborted) return s.abandon();
    try {
      if (s.epB && this.webrtc !== null) {
        await s.epB.modify(dialled.dialog.remote.sdp);
        if (s.aborted) return await s.abandon();
        await s.answerCallerWith(async (headers) => {
          const pair = await deps.media.answerWebRtcCaller(this.req, this.res, headers, s.epB);
          s.epA = pair.endpoint;
          return pair.dialog;
        });
        await s.epA!.bridge(s.epB);
        if (s.uas) relayOffers(s.uas, s.epA!, s.log, 'caller');
        relayOffers(dialled.dialog, s.epB, s.log, 'far end');
        if (this.decision.recording && !s.aborted) await s.startRecording(this.tenant.id);
      } else if (s.epA && s.epB) {
        await s.epB.modify(dialled.dialog.remote.sdp);
        if (s.aborted) return await s.abandon();
        await s.answerCaller(s.epA.local.sdp);
        await s.epA.bridge(s.epB);
        // hold/resume and new offers are answered by each leg's own endpoint
        if (s.uas) relayOffers(s.uas, s.epA, s.log, 'caller');
        relayOffers(dialled.dialog, s.epB, s.log, 'far end');
        if (this.decision.recording && !s.aborted) await s.startRecording(this.tenant.id);
      } else {
        await s.answerCaller(dialled.dialog.remote.sdp);
        if (s.uas) relayReInvites(s.uas, dialled.dialog, s.log);
      }
    } catch (err) {
      s.log.warn({ err }, 'caller leg failed at answer');
      return s.abandon(500);
    }
    // A leg hung up (or shutdown came) while the seat leg was being answered: end both now.
    if (s.aborted) return s.abandon();
    // debug: the CDR line at the end says who answered and what was billed; two info lines per call
    s.log.debug({ trunk: dialled.trunkId, maxBilledSeconds: this.money?.maxBilled ?? null }, 'outbound call answered');
    await s.answered(this.money ? [this.money] : []);
  }
}
