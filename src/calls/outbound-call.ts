// One outbound seat call from decision to CDR: concurrency slot, prepaid reservation, trunk
// failover, bridge (anchored through FreeSWITCH or direct), warning and cut-off at the paid
// boundary, settlement, and exactly one CDR whatever happens.
import { join } from 'node:path';
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { buildCdr, type Cdr, type CdrInput, type HangupBy } from '../cdr/model.js';
import type { CdrWriter } from '../cdr/writer.js';
import type { ConfigSnapshot, Seat, Tenant, TariffRate } from '../config/types.js';
import type { ConcurrencySlots } from '../ledger/concurrency.js';
import { slotKey } from '../ledger/concurrency.js';
import type { Ledger } from '../ledger/ledger.js';
import { decideOutbound, stepOf } from '../policy/decideOutbound.js';
import { DENY_REASONS, reasonHeader, type DenyReason } from '../policy/reasons.js';
import type { Allow, Decision, Deny, LedgerView, OutboundCall } from '../policy/types.js';
import { costOfBilled, maxBilledSecondsFor, rateCall } from '../rating/rate.js';
import { endpointApi, endpointApiOk, playBounded, releaseEndpoint, type Endpoint, type MediaGateway } from '../media/media-gateway.js';
import type { Clock, Timer } from './clock.js';
import { readLedgerView } from './ledger-view.js';
import { DialFailure, TrunkDialer, type TrunkAttempt, type TrunkTarget } from './trunk-dialer.js';

export interface OutboundSettings {
  /** Seconds of talk time reserved per chunk; small chunks share one balance fairly. */
  chunkSeconds: number;
  /** Heartbeat to the ledger (crash recovery) and slot refresh. */
  heartbeatMs: number;
  recordingsDir: string;
  /** Played `warningSeconds` before the cut-off when no tenant prompt is configured. */
  defaultWarning: string;
  /** Our SIP host for From headers towards carriers. */
  sipDomain: string;
}

export interface OutboundDeps {
  srf: Srf;
  media: MediaGateway;
  ledger: Ledger;
  slots: ConcurrencySlots;
  cdr: CdrWriter;
  clock: Clock;
  log: Logger;
  settings: OutboundSettings;
  /** Calls in progress on this instance, for status and graceful shutdown. */
  live: Map<string, LiveCall>;
  /** Told of every CDR written (metrics). */
  onCdr?: (cdr: Cdr) => void;
  /** A call meant to go through FreeSWITCH (anchored or recorded) did not: why. */
  onMediaDegraded?: (note: string) => void;
}

export interface LiveCall {
  callId: string;
  tenant: string;
  seat: string;
  callee: string;
  answeredAt: number | null;
  /** Ends the call now (shutdown, admin). */
  hangup(cause: string): void;
}

/** A slot lives this long without refresh: a crashed instance's calls stop counting. */
const SLOT_TTL_MS = 4 * 60 * 60 * 1000;
/** Cut a little before the boundary so signalling latency cannot cross into the next increment. */
const CUTOFF_MARGIN_MS = 300;
/** Try to extend the reservation this long before the warning would be due. */
const EXTEND_LEAD_MS = 5_000;

function userPart(value: string): string {
  const m = /sips?:([^@;>]+)@/i.exec(value) ?? /sips?:([^;>]+)/i.exec(value);
  return m?.[1] ?? value;
}

function runtimeDeny(call: OutboundCall, cfg: ConfigSnapshot, base: Decision, reason: DenyReason, detail: string, tenant: Tenant): Deny {
  const d = DENY_REASONS[reason];
  return {
    kind: 'deny', callId: call.callId, tenantId: call.tenantId, seatId: call.seatId, reason,
    sipStatus: d.sipStatus, reasonHeader: reasonHeader(d.sipStatus, d.text), detail,
    announcement: tenant.announcements[reason] ?? null,
    callee: base.kind === 'allow' ? base.callee : base.callee, configVersion: cfg.version,
    trace: [...base.trace, { step: stepOf(reason), outcome: 'deny', detail }],
  };
}

