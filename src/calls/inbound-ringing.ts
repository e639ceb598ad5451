// Rings the destinations of a 400 call group by group, each group in the waves of its distribution
// strategy (002 §1.3 smart distribution); ring-all forks and CANCELs the losers. A leg to a number
// is an outbound call of the owner tenant: reserved on its account at its tariff before it rings.
// Seats whose agent is not available (issue 13) are left out of every wave; their last call end
// (any call, outbound too) counts for longest-idle.
import { agentState, wrapUpSecondsOf, type AgentState } from '../agents/agent-state.js';
import type { AgentStore } from '../agents/agent-store.js';
import { slotKey } from '../ledger/concurrency.js';
import { distribute } from '../policy/inbound/distribution.js';
import type { InboundConnect, RouteGroup, RouteMember } from '../policy/inbound/types.js';
import type { CallSession } from './call-session.js';
import type { InboundState } from './inbound-state.js';
import { hangUp } from './invite-attempt.js';
import { MemberLeg, type LegResult } from './member-dialer.js';
import type { RegistrarStore } from '../registrar/store.js';
import type { ConfigSnapshot } from '../config/types.js';
import { Reservation } from './reservation.js';
import { releaseEndpoint } from '../media/media-gateway.js';
import { isWebSocketContact, webRtcSignal } from '../policy/media-mode.js';
import { offerHeaders } from './session-timer.js';

export class Ringer {
  private legs: MemberLeg[] = [];
  private readonly pending: Promise<unknown>[] = [];
  /** Reservations of forwarded legs by member key. */
  readonly forwards = new Map<string, Reservation>();

  constructor(
    private readonly s: CallSession,
    private readonly d: InboundConnect,
    private readonly cfg: ConfigSnapshot,
    private readonly registrar: RegistrarStore,
    private readonly state: InboundState,
    private readonly agents?: Pick<AgentStore, 'records'>,
  ) {}

  /**
   * Agent state of the group's seats: those not available (skipped), and when each one's last
   * call ended (longest-idle). One Redis read; if it fails every seat counts as available, so a
   * Redis hiccup never leaves a 400 call unrung.
   */
  private async agentsOf(group: RouteGroup): Promise<{ unavailable: Map<string, AgentState>; lastEnd: Map<string, number> }> {
    const unavailable = new Map<string, AgentState>();
    const lastEnd = new Map<string, number>();
    const seats = group.members.filter((m): m is Extract<RouteMember, { kind: 'seat' }> => m.kind === 'seat');
    if (!this.agents || seats.length === 0) return { unavailable, lastEnd };
    const now = this.s.deps.clock.now();
    try {
      const records = await this.agents.records(seats.map((m) => m.seat));
      for (const m of seats) {
        const rec = records.get(m.seat);
        if (!rec) continue;
        const v = agentState(rec, wrapUpSecondsOf(this.cfg, m.seat), now);
        if (v.state !== 'available') unavailable.set(m.key, v.state);
        if (rec.lastEnd !== null) lastEnd.set(m.key, rec.lastEnd);
      }
    } catch (err) {
      this.s.log.warn({ err, group: group.id }, 'agent state not read: every seat counts as available');
    }
    return { unavailable, lastEnd };
  }

  /** CANCELs every leg still ringing. */
  stop(): void {
    for (const l of this.legs) l.cancel();
  }

  /** Waits for every leg to have ended (their reservations released, late answers hung up). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.pending);
  }

  /** Rings the groups in turn; resolves with the answered leg, or null. */
  async ring(): Promise<LegResult | null> {
    const { s, d } = this;
    s.ringAt = s.deps.clock.now();
    const tried: string[] = [];
    for (const group of d.groups) {
      if (s.aborted) break;
      const state = await this.state.take(d.number, group.id, group.strategy, s.deps.clock.now());
      const agents = await this.agentsOf(group);
      // The later of the two ends: a seat that just finished an outbound call is not idle.
      const lastEnd = new Map(state.lastEnd);
      for (const [k, t] of agents.lastEnd) lastEnd.set(k, Math.max(t, lastEnd.get(k) ?? -Infinity));
      const waves = distribute(group, { ...state, lastEnd, unavailable: new Set(agents.unavailable.keys()) }, d.callId);
      const skipped = [...agents.unavailable].map(([k, st]) => `${k.replace(/^\w+:/, '')} ${st}`);
      tried.push(`${group.id}(${group.strategy}): ${waves.length ? waves.map((w) => w.map((m) => m.key.replace(/^\w+:/, '')).join('+')).join(' > ') : 'nobody available'}`
        + (skipped.length ? ` [skipped ${skipped.join(', ')}]` : ''));
      for (const wave of waves) {
        if (s.aborted) break;
        const won = await this.ringWave(wave);
        if (won) {
          d.trace.push({ step: 'members', outcome: 'pass', detail: `rang ${tried.join('; overflow ')}; answered by ${won.member.key.replace(/^\w+:/, '')}` });
          return won;
        }
      }
    }
    const why = s.stop?.by === 'caller' ? 'caller hung up' : s.stop ? `stopped (${s.stop.cause})` : 'nobody answered';
    d.trace.push({ step: 'members', outcome: 'deny', detail: `rang ${tried.join('; overflow ')}; ${why}` });
    return null;
  }

