// One call's life, whichever way it came in: its legs (caller dialog, far-end dialog, media
// endpoints), one set of timers, heartbeats, the paid boundary (warning, cut-off), end(by, cause),
// abandon(status), bounded teardown, settlement of every reservation, slot release, and exactly
// one CDR. The outbound and inbound flows supply their connect step and their CDR fields.
// Contract clauses cited here and in the flows (003 §2.2 ...) are listed in docs/contracts.md.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { CdrInput, CdrTransfer, HangupBy } from '../cdr/model.js';
import type { SlotResult } from '../ledger/concurrency.js';
import { withDeadline } from '../media/deadlines.js';
import { releaseEndpoint, type Endpoint } from '../media/media-gateway.js';
import { reasonHeader } from '../policy/reasons.js';
import { beforeAnswer, transition, type CallPhase } from './call-phase.js';
import { writeCdr } from './call-record.js';
import { PaidBoundary } from './paid-boundary.js';
import type { Timer } from './clock.js';
import type { DialAttempt } from './invite-attempt.js';
import type { Reservation, Settled } from './reservation.js';
import { recordingFile, startRecording } from './recording.js';
import { answerTimer, knownDeadAt, SESSION_EXPIRED_TEXT, uacTimer, type LegTimer, type SessionTimerSettings } from './session-timer.js';
import type { ConfigSnapshot } from '../config/types.js';
import { releaseSlotsOnce } from './slot-release.js';
import type { SessionDeps, SessionSpec } from './session-types.js';

export type { LiveCall, SessionDeps, SessionSettings, SessionSpec } from './session-types.js';

/** A BYE's transaction normally completes in milliseconds; past this the call goes on without it. */
export const BYE_TIMEOUT_MS = 2_000;
/** How long the CDR waits for a transfer still deciding when the call ends (a CANCEL's grace is 2 s). */
const TRANSFER_WAIT_MS = 3_000;
/** A slot lives this long without refresh: a crashed instance's calls stop counting. */
export const SLOT_TTL_MS = 4 * 60 * 60 * 1000;
/** A hung call (a seat gone without BYE) still ends: 4 h unless the tenant says otherwise. */
export const DEFAULT_MAX_CALL_SECONDS = 4 * 60 * 60;
/** Setup (dialling, ringing, prompts) before the answer, on top of the longest call: an agent's on-call entry lasts this long past it. */
const AGENT_SETUP_MARGIN_S = 15 * 60;

/** Session timers of a call: the settings override (tests), else dialgate.yaml. */
export function sessionTimersOf(deps: Pick<SessionDeps, 'settings'>, cfg: ConfigSnapshot): SessionTimerSettings | null {
  return deps.settings.sessionTimers ?? cfg.server?.sessionTimers ?? null;
}

export class CallSession {
  phase: CallPhase = 'setup';
  /** Who ended the call and why; the first reason is kept (null while nobody did). */
  stop: { by: HangupBy | null; cause: string } | null = null;
  uas: Srf.Dialog | undefined;
  uac: Srf.Dialog | undefined;
  epA: Endpoint | undefined;
  epB: Endpoint | undefined;
  ringAt: number | null = null;
  answerAt: number | null = null;
  attempts: DialAttempt[] = [];
  recordingPath: string | null = null;
  /** The endpoint the recording runs on (a transfer may move it to another, in a second file). */
  recordingOn: Endpoint | undefined;
  media: 'anchored' | 'direct' | null = null;
  mediaNote: string | null = null;
  /** Blind transfers (issue 13), in order; a connected one's seconds are filled in at the end. */
  readonly transfers: CdrTransfer[] = [];
  /** The leg whose REFER is being carried out: its BYE meanwhile does not end the call. */
  private transferring: { leg: 'caller' | 'far'; legGone: boolean; over: () => void } | null = null;
  /** Resolves when the transfer in progress is decided: the CDR waits for its outcome. */
  private transferOver: Promise<void> | null = null;
  /** Told when the answered call starts ending (a transfer in progress stops its INVITE). */
  private readonly endHooks = new Set<() => void>();
  /** Session timers drachtio-server runs on each leg (null: none negotiated). */
  private readonly legTimers: { caller: LegTimer | null; far: LegTimer | null } = { caller: null, far: null };
  private readonly reservations: Reservation[] = [];
  private readonly slots = new Map<string, { key: string; member: string }>();
  private readonly timers = new Set<Timer>();
  private hbTimer: Timer | null = null;
  private readonly boundary = new PaidBoundary(this);
  private finishing: Promise<void> | null = null;
  /** The seat whose agent is on this call (reported to deps.agents), if any. */
  private agentSeat: string | null = null;
  /** The agent's call end, once reported. */
  private agentEnd: Promise<void> | null = null;
  private finished!: () => void;
  /** Resolves once the CDR is written (or failed): the flow's handle() returns then. */
  readonly done: Promise<void>;