export class OutboundCallHandler {
  constructor(private readonly deps: OutboundDeps) {}

  /** Reads the ledger state the pure decision needs. */
  async ledgerView(tenant: Tenant | undefined, cfg: ConfigSnapshot): Promise<LedgerView> {
    return readLedgerView(this.deps.ledger, this.deps.slots, cfg, tenant);
  }

  async handle(req: Srf.SrfRequest, res: Srf.SrfResponse, seat: Seat, cfg: ConfigSnapshot): Promise<void> {
    const { clock } = this.deps;
    const inviteAt = clock.now();
    const call: OutboundCall = {
      callId: req.get('Call-ID'),
      seatId: seat.id,
      tenantId: seat.tenant,
      from: userPart(req.get('From')),
      to: userPart(req.uri),
    };
    // A CANCEL can arrive while the ledger is read; srf emits it once, so listen from the start.
    let cancelledEarly = (req as { canceled?: boolean }).canceled === true;
    const onEarlyCancel = (): void => { cancelledEarly = true; };
    req.on('cancel', onEarlyCancel);
    const tenant = cfg.tenants.get(seat.tenant);
    let view: LedgerView;
    try {
      view = await this.ledgerView(tenant, cfg);
    } finally {
      (req as unknown as NodeJS.EventEmitter).removeListener('cancel', onEarlyCancel);
    }
    const decision = decideOutbound(call, cfg, view, clock.now());
    const log = this.deps.log.child({ callId: call.callId, seat: seat.id, tenant: seat.tenant });
    if (decision.kind === 'deny' || !tenant) {
      const deny = decision.kind === 'deny' ? decision : runtimeDeny(call, cfg, decision, 'unknown-tenant', 'tenant vanished', { announcements: {} } as Tenant);
      await this.reject(req, res, deny, log);
      await this.writeCdr(this.cdrBase(call, cfg, deny, inviteAt), { sipStatus: deny.sipStatus });
      return;
    }
    log.info({ callee: decision.callee.national, route: decision.routeId, trunks: decision.trunks.map((t) => t.trunkId) }, 'outbound call allowed');
    await new CallRun(this.deps, req, res, call, cfg, tenant, decision, inviteAt, log).run(cancelledEarly);
  }

  private async reject(req: Srf.SrfRequest, res: Srf.SrfResponse, deny: Deny, log: Logger): Promise<void> {
    log.info({ reason: deny.reason, status: deny.sipStatus, detail: deny.detail }, 'outbound call denied');
    if (deny.announcement) await announce(this.deps, req, res, deny.announcement, log);
    if (!res.finalResponseSent) res.send(deny.sipStatus, { headers: { Reason: deny.reasonHeader } });
  }

  cdrBase(call: OutboundCall, cfg: ConfigSnapshot, d: Decision, inviteAt: number): CdrInput {
    return cdrBase(call, cfg, d, inviteAt, this.deps.clock.now());
  }

  async writeCdr(base: CdrInput, extra: Partial<CdrInput>): Promise<void> {
    await writeCdr(this.deps, base, extra);
  }
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
    inviteAt,
    endAt,
    configVersion: cfg.version,
    trace: d.trace.map((t) => ({ step: t.step, outcome: t.outcome, detail: t.detail })),
  };
}

async function writeCdr(deps: Pick<OutboundDeps, 'cdr' | 'log' | 'clock' | 'onCdr'>, base: CdrInput, extra: Partial<CdrInput>): Promise<Cdr | null> {
  const cdr = buildCdr({ ...base, endAt: deps.clock.now(), ...extra });
  try {
    await deps.cdr.write(cdr);
    deps.onCdr?.(cdr);
    deps.log.info({ cdr: { id: cdr.cdrId, decision: cdr.decision, reason: cdr.denyReason, status: cdr.sipStatus, billable: cdr.billableSeconds, cost: cdr.cost } }, 'cdr');
    return cdr;
  } catch (err) {
    // The CDR must not be lost silently: log it whole so it can be replayed from the log.
    deps.log.error({ err: (err as Error).message, cdr }, 'cdr write failed');
    return null;
  }
}

