// One inbound 400 call from decision to CDR (issue 6 §3, §4): the pure decision (decideInbound),
// then the prompts through FreeSWITCH (welcome, PIN with play_and_get_digits, closed and
// not-in-service announcements, voicemail), the package reservation, ringing the destinations
// group by group in the order of their distribution strategy (ring-all forks and CANCELs the
// losers), the bridge, cut-off at the paid boundary, settlement, the missed-call rule and exactly
// one CDR whatever happens.
// Decisions taken here:
// - billed time runs from the destination's answer to the first BYE; IVR time (welcome, PIN) and
//   voicemail are not billed to the owner;
// - a call counts as missed (002 §3.5) when destinations were rung and none answered, the caller
//   hanging up while it rang included; PIN failures and closed/voicemail calls are not missed calls;
// - a seat is rung at its most recent registered contact; a number member through the owner's
//   outbound route, its leg reserved and settled on the owner tenant's account at its tariff.
import { join } from 'node:path';
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import { buildCdr, type Cdr, type CdrInput, type HangupBy } from '../cdr/model.js';
import type { CdrWriter } from '../cdr/writer.js';
import type { ConfigSnapshot } from '../config/types.js';
import { slotKey, type ConcurrencySlots } from '../ledger/concurrency.js';
import type { Ledger } from '../ledger/ledger.js';
import { PROMPT_MARGIN_MS, promptDeadlineMs } from '../media/deadlines.js';
import {
  breakApp, endpointApi, endpointApiOk, executeBounded, playBounded, releaseEndpoint, type Endpoint, type MediaGateway,
} from '../media/media-gateway.js';
import { decideInbound, regionLabel } from '../policy/inbound/decideInbound.js';
import { distribute } from '../policy/inbound/distribution.js';
import { missedCallCharge } from '../policy/inbound/missed-calls.js';
import { INBOUND_DENY, type InboundDenyReason } from '../policy/inbound/reasons.js';
import { carrierTrunkFor } from '../policy/inbound/sources.js';
import type { InboundCall, InboundConnect, InboundDecision, InboundReject, InboundVoicemail, RouteMember } from '../policy/inbound/types.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { reasonHeader } from '../policy/reasons.js';
import type { RegistrarStore } from '../registrar/store.js';
import type { Clock, Timer } from './clock.js';
import { InboundState, missedDay } from './inbound-state.js';
import { MemberLeg, type LegAttempt, type LegResult } from './member-dialer.js';
import { Meter } from './meter.js';
import type { LiveCall } from './outbound-call.js';

export interface InboundSettings {
  chunkSeconds: number;
  heartbeatMs: number;
  recordingsDir: string;
  defaultWarning: string;
  sipDomain: string;
}

export interface InboundDeps {
  srf: Srf;
  media: MediaGateway;
  ledger: Ledger;
  slots: ConcurrencySlots;
  cdr: CdrWriter;
  registrar: RegistrarStore;
  state: InboundState;
  clock: Clock;
  log: Logger;
  settings: InboundSettings;
  live: Map<string, LiveCall>;
  /** Told of every CDR written (metrics). */
  onCdr?: (cdr: Cdr) => void;
  /** A call meant to go through FreeSWITCH (anchored or recorded) did not: why. */
  onMediaDegraded?: (note: string) => void;
}

const SLOT_TTL_MS = 4 * 60 * 60 * 1000;
const CUTOFF_MARGIN_MS = 300;
const EXTEND_LEAD_MS = 5_000;
/** When the owner tenant configures none. */
const DEFAULT_WARNING_SECONDS = 30;

function userPart(value: string): string {
  const m = /sips?:([^@;>]+)@/i.exec(value) ?? /sips?:([^;>]+)/i.exec(value) ?? /tel:([^;>]+)/i.exec(value);
  return m?.[1] ?? value;
}

function ownerWarning(cfg: ConfigSnapshot, owner: string | null): string | undefined {
  return owner ? cfg.tenants.get(owner)?.announcements['credit-warning'] : undefined;
}

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
      callId: req.get('Call-ID'),
      sourceIp: req.source_address,
      sourcePort: Number(req.source_port),
      from: userPart(req.get('From')),
      to: userPart(req.uri),
    };
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
    let decision = decideInbound(call, cfg, { available: account ? account.available : null }, clock.now());
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
    if (ledgerError) log.error({ err: ledgerError.message }, 'package account read failed');
    await new InboundCallRun(this.deps, req, res, cfg, decision, inviteAt, log).run(cancelledEarly);
  }
}