  private memberLeg(member: RouteMember): MemberLeg {
    const { s, d, cfg } = this;
    const { deps } = s;
    const caller = d.caller?.national ?? (d.callerRaw || 'anonymous');
    const slotMember = `${d.callId}:${member.key}`;
    return new MemberLeg(deps.srf, member, {
      localSdp: s.epB?.local.sdp ?? s.req.body,
      // Issue 6 §3: the original caller id on the forwarded leg; the display name says which 400 number.
      from: `"${d.number}" <sip:${caller}@${deps.settings.sipDomain}>`,
      // RFC 4028 on every member leg, as on outbound trunk INVITEs: a member gone silent is found.
      ...(s.spec.sessionTimers ? { headers: offerHeaders(s.spec.sessionTimers) } : {}),
      clock: deps.clock,
      contactOf: async (seat) => {
        const b = (await this.registrar.lookup(seat, deps.clock.now())).sort((x, y) => y.registeredAt - x.registeredAt)[0];
        return b ? { uri: b.contact, webrtc: isWebSocketContact(b) } : null;
      },
      // A browser seat takes DTLS-SRTP only: FreeSWITCH answers the offer it makes in its 200.
      webRtcSeat: s.epA
        ? {
          answer: (offer, sendAnswer) => deps.media.answerLateOffer(offer, sendAnswer, s.epA ?? undefined).catch((err: unknown) => {
            s.log.warn({ err, member: member.key }, 'browser seat\'s offer not answered by the media server: its leg is hung up');
            throw err;
          }),
          release: (ep) => void releaseEndpoint(ep, s.log),
        }
        : webRtcSignal(s.req.body, null) ? 'caller-sdp' : null,
      trunkAuth: (id) => {
        const t = cfg.trunks.get(id);
        return t?.username && t.password ? { username: t.username, password: t.password } : undefined;
      },
      acquireTrunk: async (id) => {
        const t = cfg.trunks.get(id);
        return !!t && (await s.holdSlot(slotKey('trunk', id), slotMember, t.maxConcurrent)).ok;
      },
      releaseTrunk: (id) => s.dropSlot(slotKey('trunk', id), slotMember),
      onRinging: () => {
        if (!s.res.finalResponseSent && !s.aborted) s.res.send(180);
      },
    });
  }

  /** Rings the members of one wave together; the first to answer wins, the others are cancelled. */
  private async ringWave(wave: RouteMember[]): Promise<LegResult | null> {
    const { s } = this;
    const legs: MemberLeg[] = [];
    for (const member of wave) {
      if (s.aborted) break;
      if (member.kind === 'number' && !(await this.reserveForward(member))) {
        s.attempts.push({ target: member.key, sipStatus: 402, at: s.deps.clock.now(), note: 'insufficient-balance' });
        continue;
      }
      legs.push(this.memberLeg(member));
    }
    // The caller left (or shutdown came) while the legs' money was reserved: ring nobody.
    if (s.aborted) {
      for (const leg of legs) await this.releaseForward(leg.member);
      return null;
    }
    if (!legs.length) return null;
    this.legs = legs;
    return new Promise<LegResult | null>((resolve) => {
      let open = legs.length;
      let winner: LegResult | null = null;
      for (const leg of legs) {
        const p = leg.dial().then(async (r) => {
          s.attempts.push(...r.attempts);
          if (r.dialog && !winner && !s.aborted) {
            winner = r;
            for (const other of legs) if (other !== leg) other.cancel();
            resolve(r);
          } else if (r.dialog) {
            hangUp(r.dialog); // answered too late: the caller left or another member won
            if (r.endpoint) void releaseEndpoint(r.endpoint, s.log);
            if (r.trunkId) await s.dropSlot(slotKey('trunk', r.trunkId), `${this.d.callId}:${r.member.key}`);
          }
        }).catch((err: unknown) => s.log.warn({ err, member: leg.member.key }, 'member leg failed'))
          .finally(async () => {
            if (--open === 0 && !winner) resolve(null);
            if (winner?.member.key !== leg.member.key) await this.releaseForward(leg.member);
          });
        this.pending.push(p);
      }
    });
  }

  /** A forwarded leg to a number is an outbound call of the owner: reserved on its account. */
  private async reserveForward(member: Extract<RouteMember, { kind: 'number' }>): Promise<boolean> {
    const { s, d } = this;
    const tenant = this.cfg.tenants.get(d.owner);
    if (!tenant) return false;
    const r = new Reservation(s.deps.ledger, tenant.account, `${d.callId}:${member.key}`, {
      rate: member.rate, tenant: d.owner, seat: null, callee: member.number, caller: d.callerRaw, inviteAt: s.spec.inviteAt,
      direction: 'inbound-forward', cdrId: `in-${d.callId}:${member.key}`,
    }, s.deps.settings.chunkSeconds);
    try {
      if (!(await r.authorise(s.deps.clock.now())).ok) return false;
    } catch (err) {
      s.log.warn({ err }, 'forward leg reservation failed');
      return false;
    }
    this.forwards.set(member.key, r);
    s.addReservation(r);
    return true;
  }

  private async releaseForward(member: RouteMember): Promise<void> {
    const r = this.forwards.get(member.key);
    if (!r) return;
    this.forwards.delete(member.key);
    await this.s.dropReservation(r);
  }
}