  constructor(readonly deps: SessionDeps, readonly req: Srf.SrfRequest, readonly res: Srf.SrfResponse, readonly spec: SessionSpec, readonly log: Logger) {
    this.done = new Promise((resolve) => { this.finished = resolve; });
    deps.live.set(spec.callId, {
      callId: spec.callId, tenant: spec.tenant ?? '', seat: spec.seat, callee: spec.callee, answeredAt: null,
      mediaUuids: () => [this.epA?.uuid, this.epB?.uuid].filter((u): u is string => u !== undefined),
      hangup: (cause) => this.end('system', cause),
    });
  }

  get aborted(): boolean { return this.stop !== null; }
  /** The caller CANCELled the INVITE. */
  get cancelled(): boolean { return this.stop?.by === 'caller' && this.stop.cause === 'cancel'; }
  /** The caller leg was answered (by us, for IVR, or at the bridge). */
  get callerAnswered(): boolean { return this.uas !== undefined; }

  to(phase: CallPhase): void {
    this.phase = transition(this.phase, phase);
  }

  /** The caller's CANCEL, including one that came before the session existed. */
  watchCancel(cancelledEarly: boolean): void {
    const onCancel = (): void => {
      if (!this.callerAnswered && beforeAnswer(this.phase)) this.end('caller', 'cancel');
    };
    this.req.on('cancel', onCancel);
    if (cancelledEarly || (this.req as { canceled?: boolean }).canceled === true) onCancel();
  }

  /** Records how the call ends without asking anything to stop (the flow knows already). */
  note(by: HangupBy | null, cause: string): void {
    this.stop = { by, cause };
  }

  // ---- legs --------------------------------------------------------------------------------------

  /** The caller leg answered; its BYE (or its session timer running out) ends the call. */
  callerLeg(uas: Srf.Dialog, timer: LegTimer | null = null): void {
    this.uas = uas;
    this.legTimers.caller = timer;
    this.watchLeg(uas, 'caller');
  }

  /** The far-end leg answered; its BYE (or its session timer running out) ends the call. */
  farLeg(uac: Srf.Dialog, timer: LegTimer | null = null): void {
    this.uac = uac;
    this.legTimers.far = timer;
    this.watchLeg(uac, 'far');
  }