class InboundCallRun {
  /** The caller CANCELled the INVITE. */
  private cancelled = false;
  /** The caller is gone (CANCEL, or BYE after an IVR answer). */
  private callerGone = false;
  /** end() came before the answer (shutdown, admin, a leg hung up during setup). */
  private stopRequested = false;
  /** That stop was ours (shutdown, admin): not a missed call the owner pays for. */
  private stoppedBySystem = false;
  private callerAnswered = false;
  /** Legs the far end already tore down, or we already sent BYE on. */
  private uasGone = false;
  private uacGone = false;
  private legs: MemberLeg[] = [];
  private legPromises: Promise<unknown>[] = [];
  private attempts: LegAttempt[] = [];
  private ringAt: number | null = null;
  private answerAt: number | null = null;
  /** The member that answered (kept even if the bridge then failed: its trunk slot is freed at the end). */
  private answered: RouteMember | null = null;
  private trunkId: string | null = null;
  private epA: Endpoint | undefined;
  private epB: Endpoint | undefined;
  /** Endpoint of an early-media announcement in progress (broken off on CANCEL / shutdown). */
  private announcing: Endpoint | undefined;
  private uas: Srf.Dialog | undefined;
  private uac: Srf.Dialog | undefined;
  private pkg: Meter | null = null;
  private legMeters = new Map<string, Meter>();
  private timers: Timer[] = [];
  private cutTimer: Timer | null = null;
  private ended = false;
  private hangupBy: HangupBy | null = null;
  private hangupCause: string | null = null;
  private recordingPath: string | null = null;
  private media: 'anchored' | 'direct' | null = null;
  /** Why the call was not anchored or recorded. */
  private mediaNote: string | null = null;
  private pinFailed = false;
  private finished: () => void = () => {};
  private readonly done: Promise<void>;
  private finishing: Promise<void> | null = null;

  constructor(
    private readonly deps: InboundDeps,
    private readonly req: Srf.SrfRequest,
    private readonly res: Srf.SrfResponse,
    private readonly cfg: ConfigSnapshot,
    private readonly decision: InboundDecision,
    private readonly inviteAt: number,
    private readonly log: Logger,
  ) {
    this.done = new Promise<void>((resolve) => { this.finished = resolve; });
  }

  private get aborted(): boolean {
    return this.cancelled || this.callerGone || this.stopRequested;
  }

  async run(cancelledEarly = false): Promise<void> {
    const d = this.decision;
    this.req.on('cancel', () => this.onCancel());
    if (cancelledEarly || (this.req as { canceled?: boolean }).canceled === true) this.onCancel();
    if (d.kind === 'reject') return this.reject(d);
    this.deps.live.set(d.callId, {
      callId: d.callId, tenant: d.owner, seat: '', callee: d.number, answeredAt: null,
      hangup: (cause) => this.end('system', cause),
    });
    try {
      if (this.aborted) return await this.abandon();
      if (d.kind === 'voicemail') return await this.voicemail(d);
      await this.connect(d);
    } catch (err) {
      this.log.error({ err: (err as Error).message, stack: (err as Error).stack }, 'inbound call failed');
      if (this.answerAt !== null) {
        // Both legs are up: tear them down together and settle what was talked.
        this.end('system', 'internal-error');
        return this.done;
      }
      this.hangupBy ??= 'system';
      this.hangupCause ??= 'internal-error';
      this.hangupUac();
      this.hangupUas();
      if (!this.res.finalResponseSent && !this.cancelled) this.res.send(500);
      await this.finish(this.callerAnswered ? 200 : this.cancelled ? 487 : 500);
    }
  }

  private onCancel(): void {
    if (this.callerAnswered || this.answerAt !== null || this.cancelled) return;
    if (!this.aborted) {
      this.hangupBy = 'caller';
      this.hangupCause = 'cancel';
    }
    this.cancelled = true;
    this.callerGone = true;
    this.stopRinging();
  }

  /** Stops whatever runs before the answer: member legs, prompts, PIN collection, recording. */
  private stopRinging(): void {
    for (const l of this.legs) l.cancel();
    for (const ep of [this.epA, this.announcing]) {
      if (ep) void breakApp(ep, this.log);
    }
  }

  /** BYE to the caller / member leg once; a BYE crossing the far end's is not an error. */
  private hangupUas(): void {
    if (!this.uas || this.uasGone) return;
    this.uasGone = true;
    safeDestroy(this.uas, this.log);
  }

  private hangupUac(): void {
    if (!this.uac || this.uacGone) return;
    this.uacGone = true;
    safeDestroy(this.uac, this.log);
  }

  private watchUas(uas: Srf.Dialog): void {
    uas.on('destroy', () => {
      this.uasGone = true;
      this.end('caller', 'bye');
    });
  }

  // ---- refusals ----------------------------------------------------------------------------------

  private async reject(d: InboundReject): Promise<void> {
    this.log.info({ reason: d.reason, status: d.sipStatus, detail: d.detail }, 'inbound call refused');
    if (d.announcement) await this.earlyMedia(d.announcement);
    if (!this.res.finalResponseSent && !this.cancelled) this.res.send(d.sipStatus, d.reasonHeader ? { headers: { Reason: d.reasonHeader } } : {});
    await this.writeCdr({ sipStatus: d.sipStatus, hangupCause: d.reason });
  }