/** Plays an announcement as early media (183 + FreeSWITCH endpoint), then returns. */
async function announce(deps: Pick<OutboundDeps, 'media'>, req: Srf.SrfRequest, res: Srf.SrfResponse, file: string, log: Logger): Promise<void> {
  if (!deps.media.available || !req.body) return;
  let ep: Endpoint | undefined;
  try {
    ep = await deps.media.endpointFor(req.body);
    res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
    await playBounded(ep, file, log, deps.media.prompts);
  } catch (err) {
    log.warn({ err: (err as Error).message, file }, 'announcement failed');
  } finally {
    await releaseEndpoint(ep, log);
  }
}

/** The life of one allowed call. */
class CallRun {
  private readonly dialer: TrunkDialer;
  private readonly acct: string;
  private readonly rate: TariffRate | null;
  private cancelled = false;
  private answerAt: number | null = null;
  private ringAt: number | null = null;
  private attempts: TrunkAttempt[] = [];
  private trunkId: string | null = null;
  private granted = 0;
  private maxBilled: number | null = null;
  private epA: Endpoint | undefined;
  private epB: Endpoint | undefined;
  private uas: Srf.Dialog | undefined;
  private uac: Srf.Dialog | undefined;
  private timers: Timer[] = [];
  private hbTimer: Timer | null = null;
  private ended = false;
  private hangupBy: HangupBy | null = null;
  private hangupCause: string | null = null;
  private recordingPath: string | null = null;
  private media: 'anchored' | 'direct' | null = null;
  /** Why the route's anchored media or the tenant's recording did not happen. */
  private mediaNote: string | null = null;
  private finished: () => void = () => {};
  /** end() was called before the seat leg was answered (shutdown, a BYE during setup). */
  private stopRequested = false;
  /** Legs the far end already tore down (no BYE from us). */
  private uasGone = false;
  private uacGone = false;
  private cutTimer: Timer | null = null;
  private finishing: Promise<void> | null = null;

  constructor(
    private readonly deps: OutboundDeps,
    private readonly req: Srf.SrfRequest,
    private readonly res: Srf.SrfResponse,
    private readonly call: OutboundCall,
    private readonly cfg: ConfigSnapshot,
    private readonly tenant: Tenant,
    private readonly decision: Allow,
    private readonly inviteAt: number,
    private readonly log: Logger,
  ) {
    this.dialer = new TrunkDialer(deps.srf);
    this.acct = tenant.account;
    this.rate = decision.emergency ? null : decision.rate;
  }

  private get charged(): boolean {
    return this.rate !== null && (this.rate.ratePerMinute > 0 || this.rate.connectFee > 0);
  }

  private get aborted(): boolean {
    return this.cancelled || this.stopRequested;
  }

  private onCancel(): void {
    if (this.answerAt !== null) return;
    this.cancelled = true;
    this.hangupBy = 'caller';
    this.hangupCause = 'cancel';
    this.dialer.cancel();
  }