  private watchLeg(d: Srf.Dialog, leg: 'caller' | 'far'): void {
    d.on('destroy', (_req: unknown, reason?: string) => {
      if (reason === SESSION_EXPIRED_TEXT) return this.legExpired(leg);
      // A transferor hanging up after its REFER (many phones do, right after 202): the transfer
      // goes on and decides; a failed one ends the call then.
      if (this.transferring?.leg === leg) {
        this.transferring.legGone = true;
        return;
      }
      this.end(leg === 'caller' ? 'caller' : 'callee', 'bye');
    });
    // In-dialog REFER (RFC 3515): the flow decides; without a handler srf would answer 200 and do nothing.
    d.on('refer', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      const handler = this.spec.onRefer;
      if (!handler || this.phase !== 'answered') {
        res.send(handler ? 491 : 501, { headers: { Reason: reasonHeader(handler ? 491 : 501, handler ? 'Call not in a state to transfer' : 'Transfer not supported on this call') } });
        return;
      }
      handler(leg, req, res);
    });
  }

  /** A transfer of `leg` starts; false when one is already running (the REFER gets 491). */
  beginTransfer(leg: 'caller' | 'far'): boolean {
    if (this.transferring || this.phase !== 'answered') return false;
    let over!: () => void;
    this.transferOver = new Promise((resolve) => { over = resolve; });
    this.transferring = { leg, legGone: false, over };
    return true;
  }

  /** The transfer is over; true when the transferor hung up meanwhile. */
  endTransfer(): boolean {
    const gone = this.transferring?.legGone ?? false;
    this.transferring?.over();
    this.transferring = null;
    return gone;
  }

  /**
   * A connected transfer: `leg` is now the target's dialog. The transferor's dialog is returned
   * unwatched (its BYE no longer ends the call) for the caller to hang up.
   */
  replaceLeg(leg: 'caller' | 'far', d: Srf.Dialog): Srf.Dialog | undefined {
    const old = leg === 'caller' ? this.uas : this.uac;
    old?.removeAllListeners('destroy');
    old?.removeAllListeners('refer');
    // The new leg is one we dialled (a transfer target): its timer is the one its 200 settled on.
    const settled = this.spec.sessionTimers ? uacTimer((d as { res?: Srf.SrfResponse }).res) : null;
    const timer = settled ? { ...settled, since: this.deps.clock.now() } : null;
    if (leg === 'caller') this.callerLeg(d, timer);
    else this.farLeg(d, timer);
    return old;
  }

  /** Hangs up a dialog the call no longer holds (a replaced transferor leg), bounded. */
  hangupDialog(d: Srf.Dialog | undefined): void { this.hangupLeg(d); }

  onEnding(fn: () => void): () => void {
    this.endHooks.add(fn);
    return () => this.endHooks.delete(fn);
  }

  /** Re-arms the paid boundary (a reservation joined the payers). */
  rescheduleBoundary(): void { this.boundary.schedule(); }

  /**
   * Answers the caller (200 with `localSdp`) and watches its leg. With session timers on, the 200
   * carries our Session-Expires, so drachtio-server refreshes (or expects refreshes on) the leg.
   */
  async answerCaller(localSdp: string): Promise<void> {
    await this.answerCallerWith((headers) => this.deps.srf.createUAS(this.req, this.res, { localSdp, ...(headers ? { headers } : {}) }));
  }

  /** answerCaller with the 200 OK sent by `answer` (a WebRTC caller answered through FreeSWITCH). */
  async answerCallerWith(answer: (headers: Record<string, string> | undefined) => Promise<Srf.Dialog>): Promise<void> {
    const st = this.spec.sessionTimers;
    const a = st ? answerTimer(this.req, st) : null;
    // A too-small interval was refused with 422 before the call started (see outbound-call.ts).
    const timer = a?.kind === 'answer' ? a : null;
    const uas = await answer(timer ? timer.headers : undefined);
    this.callerLeg(uas, timer?.timer ?? null);
  }

  /** The far end answered: its leg, with the session timer its 200 settled on. */
  farAnswered(uac: Srf.Dialog): void {
    this.farLeg(uac, this.spec.sessionTimers ? uacTimer((uac as { res?: Srf.SrfResponse }).res) : null);
  }

  /**
   * drachtio-server tore a leg down: a refresh went unanswered (or failed), or the peer's refresh
   * never came. The call is billed to the moment that leg was last known alive.
   */
  private legExpired(leg: 'caller' | 'far'): void {
    const now = this.deps.clock.now();
    const timer = this.legTimers[leg];
    const at = this.answerAt === null ? now : knownDeadAt(now, timer?.since ?? this.answerAt, timer);
    this.log.warn({ leg, timer: this.legTimers[leg], billedUntil: at }, 'session timer expired: leg gone without BYE');
    this.end('system', leg === 'caller' ? 'session-timer-caller' : 'session-timer-callee', at);
  }

  /** BYE to a leg still up, bounded; one that crosses the far end's BYE is not an error. */
  private hangupLeg(d: Srf.Dialog | undefined): void {
    if (!d || (d as { connected?: boolean }).connected === false) return;
    withDeadline(Promise.resolve().then(() => d.destroy()), BYE_TIMEOUT_MS, 'BYE')
      .catch((err: unknown) => this.log.debug({ err }, 'BYE failed (leg already gone)'));
  }

  hangupCaller(): void { this.hangupLeg(this.uas); }

  async releaseMedia(): Promise<void> {
    const a = this.epA, b = this.epB;
    this.epA = undefined;
    this.epB = undefined;
    await Promise.all([releaseEndpoint(a, this.log), releaseEndpoint(b, this.log)]);
  }

  /** Anchoring (and so recording) did not happen: said in the log, the CDR and /metrics. */
  degraded(why: string, recording: boolean): void {
    this.mediaNote = recording ? `not recorded: ${why}` : `bridged direct: ${why}`;
    this.log.warn({ mediaNote: this.mediaNote }, 'call not anchored through the media server');
    this.deps.onMediaDegraded?.(this.mediaNote);
  }

  /** Records the bridged call (uuid_record on the caller's endpoint). */
  async startRecording(owner: string): Promise<void> {
    const r = await startRecording(this.epA!, this.recordingFile(owner, ''), this.log);
    if (r.ok) {
      this.recordingPath = r.path;
      this.recordingOn = this.epA;
    }
    else {
      this.mediaNote = `not recorded: recording failed to start (${r.why})`;
      this.deps.onMediaDegraded?.(this.mediaNote);
    }
  }

  recordingFile(owner: string, prefix: string): string {
    return recordingFile(this.deps.settings.recordingsDir, this.spec.timeZone, owner, this.spec.inviteAt, this.spec.callId, prefix);
  }

  // ---- money and slots ---------------------------------------------------------------------------

  addReservation(r: Reservation): void { this.reservations.push(r); }

  /** Releases a reservation the call no longer needs (a member leg that did not answer). */
  async dropReservation(r: Reservation): Promise<void> {
    const i = this.reservations.indexOf(r);
    if (i < 0) return;
    this.reservations.splice(i, 1);
    await r.settle(this.deps.clock.now()).catch((err: unknown) => this.log.warn({ err, reservation: r.id }, 'reservation release failed'));
  }

  /** Takes a concurrency slot, kept alive by the heartbeat and released when the call finishes. */
  async holdSlot(key: string, member: string, limit: number): Promise<SlotResult> {
    const r = await this.deps.slots.acquire(key, member, limit, SLOT_TTL_MS);
    if (r.ok) this.slots.set(`${key} ${member}`, { key, member });
    return r;
  }

  async dropSlot(key: string, member: string): Promise<void> {
    const held = this.slots.get(`${key} ${member}`);
    this.slots.delete(`${key} ${member}`);
    // Retried until Redis takes it (a slot never taken, e.g. an emergency call's during an outage, is skipped).
    if (held) await releaseSlotsOnce(this.deps.slots, [held], this.log);
  }

  // ---- timers ------------------------------------------------------------------------------------

  after(ms: number, fn: () => void): Timer {
    const t = this.deps.clock.setTimeout(() => { this.timers.delete(t); fn(); }, Math.max(0, ms));
    this.timers.add(t);
    return t;
  }

  cancelTimer(t: Timer | null): void {
    if (!t) return;
    this.deps.clock.clearTimeout(t);
    this.timers.delete(t);
  }

  /**
   * Heartbeats start with the first reservation, not at answer: ringing, IVR and failover can
   * outlast the recovery staleness, and recovery must not take a call that is still alive. One
   * timer at a time, so a long call never piles them up.
   */
  startHeartbeat(): void {
    const beat = (): void => {
      if (this.phase === 'ending' || this.phase === 'ended') return;
      const now = this.deps.clock.now();
      void Promise.all([
        ...this.reservations.map((r) => r.heartbeat(now)),
        ...[...this.slots.values()].map((s) => this.deps.slots.refresh(s.key, s.member, SLOT_TTL_MS).then(() => null)),
      ]).then((rs) => {
        // Recovery took this call (we were presumed dead): stop, it was already settled.
        if (rs.some((r) => r && !r.ok && r.reason === 'RECOVERED')) this.end('system', 'recovered-elsewhere');
      }).catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'));
      this.hbTimer = this.after(this.deps.settings.heartbeatMs, beat);
    };
    this.cancelTimer(this.hbTimer);
    this.hbTimer = this.after(this.deps.settings.heartbeatMs, beat);
  }

  /**
   * The seat's agent is on this call (issue 13): on-call for 400 distribution on every instance
   * until the session's teardown reports the end. Bounded by the call's longest life, so a crash
   * that loses the end frees the seat then. A Redis failure here never fails the call.
   */
  async agentOnCall(seat: string): Promise<void> {
    if (!this.deps.agents || this.agentSeat !== null || !seat) return;
    this.agentSeat = seat;
    const now = this.deps.clock.now();
    const until = now + ((this.spec.maxCallSeconds ?? DEFAULT_MAX_CALL_SECONDS) + AGENT_SETUP_MARGIN_S) * 1000;
    await this.deps.agents.onCallStart(seat, this.spec.callId, now, until)
      .catch((err: unknown) => this.log.warn({ err, seat }, 'agent call start not recorded'));
  }

  /**
   * A connected blind transfer moved the seat side of the call from the transferor's seat to
   * `target` (null: a number): the transferor's call ends now (wrap-up follows, and 400 calls may
   * ring it again) and the target seat is on this call until it ends. Never throws.
   */
  async agentTransferred(target: string | null): Promise<void> {
    if (!this.deps.agents) return;
    await this.agentOffCall(this.deps.clock.now());
    this.agentSeat = null;
    this.agentEnd = null;
    if (target) await this.agentOnCall(target);
  }

  /** Reports the agent's call end once (wrap-up follows if the call was answered); never throws. */
  private agentOffCall(endAt: number): Promise<void> {
    const seat = this.agentSeat;
    if (seat === null || !this.deps.agents) return Promise.resolve();
    this.agentEnd ??= this.deps.agents.onCallEnd(seat, this.spec.callId, endAt, this.answerAt !== null)
      .catch((err: unknown) => this.log.warn({ err, seat }, 'agent call end not recorded'));
    return this.agentEnd;
  }

  /** FreeSWITCH hangs up an endpoint without RTP for media_timeout (freeswitch/dialplan/mrf.xml), or died. */
  private readonly onMediaGone = (evt?: { reason?: string }): void => this.end('system', evt?.reason === 'MEDIA_TIMEOUT' ? 'media-timeout' : 'media-lost');

  /**
   * A transfer moved a leg to a new endpoint: that one is watched from now on, and the one let go
   * (which the caller releases) no longer ends the call when FreeSWITCH hangs it up.
   */
  replaceEndpoint(leg: 'caller' | 'far', ep: Endpoint): Endpoint | undefined {
    const old = leg === 'caller' ? this.epA : this.epB;
    old?.removeListener('destroy', this.onMediaGone);
    if (leg === 'caller') this.epA = ep;
    else this.epB = ep;
    if (this.answerAt !== null) ep.on('destroy', this.onMediaGone);
    return old;
  }

  /** Both legs are up: talk time starts, paid by `payers`. Resolves when the call has finished. */
  async answered(payers: Reservation[]): Promise<void> {
    this.to('answered');
    const answerAt = this.answerAt = this.deps.clock.now();
    for (const r of payers) r.answeredAt = answerAt;
    const live = this.deps.live.get(this.spec.callId);
    if (live) live.answeredAt = answerAt;
    this.deps.onAnswered?.(this);
    this.epA?.on('destroy', this.onMediaGone);
    this.epB?.on('destroy', this.onMediaGone);
    // The tenant's longest call (maxCallSeconds): ended there, billed to that moment.
    if (this.spec.maxCallSeconds) {
      const limitAt = answerAt + this.spec.maxCallSeconds * 1000;
      this.after(limitAt - this.deps.clock.now(), () => this.end('system', 'max-duration', limitAt));
    }
    // The cut-off is armed before anything can fail; a lost heartbeat is recovered by the next one.
    this.boundary.schedule();
    try {
      await Promise.all(payers.map((r) => r.heartbeat(answerAt)));
    } catch (err) {
      this.log.warn({ err }, 'heartbeat at answer failed');
    }
  }

  /** Reservations paying for the talk time. */
  payers(): Reservation[] {
    return this.reservations.filter((r) => r.answeredAt !== null);
  }

  // ---- the end -----------------------------------------------------------------------------------

  /**
   * Ends the call once, from whichever side or timer got there first; either side ends both.
   * `at`: when the call really ended, if earlier than now (a leg found dead, the duration limit).
   */
  end(by: HangupBy, cause: string, at?: number): void {
    if (this.phase === 'ending' || this.phase === 'ended') return;
    if (beforeAnswer(this.phase)) {
      // Not bridged yet: stop dialling, ringing and prompts; the flow sees `aborted` at its next
      // step and ends the call there (abandon). The first reason is kept.
      if (!this.stop) {
        this.stop = { by, cause };
        this.spec.onStop(by, cause);
      }
      return;
    }
    this.stop = { by, cause };
    const now = this.deps.clock.now();
    const endAt = at === undefined ? now : Math.min(now, Math.max(at, this.answerAt ?? at));
    this.to('ending');
    for (const fn of this.endHooks) fn();
    // The seat is free the moment the call ends, not after settlement: sent now, it reaches Redis
    // before a next 400 call's distribution read that this instance sends afterwards.
    void this.agentOffCall(endAt);
    this.hangupLeg(this.uas);
    this.hangupLeg(this.uac);
    void this.releaseMedia().then(() => this.finish(200, {}, endAt));
  }

  /** Ends a call that was never bridged: caller gone, shutdown, a leg lost or failed during setup. */
  async abandon(failStatus?: number): Promise<void> {
    if (failStatus && !this.aborted) this.note('system', 'setup-failed');
    this.hangupLeg(this.uac);
    this.hangupLeg(this.uas);
    await this.releaseMedia();
    if (this.callerAnswered) return this.finish(200);
    if (this.cancelled) return this.finish(487);
    const status = failStatus ?? (this.stop?.by === 'callee' ? 480 : 503);
    this.sendFinal(status, status === 480 ? 'Callee hung up' : status === 500 ? 'Call setup failed' : 'Service unavailable');
    return this.finish(status);
  }

  /** A flow threw: tear down whatever is up and still settle and write the one CDR. */
  async failed(err: unknown, what: string): Promise<void> {
    this.log.error({ err }, what);
    if (this.phase === 'answered') return this.end('system', 'internal-error');
    if (this.phase === 'ending' || this.phase === 'ended') return;
    if (!this.aborted) this.note('system', 'internal-error');
    await this.abandon(500);
  }

  /** A final response to the caller, unless one went out already (or the caller cancelled). */
  sendFinal(status: number, text?: string): void {
    if (this.res.finalResponseSent || this.cancelled) return;
    this.res.send(status, text ? { headers: { Reason: reasonHeader(status, text) } } : {});
  }

  /** Settles money, frees slots, writes the one CDR; runs once, whichever path gets here first. */
  finish(sipStatus: number, extra: Partial<CdrInput> = {}, endAt = this.deps.clock.now()): Promise<void> {
    this.finishing ??= this.settleAndRecord(sipStatus, extra, endAt)
      .catch((err: unknown) => this.log.error({ err }, 'call teardown failed'))
      .finally(() => {
        this.phase = 'ended';
        this.finished();
      });
    return this.finishing;
  }

  /** Transfers with each leg's connected seconds: answer → first transfer → ... → end. */
  private transferLegs(endAt: number): CdrTransfer[] {
    let from = this.answerAt;
    const connected = this.transfers.filter((t) => t.outcome === 'connected');
    return this.transfers.map((t) => {
      if (t.outcome === 'pending') return { ...t, outcome: 'cancelled' };
      if (t.outcome !== 'connected' || from === null) return t;
      const next = connected[connected.indexOf(t) + 1]?.at ?? endAt;
      const out = { ...t, transferorSeconds: Math.ceil(Math.max(0, t.at - from) / 1000), targetSeconds: Math.ceil(Math.max(0, next - t.at) / 1000) };
      from = t.at;
      return out;
    });
  }

  private async settleAndRecord(sipStatus: number, extra: Partial<CdrInput>, endAt: number): Promise<void> {
    const { deps, spec } = this;
    if (this.phase !== 'ending') this.to('ending');
    deps.live.delete(spec.callId);
    for (const t of this.timers) deps.clock.clearTimeout(t);
    this.timers.clear();
    // A transfer still deciding (its target's INVITE being CANCELled) is waited for, briefly: its
    // outcome and its leg's reservation belong in this CDR.
    if (this.transferring && this.transferOver) {
      let t: Timer | undefined;
      await Promise.race([this.transferOver, new Promise<void>((resolve) => { t = deps.clock.setTimeout(resolve, TRANSFER_WAIT_MS); })]);
      if (t) deps.clock.clearTimeout(t);
    }
    // Whatever path got here, no FreeSWITCH endpoint outlives the call (each release is bounded).
    await this.releaseMedia();
    // The ports go back while the money settles (neither waits for the other: one round trip).
    const slots = [...this.slots.values()];
    this.slots.clear();
    const released = releaseSlotsOnce(deps.slots, slots, this.log);
    const settled: Settled[] = [];
    for (const r of this.reservations) {
      try {
        settled.push(await r.settle(endAt, this.log));
      } catch (err) {
        // Left for crash recovery, which settles orphaned reservations from the heartbeat.
        this.log.error({ err, reservation: r.id }, 'settlement failed');
      }
    }
    await released;
    // Calls that end before the answer report it here; the wrap-up runs from the CDR's end.
    await this.agentOffCall(endAt);
    const flowExtra = (await spec.afterSettle?.(endAt, settled).catch((err: unknown) => {
      this.log.error({ err }, 'settlement of the call failed');
      return {};
    })) ?? {};
    const base = spec.cdrBase();
    const own = settled.find((s) => s.cdrId === base.cdrId);
    for (const s of settled) if (s.settlement && s.settlement.shortfall > 0) this.log.error({ shortfall: s.settlement.shortfall, reservation: s.reservationId }, 'settled cost exceeded the reservation');
    // Not rated (emergency): no increments to round to, so billed = measured; never charged.
    const measured = this.answerAt === null ? 0 : Math.ceil((endAt - this.answerAt) / 1000);
    await writeCdr(deps, {
      ...base,
      sipStatus,
      endAt,
      trunks: this.attempts.map((a) => ({ trunk: a.target, sipStatus: a.sipStatus, at: a.at })),
      ringAt: this.ringAt,
      answerAt: this.answerAt,
      billableSeconds: own ? own.rated.billableSeconds : measured,
      billedSeconds: own ? own.rated.billedSeconds : measured,
      cost: own?.cost ?? 0,
      balanceAfter: own?.settlement?.balanceAfter ?? null,
      charges: settled.filter((s) => s.cost > 0).map((s) => ({ account: s.account, reservation: s.reservationId, cost: s.cost })),
      hangupBy: this.stop?.by ?? (this.answerAt === null ? null : 'system'),
      hangupCause: this.stop?.cause ?? (extra.denyReason ?? base.denyReason ?? (this.answerAt === null ? `sip-${sipStatus}` : null)),
      recordingPath: this.recordingPath,
      media: this.media,
      mediaNote: this.mediaNote,
      transfers: this.transferLegs(endAt),
      ...flowExtra,
      ...extra,
    });
  }
}