  /** A refusal found while the call runs (package reservation refused, no media for a PIN). */
  private async refuseAtRuntime(reason: InboundDenyReason, detail: string, announcement: string | null): Promise<void> {
    const d = INBOUND_DENY[reason];
    this.log.info({ reason, detail }, 'inbound call refused');
    if (announcement) await this.earlyMedia(announcement);
    if (!this.res.finalResponseSent && !this.cancelled) this.res.send(d.sipStatus, d.text ? { headers: { Reason: reasonHeader(d.sipStatus, d.text) } } : {});
    this.decision.trace.push({ step: reason === 'media-unavailable' ? 'pin' : 'package', outcome: 'deny', detail });
    await this.finish(d.sipStatus, reason);
  }

  /** Plays a file as early media (183 from a FreeSWITCH endpoint), then returns. */
  private async earlyMedia(file: string): Promise<void> {
    const { media } = this.deps;
    if (!media.available || !this.req.body || this.aborted) return;
    let ep: Endpoint | undefined = this.epA;
    const own = !ep;
    try {
      ep ??= await media.endpointFor(this.req.body);
      if (this.aborted) return;
      this.announcing = ep;
      if (!this.res.finalResponseSent) this.res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
      await playBounded(ep, file, this.log, media.prompts);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file }, 'announcement failed');
    } finally {
      this.announcing = undefined;
      if (own) await releaseEndpoint(ep, this.log);
    }
  }

  /** Ends a call that was not bridged: caller gone, shutdown, a leg lost or failed during setup. */
  private async abandon(failStatus?: number): Promise<void> {
    if (failStatus && !this.aborted) {
      this.hangupBy ??= 'system';
      this.hangupCause ??= 'setup-failed';
    }
    this.hangupUac();
    this.hangupUas();
    await this.releaseMedia();
    if (this.callerAnswered) return this.finish(200);
    if (this.cancelled) return this.finish(487);
    const status = failStatus ?? (this.hangupBy === 'callee' ? 480 : 503);
    if (!this.res.finalResponseSent) {
      const text = status === 480 ? 'Callee hung up' : status === 500 ? 'Call setup failed' : 'Service unavailable';
      this.res.send(status, { headers: { Reason: reasonHeader(status, text) } });
    }
    return this.finish(status);
  }

  // ---- IVR ---------------------------------------------------------------------------------------

  /** Answers the caller through FreeSWITCH (for prompts, PIN, voicemail); false when the caller left first. */
  private async answerCaller(): Promise<boolean> {
    this.epA ??= await this.deps.media.endpointFor(this.req.body);
    if (this.aborted) return false;
    try {
      this.uas = await this.deps.srf.createUAS(this.req, this.res, { localSdp: this.epA.local.sdp });
    } catch (err) {
      if (this.cancelled) return false;
      throw err;
    }
    this.callerAnswered = true;
    this.watchUas(this.uas);
    // Shutdown while the 200 OK was being sent: stopRinging had no dialog to end yet.
    return !this.aborted;
  }

  /** 002 §1.3 密码保护: up to maxAttempts tries; 'gone' when the call was abandoned meanwhile. */
  private async collectPin(pin: NonNullable<InboundConnect['pin']>): Promise<'ok' | 'failed' | 'gone'> {
    for (let attempt = 1; attempt <= pin.maxAttempts; attempt++) {
      if (this.aborted) break;
      const len = pin.digits.length;
      // min max tries timeout terminators file invalid_file var_name regexp digit_timeout
      const args = [len, len, 1, 8000, '#', attempt === 1 || !pin.invalidPrompt ? pin.prompt : pin.invalidPrompt, 'silence_stream://250', 'dg_pin', '\\d+', 4000];
      // Deadline: the prompt, the first-digit timeout and one inter-digit timeout per digit.
      const ms = promptDeadlineMs(String(args[5]), this.deps.media.prompts) + 8000 + 4000 * len;
      const evt = await executeBounded<{ getHeader(h: string): string | undefined }>(this.epA!, 'play_and_get_digits', args.join(' '), ms, this.log);
      if (this.aborted) break;
      const digits = evt.getHeader('variable_dg_pin');
      if (digits === pin.digits) {
        this.decision.trace.push({ step: 'pin', outcome: 'pass', detail: `PIN correct on attempt ${attempt}` });
        return 'ok';
      }
      this.log.info({ attempt }, 'wrong PIN');
    }
    if (this.aborted) {
      this.decision.trace.push({ step: 'pin', outcome: 'skip', detail: `abandoned during the PIN (${this.hangupBy ?? 'system'} ${this.hangupCause ?? ''})`.trim() });
      return 'gone';
    }
    this.decision.trace.push({ step: 'pin', outcome: 'deny', detail: `wrong PIN ${pin.maxAttempts} times: hung up` });
    return 'failed';
  }

  private async voicemail(d: InboundVoicemail): Promise<void> {
    if (!this.deps.media.available || !this.req.body) {
      this.res.send(480, { headers: { Reason: reasonHeader(480, 'Outside service hours') } });
      return this.finish(480, 'closed');
    }
    if (!(await this.answerCaller())) return this.abandon();
    const day = new Date(this.inviteAt + 8 * 3600_000).toISOString().slice(0, 10);
    const path = join(this.deps.settings.recordingsDir, d.owner, day, `vm-${d.callId.replace(/[^A-Za-z0-9._-]/g, '_')}.wav`);
    try {
      if (d.action.prompt && !this.aborted) await playBounded(this.epA!, d.action.prompt, this.log, this.deps.media.prompts);
      if (!this.aborted) {
        this.recordingPath = path;
        await executeBounded(this.epA!, 'record', `${path} ${d.action.maxSeconds}`, d.action.maxSeconds * 1000 + PROMPT_MARGIN_MS, this.log);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'voicemail failed');
    }
    if (this.stopRequested && !this.callerGone) return this.abandon();
    if (!this.callerGone) {
      this.hangupBy = 'system';
      this.hangupCause = 'voicemail-done';
      this.hangupUas();
    } else this.hangupCause = 'voicemail';
    await this.releaseMedia();
    await this.finish(200);
  }

  // ---- connect -----------------------------------------------------------------------------------

  private async connect(d: InboundConnect): Promise<void> {
    const { deps } = this;
    // 002 §1.3 计费 / §2.3: reserve on the package before anything rings; refused = service stopped.
    this.pkg = new Meter(deps.ledger, d.account, d.callId, d.rate, deps.settings.chunkSeconds,
      JSON.stringify({ rate: d.rate, tenant: d.owner, callee: d.number, inviteAt: this.inviteAt, direction: 'inbound', cdrId: `in-${d.callId}` }));
    const r = await this.pkg.authorise(deps.clock.now());
    if (!r.ok) {
      this.pkg = null;
      if (this.aborted) return this.abandon();
      return this.refuseAtRuntime('package-used-up', `ledger: ${r.reason}, available ${r.available}`, this.announcement('notInService'));
    }
    // Heartbeats from the reservation on: IVR and ringing can outlast recovery's staleness limit.
    this.scheduleHeartbeat();
    if (this.aborted) return this.abandon();

    const ivr = d.welcome !== null || d.pin !== null;
    const anchored = deps.media.available && !!this.req.body;
    if (!anchored) this.degraded(d, deps.media.available ? 'the caller offered no SDP' : 'media server unavailable');
    if (d.pin && !anchored) return this.refuseAtRuntime('media-unavailable', 'a PIN is required and no media server is connected', null);
    if (anchored) {
      try {
        this.epA = await deps.media.endpointFor(this.req.body);
        this.epB = await deps.media.offeringEndpoint();
      } catch (err) {
        this.log.warn({ err }, 'media endpoints failed');
        this.degraded(d, `media endpoints failed (${(err as Error).message})`);
        await this.releaseMedia();
        if (d.pin && !this.aborted) return this.refuseAtRuntime('media-unavailable', 'media endpoints failed', null);
      }
    }
    if (this.aborted) return this.abandon();
    if (ivr && this.epA) {
      if (!(await this.answerCaller())) return this.abandon();
      if (d.welcome && !this.aborted) await playBounded(this.epA, d.welcome, this.log, this.deps.media.prompts).catch((err: Error) => this.log.warn({ err: err.message }, 'welcome failed'));
      if (d.pin && !this.aborted) {
        const pin = await this.collectPin(d.pin);
        if (pin === 'failed') {
          this.pinFailed = true;
          if (d.pinFailed && !this.aborted && this.epA) await playBounded(this.epA, d.pinFailed, this.log, this.deps.media.prompts).catch(() => {});
          if (!this.aborted) {
            this.hangupBy = 'system';
            this.hangupCause = 'pin-failed';
          }
          return this.abandon();
        }
      }
    }
    if (this.aborted) return this.abandon();

    const won = await this.ring(d);
    if (!won) return this.unanswered(d);
    await this.bridge(d, won);
  }

  private announcement(kind: 'notInService' | 'unavailable'): string | null {
    const plan = this.decision.number ? this.cfg.plans400?.get(this.decision.number) : undefined;
    return plan?.announcements[kind] ?? null;
  }

  /** Rings the groups in turn, each in the waves of its strategy; resolves with the answered leg. */
  private async ring(d: InboundConnect): Promise<LegResult | null> {
    const { deps } = this;
    this.ringAt = deps.clock.now();
    const tried: string[] = [];
    for (const group of d.groups) {
      if (this.aborted) break;
      const state = await deps.state.take(d.number, group.id, group.strategy, deps.clock.now());
      const waves = distribute(group, state, d.callId);
      tried.push(`${group.id}(${group.strategy}): ${waves.map((w) => w.map((m) => m.key.replace(/^\w+:/, '')).join('+')).join(' > ')}`);
      for (const wave of waves) {
        if (this.aborted) break;
        const won = await this.ringWave(d, wave);
        if (won) {
          d.trace.push({ step: 'members', outcome: 'pass', detail: `rang ${tried.join('; overflow ')}; answered by ${won.member.key.replace(/^\w+:/, '')}` });
          return won;
        }
      }
    }
    const why = this.callerGone ? 'caller hung up' : this.stopRequested ? `stopped (${this.hangupCause ?? 'system'})` : 'nobody answered';
    d.trace.push({ step: 'members', outcome: 'deny', detail: `rang ${tried.join('; overflow ')}; ${why}` });
    return null;
  }

  /** Rings the members of one wave together; the first to answer wins, the others are cancelled. */
  private async ringWave(d: InboundConnect, wave: RouteMember[]): Promise<LegResult | null> {
    const { deps } = this;
    const localSdp = this.epB?.local.sdp ?? this.req.body;
    const domain = deps.settings.sipDomain;
    const caller = d.caller?.national ?? (d.callerRaw || 'anonymous');
    const legs: MemberLeg[] = [];
    for (const member of wave) {
      if (this.aborted) break;
      if (member.kind === 'number' && !(await this.reserveLeg(d, member))) {
        this.attempts.push({ target: member.key, sipStatus: 402, at: deps.clock.now(), note: 'insufficient-balance' });
        continue;
      }
      legs.push(new MemberLeg(deps.srf, member, {
        localSdp,
        // Issue 6 §3: the original caller id on the forwarded leg; the display name says which 400 number.
        from: `"${d.number}" <sip:${caller}@${domain}>`,
        clock: deps.clock,
        contactOf: async (seat) => (await deps.registrar.lookup(seat, deps.clock.now())).sort((a, b) => b.registeredAt - a.registeredAt)[0]?.contact ?? null,
        trunkAuth: (id) => {
          const t = this.cfg.trunks.get(id);
          return t?.username && t.password ? { username: t.username, password: t.password } : undefined;
        },
        acquireTrunk: async (id) => {
          const t = this.cfg.trunks.get(id);
          return !!t && (await deps.slots.acquire(slotKey('trunk', id), `${d.callId}:${member.key}`, t.maxConcurrent, SLOT_TTL_MS)).ok;
        },
        releaseTrunk: async (id) => { await deps.slots.release(slotKey('trunk', id), `${d.callId}:${member.key}`); },
        onRinging: () => {
          if (!this.res.finalResponseSent && !this.aborted) this.res.send(180);
        },
      }));
    }
    // The caller left (or shutdown came) while the legs' money was reserved: ring nobody.
    if (this.aborted) {
      for (const leg of legs) if (leg.member.kind === 'number') await this.releaseLeg(leg.member);
      return null;
    }
    if (!legs.length) return null;
    this.legs = legs;
    return new Promise<LegResult | null>((resolve) => {
      let open = legs.length;
      let winner: LegResult | null = null;
      for (const leg of legs) {
        const p = leg.dial().then(async (r) => {
          this.attempts.push(...r.attempts);
          if (r.dialog && !winner && !this.aborted) {
            winner = r;
            for (const other of legs) if (other !== leg) other.cancel();
            resolve(r);
          } else if (r.dialog) {
            safeDestroy(r.dialog, this.log); // answered too late: the caller left or another member won
            if (r.trunkId) await deps.slots.release(slotKey('trunk', r.trunkId), `${d.callId}:${r.member.key}`);
          }
        }).catch((err: Error) => this.log.warn({ err: err.message, member: leg.member.key }, 'member leg failed'))
          .finally(async () => {
            if (--open === 0 && !winner) resolve(null);
            if (leg.member.kind === 'number' && winnerKey(winner) !== leg.member.key) {
              await this.releaseLeg(leg.member);
            }
          });
        this.legPromises.push(p);
      }
    });
  }

  /** A forwarded leg to a number is an outbound call of the owner: reserved on its account. */
  private async reserveLeg(d: InboundConnect, member: Extract<RouteMember, { kind: 'number' }>): Promise<boolean> {
    const tenant = this.cfg.tenants.get(d.owner);
    if (!tenant) return false;
    const meter = new Meter(this.deps.ledger, tenant.account, `${d.callId}:${member.key}`, member.rate, this.deps.settings.chunkSeconds,
      JSON.stringify({ rate: member.rate, tenant: d.owner, callee: member.number, inviteAt: this.inviteAt, direction: 'inbound-forward', cdrId: `in-${d.callId}` }));
    try {
      const r = await meter.authorise(this.deps.clock.now());
      if (!r.ok) return false;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'forward leg reservation failed');
      return false;
    }
    this.legMeters.set(member.key, meter);
    return true;
  }

  private async releaseLeg(member: RouteMember): Promise<void> {
    const meter = this.legMeters.get(member.key);
    if (!meter) return;
    this.legMeters.delete(member.key);
    await meter.finish(null, 'release', this.deps.clock.now()).catch((err: Error) => this.log.warn({ err: err.message }, 'leg release failed'));
  }

  private async bridge(d: InboundConnect, won: LegResult): Promise<void> {
    const { deps } = this;
    this.uac = won.dialog!;
    this.answered = won.member;
    this.trunkId = won.trunkId ?? null;
    // Watch the member leg from now on: it may hang up while the caller leg is being answered.
    this.uac.on('destroy', () => { this.uacGone = true; this.end('callee', 'bye'); });
    if (this.aborted) return this.abandon();
    this.media = this.epA && this.epB ? 'anchored' : 'direct';
    try {
      if (this.epA && this.epB) {
        await this.epB.modify(this.uac.remote.sdp);
        if (this.aborted) return await this.abandon();
        if (!this.callerAnswered) {
          this.uas = await deps.srf.createUAS(this.req, this.res, { localSdp: this.epA.local.sdp });
          this.callerAnswered = true;
          this.watchUas(this.uas);
        }
        await this.epA.bridge(this.epB);
        if (d.recording && !this.aborted) await this.startRecording(d);
      } else {
        this.uas = await deps.srf.createUAS(this.req, this.res, { localSdp: this.uac.remote.sdp });
        this.callerAnswered = true;
        this.watchUas(this.uas);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'caller leg failed at answer');
      return this.abandon(500);
    }
    // A leg hung up, or shutdown came, while the caller leg was being answered: end both now.
    if (this.aborted) return this.abandon();
    this.answerAt = deps.clock.now();
    const answerAt = this.answerAt;
    const live = deps.live.get(d.callId);
    if (live) {
      live.answeredAt = answerAt;
      live.seat = won.member.kind === 'seat' ? won.member.seat : '';
    }
    this.log.info({ member: won.member.key, maxBilledSeconds: this.pkg?.maxBilled }, 'inbound call answered');
    this.epA?.on('destroy', () => this.end('system', 'media-lost'));
    this.epB?.on('destroy', () => this.end('system', 'media-lost'));
    // The cut-off is armed before anything can fail; a lost heartbeat is recovered by the next one.
    this.scheduleBoundary();
    try {
      await Promise.all(this.meters().map((m) => m.heartbeat(answerAt, answerAt)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'heartbeat at answer failed');
    }
    await deps.state.answered(won.member.key, answerAt).catch(() => {});
    await this.done;
  }

  private meters(): Meter[] {
    const out: Meter[] = [];
    if (this.pkg) out.push(this.pkg);
    const leg = this.answered ? this.legMeters.get(this.answered.key) : undefined;
    if (leg) out.push(leg);
    return out;
  }

  /** Not anchored through the media server: said in the log, the CDR and /metrics. */
  private degraded(d: InboundConnect, why: string): void {
    this.mediaNote = d.recording ? `not recorded: ${why}` : `bridged direct: ${why}`;
    this.log.warn({ mediaNote: this.mediaNote }, 'call not anchored through the media server');
    this.deps.onMediaDegraded?.(this.mediaNote);
  }

  private async startRecording(d: InboundConnect): Promise<void> {
    const day = new Date(this.inviteAt + 8 * 3600_000).toISOString().slice(0, 10);
    const path = join(this.deps.settings.recordingsDir, d.owner, day, `${d.callId.replace(/[^A-Za-z0-9._-]/g, '_')}.wav`);
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

  /** Nobody answered: the missed-call rule, the unavailable announcement, 480 (or BYE). */
  private async unanswered(d: InboundConnect): Promise<void> {
    if (!this.aborted) {
      const file = d.unavailable;
      if (this.callerAnswered) {
        if (file && this.epA) await playBounded(this.epA, file, this.log, this.deps.media.prompts).catch(() => {});
      } else if (file) await this.earlyMedia(file);
    }
    if (this.aborted) return this.abandon();
    this.hangupCause = 'no-answer';
    if (this.callerAnswered) {
      this.hangupBy = 'system';
      this.hangupUas();
    } else if (!this.res.finalResponseSent) this.res.send(480, { headers: { Reason: reasonHeader(480, 'No answer') } });
    await this.releaseMedia();
    await this.finish(this.callerAnswered ? 200 : 480);
  }

  // ---- answered call -----------------------------------------------------------------------------

  /** Heartbeats every live reservation of the call (package, legs ringing or answered). */
  private scheduleHeartbeat(): void {
    const { deps } = this;
    const beat = (): void => {
      if (this.ended) return;
      const now = deps.clock.now();
      const answered = new Set(this.answerAt !== null ? this.meters() : []);
      const all = [...(this.pkg ? [this.pkg] : []), ...this.legMeters.values()];
      void Promise.all(all.map((m) => m.heartbeat(now, answered.has(m) ? this.answerAt ?? undefined : undefined)))
        .then((rs) => {
          // Recovery took this call (we were presumed dead): stop, it was already settled.
          if (rs.some((r) => r && !r.ok && r.reason === 'RECOVERED')) this.end('system', 'recovered-elsewhere');
        })
        .catch((err: Error) => this.log.warn({ err: err.message }, 'heartbeat failed'));
      this.timers.push(deps.clock.setTimeout(beat, deps.settings.heartbeatMs));
    };
    this.timers.push(deps.clock.setTimeout(beat, deps.settings.heartbeatMs));
  }

  /** Cut-off at the first paid boundary of the call's reservations (issue 4 §4), extended in chunks. */
  private scheduleBoundary(): void {
    const limits = this.meters().map((m) => m.maxBilled).filter((x): x is number => x !== null);
    if (!limits.length || this.answerAt === null || this.ended) return;
    const { clock } = this.deps;
    const cutAt = this.answerAt + Math.min(...limits) * 1000 - CUTOFF_MARGIN_MS;
    const warningSeconds = this.cfg.tenants.get(this.decision.owner ?? '')?.warningSeconds ?? DEFAULT_WARNING_SECONDS;
    const warnAt = cutAt - warningSeconds * 1000;
    const now = clock.now();
    // The cut-off at the current boundary is armed now; a successful extension moves it. So a slow
    // or hung extension can never let the call run past what is reserved.
    if (this.cutTimer) clock.clearTimeout(this.cutTimer);
    this.cutTimer = clock.setTimeout(() => this.end('cutoff', 'balance-exhausted'), Math.max(0, cutAt - now));
    this.timers.push(this.cutTimer);
    this.timers.push(clock.setTimeout(() => void this.tryExtend(warnAt), Math.max(0, warnAt - EXTEND_LEAD_MS - now)));
  }

  private async tryExtend(warnAt: number): Promise<void> {
    if (this.ended) return;
    const { clock } = this.deps;
    let ok = true;
    try {
      for (const m of this.meters()) ok = (await m.extend(clock.now())) && ok;
    } catch (err) {
      ok = false;
      this.log.warn({ err: (err as Error).message }, 'reservation extension failed');
    }
    if (this.ended) return;
    if (ok) return this.scheduleBoundary();
    // 002 §2.3: the package (or the forwarding account) is used up: warn; the cut-off is armed.
    const now = clock.now();
    this.timers.push(clock.setTimeout(() => void this.warn(), Math.max(0, warnAt - now)));
  }

  private async warn(): Promise<void> {
    if (this.ended || !this.epA) return;
    const prompt = ownerWarning(this.cfg, this.decision.owner) ?? this.deps.settings.defaultWarning;
    await endpointApi(this.epA, 'uuid_broadcast', `${this.epA.uuid} ${prompt} aleg`).catch(() => {});
  }

  /** Ends the call once, from whichever side or timer got there first; either side ends both. */
  private end(by: HangupBy, cause: string): void {
    if (this.ended) return;
    if (this.answerAt === null) {
      // Not bridged yet (shutdown, a hangup during IVR or setup): stop ringing and prompts; the
      // flow sees `aborted` at its next step and ends the call there. The first reason is kept.
      if (!this.aborted) {
        this.hangupBy = by;
        this.hangupCause = cause;
        this.stoppedBySystem = by === 'system';
      }
      this.stopRequested = true;
      if (by === 'caller') this.callerGone = true;
      this.stopRinging();
      return;
    }
    this.ended = true;
    this.hangupBy = by;
    this.hangupCause = cause;
    const endAt = this.deps.clock.now();
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    if (by !== 'caller') this.hangupUas();
    if (by !== 'callee') this.hangupUac();
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

  // ---- settlement and CDR ------------------------------------------------------------------------

  /** Settles money, frees slots and member state, writes the one CDR (once). */
  private finish(sipStatus: number, reason?: InboundDenyReason, endAt = this.deps.clock.now()): Promise<void> {
    this.finishing ??= this.doFinish(sipStatus, reason, endAt).finally(() => this.finished());
    return this.finishing;
  }

  private async doFinish(sipStatus: number, reason: InboundDenyReason | undefined, endAt: number): Promise<void> {
    const { deps } = this;
    const d = this.decision;
    this.ended = true;
    deps.live.delete(d.callId);
    for (const t of this.timers) deps.clock.clearTimeout(t);
    // Whatever path got here, no FreeSWITCH endpoint outlives the call.
    await this.releaseMedia();
    await Promise.allSettled(this.legPromises);
    let billable = 0, billed = 0, cost = 0, balanceAfter: number | null = null;
    const answeredMs = this.answerAt !== null ? endAt - this.answerAt : null;
    try {
      if (this.pkg) {
        const { rated, settlement } = await this.pkg.finish(answeredMs, `in-${d.callId}`, endAt);
        billable = rated.billableSeconds;
        billed = rated.billedSeconds;
        cost = settlement && answeredMs !== null ? rated.cost : 0;
        balanceAfter = settlement?.balanceAfter ?? null;
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'package settlement failed');
    }
    for (const [key, meter] of [...this.legMeters]) {
      try {
        const { rated, settlement } = await meter.finish(key === this.answered?.key ? answeredMs : null, `in-${d.callId}:${key}`, endAt);
        if (settlement && key === this.answered?.key && answeredMs !== null) {
          this.log.info({ account: meter.account, cost: rated.cost }, 'forwarded leg settled on the owner account');
        }
      } catch (err) {
        this.log.error({ err: (err as Error).message, leg: key }, 'leg settlement failed');
      }
    }
    this.legMeters.clear();
    try {
      // 002 §3.5: rung, nobody answered → counted; past the 100th of the day it is charged. A member
      // that answered (bridge then failed) or our own shutdown is not the caller missing us.
      if (d.kind === 'connect' && this.ringAt !== null && this.answerAt === null && !this.pinFailed
        && this.answered === null && !this.stoppedBySystem) {
        const zone = this.cfg.server?.timezone || 'Asia/Shanghai';
        const ordinal = await deps.state.countMissed(d.number, missedDay(this.inviteAt, zone));
        const charge = missedCallCharge(ordinal, endAt - this.inviteAt, d.rate);
        d.trace.push({ step: 'missed-call', outcome: 'pass', detail: charge.detail });
        if (charge.charged && charge.cost > 0) {
          const r = await deps.ledger.charge(d.account, `missed:${d.callId}`, 'missed-call', charge.cost,
            `missed call ${ordinal} of ${missedDay(this.inviteAt, zone)} on ${d.number} (002 §3.5)`, endAt);
          cost = r.paid < 0 ? -r.paid : charge.cost;
          billed = charge.billedSeconds;
          balanceAfter = r.balanceAfter;
        }
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'missed-call settlement failed');
    }
    if (this.answered && this.answerAt !== null) await deps.state.ended(this.answered.key, endAt).catch(() => {});
    if (this.trunkId && this.answered) await deps.slots.release(slotKey('trunk', this.trunkId), `${d.callId}:${this.answered.key}`).catch(() => {});
    await this.writeCdr({
      sipStatus, endAt, ringAt: this.ringAt, answerAt: this.answerAt,
      seat: this.answerAt !== null && this.answered?.kind === 'seat' ? this.answered.seat : null,
      billableSeconds: billable, billedSeconds: billed, cost, balanceAfter,
      hangupBy: this.hangupBy ?? (this.answerAt === null ? null : 'system'),
      hangupCause: this.hangupCause ?? (reason ?? (this.answerAt === null ? `sip-${sipStatus}` : null)),
      recordingPath: this.recordingPath,
      media: this.media,
      mediaNote: this.mediaNote,
      ...(reason ? { decision: 'deny' as const, denyReason: reason } : {}),
    });
  }

  private async writeCdr(extra: Partial<CdrInput>): Promise<Cdr | null> {
    const d = this.decision;
    const base: CdrInput = {
      cdrId: `in-${d.callId}`,
      callId: d.callId,
      direction: 'inbound',
      tenant: d.owner,
      seat: null,
      callerRaw: d.callerRaw,
      // The caller as kept on the forwarded leg; for inbound CDRs class and region describe the caller.
      callerPresented: d.caller?.national ?? null,
      calleeRaw: userPart(this.req.uri),
      calleeNormalised: d.number,
      numberClass: d.caller?.class ?? null,
      region: regionLabel(d.caller),
      decision: d.kind === 'reject' ? 'deny' : 'allow',
      denyReason: d.kind === 'reject' ? d.reason : null,
      sipStatus: 0,
      inviteAt: this.inviteAt,
      endAt: this.deps.clock.now(),
      configVersion: d.configVersion,
      trunks: this.attempts.map((a) => ({ trunk: a.target, sipStatus: a.sipStatus, at: a.at })),
      trace: [
        ...d.trace.map((t) => ({ step: t.step, outcome: t.outcome, detail: t.detail })),
        ...(d.kind !== 'reject' ? [{ step: 'branch', outcome: 'pass', detail: `time ${d.branch.time ?? '-'}, region ${d.branch.region ?? '-'}` }] : []),
      ],
    };
    const cdr = buildCdr({ ...base, ...extra });
    try {
      await this.deps.cdr.write(cdr);
      this.deps.onCdr?.(cdr);
      this.log.info({ cdr: { id: cdr.cdrId, decision: cdr.decision, reason: cdr.denyReason, status: cdr.sipStatus, seat: cdr.seat, cost: cdr.cost } }, 'cdr');
      return cdr;
    } catch (err) {
      this.log.error({ err: (err as Error).message, cdr }, 'cdr write failed');
      return null;
    }
  }
}

function winnerKey(r: LegResult | null): string | undefined {
  return r?.member.key;
}

/** BYE on a dialog; one that crosses the far end's (dialog already gone) is logged, never thrown. */
function safeDestroy(dialog: Srf.Dialog, log: Logger): void {
  Promise.resolve().then(() => dialog.destroy()).catch((err: Error) => log.debug({ err: err.message }, 'BYE failed (leg already gone)'));
}