  async run(cancelledEarly = false): Promise<void> {
    const { deps, call } = this;
    this.req.on('cancel', () => this.onCancel());
    if (cancelledEarly || (this.req as { canceled?: boolean }).canceled === true) this.onCancel();
    deps.live.set(call.callId, {
      callId: call.callId, tenant: call.tenantId, seat: call.seatId, callee: this.decision.callee.national,
      answeredAt: null,
      hangup: (cause) => this.end('system', cause),
    });
    try {
      if (this.cancelled) return await this.finish(487);
      // 004 §2.2 purchased ports, atomically across instances (the pure check may have raced).
      if (!this.decision.emergency) {
        const slot = await deps.slots.acquire(slotKey('tenant', this.tenant.id), call.callId, this.tenant.maxConcurrent, SLOT_TTL_MS);
        if (!slot.ok) return await this.denyAtRuntime('tenant-busy', `${slot.count} of ${this.tenant.maxConcurrent} ports in use`);
      }
      if (this.charged && !(await this.authorise())) return;
      // Heartbeats start with the reservation, not at answer: ringing plus trunk failover can
      // outlast the recovery staleness, and recovery must not take a call that is still alive.
      this.scheduleHeartbeat();
      await this.connect();
    } catch (err) {
      this.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'outbound call failed');
      if (this.answerAt !== null) {
        // Both legs are up: tear them down together and settle what was talked.
        this.end('system', 'internal-error');
        return;
      }
      this.hangupLeg(this.uac, this.uacGone);
      this.hangupLeg(this.uas, this.uasGone);
      if (!this.res.finalResponseSent) this.res.send(500);
      await this.finish(500);
    }
  }

  /** BYE to one leg; a BYE crossing the far end's (dialog already gone) is not an error. */
  private hangupLeg(d: Srf.Dialog | undefined, gone: boolean): void {
    if (!d || gone) return;
    Promise.resolve().then(() => d.destroy()).catch((err: Error) => this.log.debug({ err: err.message }, 'BYE failed (leg already gone)'));
  }

  /** Ends a call whose seat leg was never answered: caller cancelled, shutdown, a leg lost during setup. */
  private async abandon(failStatus?: number): Promise<void> {
    this.hangupLeg(this.uac, this.uacGone);
    this.hangupLeg(this.uas, this.uasGone);
    await this.releaseMedia();
    if (this.cancelled) return this.finish(487);
    const status = failStatus ?? (this.hangupBy === 'callee' ? 480 : 503);
    if (!this.res.finalResponseSent) {
      const text = status === 480 ? 'Callee hung up' : status === 500 ? 'Call setup failed' : 'Service unavailable';
      this.res.send(status, { headers: { Reason: reasonHeader(status, text) } });
    }
    return this.finish(status);
  }

  /** Prepaid authorisation (003 §2.2, 002 §2.3): reserve the first chunk before bridging. */
  private async authorise(): Promise<boolean> {
    const rate = this.rate!;
    // Authorise one initial increment only: a low balance then admits as many calls as it can pay
    // a first increment for, instead of the first few calls holding whole chunks. Further time is
    // reserved in chunks during the call (tryExtend).
    const min = costOfBilled(rate, rate.initialIncrement);
    const max = min;
    const meta = JSON.stringify({ rate, tenant: this.tenant.id, seat: this.call.seatId, callee: this.decision.callee.national, inviteAt: this.inviteAt, direction: 'outbound', cdrId: `out-${this.call.callId}` });
    const r = await this.deps.ledger.reserve(this.acct, this.call.callId, { min, max }, this.deps.clock.now(), meta);
    if (!r.ok) {
      const reason: DenyReason = r.reason === 'EXPIRED' ? 'tenant-expired'
        : r.reason === 'SUSPENDED' || r.reason === 'CLOSED' ? 'tenant-suspended'
          : r.reason === 'NOT_YET_VALID' ? 'tenant-not-yet-valid' : 'insufficient-balance';
      await this.denyAtRuntime(reason, `ledger: ${r.reason}, available ${r.available}`);
      return false;
    }
    this.granted = r.total;
    this.maxBilled = maxBilledSecondsFor(rate, this.granted);
    return true;
  }

  /** The chunk on the increment grid. */
  private chunkBilledSeconds(): number {
    const rate = this.rate!;
    const s = Math.max(this.deps.settings.chunkSeconds, rate.initialIncrement);
    return rate.initialIncrement + Math.ceil((s - rate.initialIncrement) / rate.subsequentIncrement) * rate.subsequentIncrement;
  }

  private async denyAtRuntime(reason: DenyReason, detail: string): Promise<void> {
    const deny = runtimeDeny(this.call, this.cfg, this.decision, reason, detail, this.tenant);
    this.log.info({ reason, detail }, 'outbound call denied');
    if (deny.announcement) await announce(this.deps, this.req, this.res, deny.announcement, this.log);
    if (!this.res.finalResponseSent) this.res.send(deny.sipStatus, { headers: { Reason: deny.reasonHeader } });
    await this.finish(deny.sipStatus, deny);
  }

  private targets(): TrunkTarget[] {
    return this.decision.trunks.map((t) => {
      const trunk = this.cfg.trunks.get(t.trunkId)!;
      return {
        trunkId: t.trunkId,
        requestUri: t.requestUri,
        callerId: t.callerId,
        timeoutSeconds: trunk.timeoutSeconds,
        ...(trunk.username && trunk.password ? { auth: { username: trunk.username, password: trunk.password } } : {}),
      };
    });
  }

  private async connect(): Promise<void> {
    const { deps, call } = this;
    if (this.aborted) return this.abandon();
    // `recording: required` anchors even a direct route: only FreeSWITCH can record.
    const wantAnchor = this.decision.media === 'anchored' || this.decision.recordingRequired;
    if (!wantAnchor && this.decision.recording) this.mediaNote = 'not recorded: the route is media: direct';
    let anchored = false;
    let offer = this.req.body;
    if (wantAnchor) {
      const why = !deps.media.available ? 'media server unavailable' : !this.req.body ? 'the caller offered no SDP' : null;
      if (why === null) {
        try {
          const t0 = deps.clock.now();
          this.epA = await deps.media.endpointFor(this.req.body);
          const t1 = deps.clock.now();
          this.epB = await deps.media.offeringEndpoint();
          offer = this.epB.local.sdp;
          anchored = true;
          this.log.debug({ callerEndpointMs: t1 - t0, trunkEndpointMs: deps.clock.now() - t1 }, 'media endpoints ready');
        } catch (err) {
          this.log.warn({ err }, 'media endpoints failed');
          await this.releaseMedia();
          offer = this.req.body;
          this.degraded(`media endpoints failed (${(err as Error).message})`);
        }
      } else this.degraded(why);
      if (!anchored && this.decision.recordingRequired && !this.aborted) {
        return this.denyAtRuntime('recording-unavailable', this.mediaNote ?? 'media server unavailable');
      }
    }
    this.media = anchored ? 'anchored' : 'direct';
    if (this.aborted) return this.abandon();

    let dialled;
    try {
      dialled = await this.dialer.dial({
        targets: this.targets(),
        localSdp: offer,
        fromHost: deps.settings.sipDomain,
        clock: deps.clock,
        acquireTrunk: async (id) => {
          const trunk = this.cfg.trunks.get(id);
          if (!trunk) return false;
          return (await deps.slots.acquire(slotKey('trunk', id), call.callId, trunk.maxConcurrent, SLOT_TTL_MS)).ok;
        },
        releaseTrunk: async (id) => { await deps.slots.release(slotKey('trunk', id), call.callId); },
        onProvisional: (status, sdp) => {
          if (this.res.finalResponseSent || this.cancelled) return;
          if (this.ringAt === null) this.ringAt = deps.clock.now();
          // Direct media passes the carrier's early media (ringback, carrier announcements) through.
          if (!anchored && status === 183 && sdp) this.res.send(183, { body: sdp, headers: { 'Content-Type': 'application/sdp' } });
          else if (status === 180 || status === 183) this.res.send(180);
        },
      });
    } catch (err) {
      if (!(err instanceof DialFailure)) throw err;
      this.attempts = err.attempts;
      if (err.cancelled || this.aborted) {
        this.log.info({ attempts: err.attempts, by: this.hangupBy, cause: this.hangupCause }, 'outbound call abandoned while dialling');
        return this.abandon();
      }
      await this.releaseMedia();
      const status = err.cancelled ? 487 : err.status;
      if (!this.res.finalResponseSent && !err.cancelled) {
        this.res.send(status, { headers: { Reason: reasonHeader(status, status === 503 ? 'No trunk available' : 'Callee failure') } });
      }
      this.log.info({ status, attempts: err.attempts }, 'outbound call not connected');
      return this.finish(status);
    }
    this.attempts = dialled.attempts;
    this.trunkId = dialled.trunkId;
    this.uac = dialled.dialog;
    // Watch the trunk leg from now on: the carrier may hang up while the seat leg is answered.
    this.uac.on('destroy', () => { this.uacGone = true; this.end('callee', 'bye'); });
    // The caller gave up (or the call was stopped) just as the callee answered.
    if (this.aborted) return this.abandon();

    try {
      if (anchored && this.epA && this.epB) {
        const t0 = deps.clock.now();
        await this.epB.modify(this.uac.remote.sdp);
        if (this.aborted) return await this.abandon();
        const t1 = deps.clock.now();
        this.uas = await deps.srf.createUAS(this.req, this.res, { localSdp: this.epA.local.sdp });
        this.watchUas(this.uas);
        const t2 = deps.clock.now();
        await this.epA.bridge(this.epB);
        this.log.debug({ modifyMs: t1 - t0, answerCallerMs: t2 - t1, bridgeMs: deps.clock.now() - t2 }, 'bridged');
        if (this.decision.recording && !this.aborted) await this.startRecording();
      } else {
        this.uas = await deps.srf.createUAS(this.req, this.res, { localSdp: this.uac.remote.sdp });
        this.watchUas(this.uas);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'caller leg failed at answer');
      return this.abandon(500);
    }

    this.answerAt = deps.clock.now();
    const answerAt = this.answerAt;
    const live = deps.live.get(call.callId);
    if (live) live.answeredAt = answerAt;
    this.log.info({ trunk: this.trunkId, maxBilledSeconds: this.maxBilled }, 'outbound call answered');

    const done = new Promise<void>((resolve) => { this.finished = resolve; });
    this.epA?.on('destroy', () => this.end('system', 'media-lost'));
    this.epB?.on('destroy', () => this.end('system', 'media-lost'));
    if (this.stopRequested) {
      // A leg hung up (or shutdown came) while the seat leg was being answered: end both now.
      this.end(this.hangupBy ?? 'system', this.hangupCause ?? 'shutdown');
      return done;
    }
    if (this.charged) {
      // The cut-off is armed before anything can fail; a lost heartbeat is recovered by the next one.
      this.scheduleBoundary();
      try {
        await deps.ledger.heartbeat(this.acct, call.callId, answerAt, answerAt);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'heartbeat at answer failed');
      }
    }
    await done;
  }

  private watchUas(uas: Srf.Dialog): void {
    uas.on('destroy', () => { this.uasGone = true; this.end('caller', 'bye'); });
  }

  /** Anchoring (and so recording) failed: said in the log, the CDR and /metrics. */
  private degraded(why: string): void {
    this.mediaNote = this.decision.recording ? `not recorded: ${why}` : `bridged direct: ${why}`;
    this.log.warn({ mediaNote: this.mediaNote }, 'call not anchored through the media server');
    this.deps.onMediaDegraded?.(this.mediaNote);
  }

  private async startRecording(): Promise<void> {
    const day = new Date(this.inviteAt + 8 * 3600_000).toISOString().slice(0, 10);
    const path = join(this.deps.settings.recordingsDir, this.tenant.id, day, `${this.call.callId.replace(/[^A-Za-z0-9._-]/g, '_')}.wav`);
    try {
      // uuid_record, not `execute record_session`: an api runs on a bridged channel at once.
      await endpointApiOk(this.epA!, 'uuid_record', `${this.epA!.uuid} start ${path}`);
      this.recordingPath = path;
    } catch (err) {
      this.log.warn({ err }, 'recording failed to start');
      this.mediaNote = `not recorded: recording failed to start (${(err as Error).message})`;
      this.deps.onMediaDegraded?.(this.mediaNote);
    }
  }

  private scheduleHeartbeat(): void {
    const { deps, call } = this;
    const beat = () => {
      if (this.ended) return;
      const now = deps.clock.now();
      void Promise.all([
        this.charged ? deps.ledger.heartbeat(this.acct, call.callId, now, this.answerAt ?? undefined) : null,
        this.decision.emergency ? null : deps.slots.refresh(slotKey('tenant', this.tenant.id), call.callId, SLOT_TTL_MS),
        this.trunkId ? deps.slots.refresh(slotKey('trunk', this.trunkId), call.callId, SLOT_TTL_MS) : null,
      ]).then(([hb]) => {
        // Recovery took this call (we were presumed dead): stop, it was already settled.
        if (hb && !hb.ok && hb.reason === 'RECOVERED') this.end('system', 'recovered-elsewhere');
      }).catch((err: Error) => this.log.warn({ err: err.message }, 'heartbeat failed'));
      this.rearmHeartbeat(beat);
    };
    this.rearmHeartbeat(beat);
  }

  /** One heartbeat timer at a time (a long call must not pile up timers). */
  private rearmHeartbeat(beat: () => void): void {
    if (this.ended) return;
    if (this.hbTimer) {
      this.deps.clock.clearTimeout(this.hbTimer);
      this.timers = this.timers.filter((t) => t !== this.hbTimer);
    }
    this.hbTimer = this.deps.clock.setTimeout(beat, this.deps.settings.heartbeatMs);
    this.timers.push(this.hbTimer);
  }

  /** Extension, warning and cut-off at the paid boundary (issue 4 §4). */
  private scheduleBoundary(): void {
    if (this.maxBilled === null || this.answerAt === null || this.ended) return;
    const { clock } = this.deps;
    const cutAt = this.answerAt + this.maxBilled * 1000 - CUTOFF_MARGIN_MS;
    const warnAt = cutAt - this.tenant.warningSeconds * 1000;
    const extendAt = warnAt - EXTEND_LEAD_MS;
    const now = clock.now();
    // The cut-off at the current boundary is armed now; a successful extension moves it. So a slow
    // or hung extension can never let the call run past what is reserved.
    if (this.cutTimer) clock.clearTimeout(this.cutTimer);
    this.cutTimer = clock.setTimeout(() => this.end('cutoff', 'balance-exhausted'), Math.max(0, cutAt - now));
    this.timers.push(this.cutTimer);
    this.timers.push(clock.setTimeout(() => void this.tryExtend(cutAt, warnAt), Math.max(0, extendAt - now)));
  }

  private async tryExtend(cutAt: number, warnAt: number): Promise<void> {
    if (this.ended) return;
    const { deps, call } = this;
    const rate = this.rate!;
    const min = Math.max(1, costOfBilled(rate, this.maxBilled! + rate.subsequentIncrement) - this.granted);
    const max = Math.max(min, costOfBilled(rate, this.maxBilled! + this.chunkBilledSeconds()) - this.granted);
    try {
      const r = await deps.ledger.extend(this.acct, call.callId, { min, max }, deps.clock.now());
      if (this.ended) return;
      if (r.ok) {
        this.granted = r.total;
        this.maxBilled = maxBilledSecondsFor(rate, this.granted);
        this.log.debug({ granted: this.granted, maxBilledSeconds: this.maxBilled }, 'reservation extended');
        return this.scheduleBoundary();
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'reservation extension failed');
    }
    if (this.ended) return;
    // Balance exhausted: warn; the cut-off at the boundary is already armed (scheduleBoundary).
    const now = deps.clock.now();
    this.timers.push(deps.clock.setTimeout(() => void this.warn(), Math.max(0, warnAt - now)));
    this.log.info({ cutoffInMs: cutAt - now }, 'balance exhausted: cut-off scheduled');
  }

  private async warn(): Promise<void> {
    if (this.ended) return;
    const prompt = this.tenant.announcements['credit-warning'] ?? this.deps.settings.defaultWarning;
    if (!this.epA) {
      this.log.info('credit warning due, no media anchored to play it');
      return;
    }
    this.log.info({ prompt }, 'credit warning');
    try {
      // uuid_broadcast plays to the caller without breaking the bridge.
      await endpointApi(this.epA, 'uuid_broadcast', `${this.epA.uuid} ${prompt} aleg`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'credit warning failed');
    }
  }

  /** Ends an answered call once, from whichever side or timer got there first. */
  private end(by: HangupBy, cause: string): void {
    if (this.ended) return;
    if (this.answerAt === null) {
      // Not answered yet (shutdown, a leg hung up during setup): stop dialling; connect() sees
      // stopRequested at its next step and ends the call there. The first reason is kept.
      if (!this.aborted) {
        this.hangupBy = by;
        this.hangupCause = cause;
      }
      this.stopRequested = true;
      this.dialer.cancel();
      return;
    }
    this.ended = true;
    this.hangupBy = by;
    this.hangupCause = cause;
    const endAt = this.deps.clock.now();
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    this.hangupLeg(this.uas, this.uasGone);
    this.hangupLeg(this.uac, this.uacGone);
    void this.releaseMedia()
      .then(() => this.finish(200, undefined, endAt))
      .catch((err: Error) => this.log.error({ err: err.message }, 'call teardown failed'))
      .finally(() => this.finished());
  }

  private async releaseMedia(): Promise<void> {
    const a = this.epA, b = this.epB;
    this.epA = undefined;
    this.epB = undefined;
    await Promise.all([releaseEndpoint(a, this.log), releaseEndpoint(b, this.log)]);
  }

  /** Settles money, frees slots, writes the one CDR; runs once, whichever path gets here first. */
  private finish(sipStatus: number, deny?: Deny, endAt = this.deps.clock.now()): Promise<void> {
    this.finishing ??= this.settleAndRecord(sipStatus, deny, endAt);
    return this.finishing;
  }

  private async settleAndRecord(sipStatus: number, deny: Deny | undefined, endAt: number): Promise<void> {
    const { deps, call } = this;
    this.ended = true;
    deps.live.delete(call.callId);
    for (const t of this.timers) deps.clock.clearTimeout(t);
    await this.releaseMedia();
    let billable = 0, billed = 0, cost = 0, balanceAfter: number | null = null;
    try {
      if (this.answerAt !== null && this.rate) {
        let answeredMs = endAt - this.answerAt;
        // The call is cut off at the paid boundary; timer or signalling lateness past it (whoever
        // hung up) is not billed: the ledger cannot debit beyond the reservation anyway.
        if (this.charged && this.maxBilled !== null) answeredMs = Math.min(answeredMs, this.maxBilled * 1000);
        const rated = rateCall(this.rate, answeredMs);
        billable = rated.billableSeconds;
        billed = rated.billedSeconds;
        cost = this.charged ? rated.cost : 0;
      } else if (this.answerAt !== null) {
        // Not rated (emergency, issue 4 §8): no increments to round to, so billed = measured; never charged.
        billable = billed = Math.ceil((endAt - this.answerAt) / 1000);
      }
      if (this.granted > 0) {
        const s = this.answerAt !== null
          ? await deps.ledger.settle(this.acct, call.callId, cost, `out-${call.callId}`, endAt)
          : await deps.ledger.release(this.acct, call.callId, endAt);
        balanceAfter = s.balanceAfter;
        if (s.shortfall > 0) this.log.error({ shortfall: s.shortfall }, 'settled cost exceeded the reservation');
      }
    } catch (err) {
      // Left for crash recovery, which settles orphaned reservations from the heartbeat.
      this.log.error({ err: (err as Error).message }, 'settlement failed');
    }
    await Promise.all([
      this.decision.emergency ? null : deps.slots.release(slotKey('tenant', this.tenant.id), call.callId),
      this.trunkId ? deps.slots.release(slotKey('trunk', this.trunkId), call.callId) : null,
    ]).catch((err: Error) => this.log.warn({ err: err.message }, 'slot release failed'));
    const base = cdrBase(call, this.cfg, deny ?? this.decision, this.inviteAt, endAt);
    await writeCdr(deps, base, {
      sipStatus,
      endAt,
      trunks: this.attempts.map((a) => ({ trunk: a.trunk, sipStatus: a.sipStatus, at: a.at })),
      ringAt: this.ringAt,
      answerAt: this.answerAt,
      billableSeconds: billable,
      billedSeconds: billed,
      cost,
      balanceAfter,
      hangupBy: this.hangupBy ?? (this.answerAt === null ? null : 'system'),
      hangupCause: this.hangupCause ?? (deny ? deny.reason : this.answerAt === null ? `sip-${sipStatus}` : null),
      recordingPath: this.recordingPath,
      media: this.media,
      mediaNote: this.mediaNote,
    });
  }
}
