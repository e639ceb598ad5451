// The switch core of the stand-in: channels (one per answered INVITE), the event bus every event socket
// listener reads from, the API commands and the dialplan applications fsmrf drives over sendmsg.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { header, headers as headerValues, hostPortOf, param, uriOf, userOf, type SipMessage } from '../sip/message.js';
import { FsEvent, eventDates, nameEvent } from './event.js';
import { cmdHeader, EslListener, type EslCommand, type EslHost } from './esl.js';
import { buildAnswer, buildOffer, answerDirection, buildWebRtcAnswer, chooseCodec, parseSdp, type LocalSdp, type SdpCodec } from './sdp.js';
import { FRAME_MS, LEAD_FRAMES, MediaModel, type BridgeLoop } from './media.js';
import { loadProfile, type ThreePcc } from './profile.js';
import { RtpPort } from './rtp.js';
import { SipAgent, type Peer, type SipCall } from './sip.js';
import { Timers } from './timers.js';
import { wavDurationMs, writeWav } from './wav.js';

export interface FreeSwitchOptions {
  /** Loopback address for the event socket and SIP (default 127.0.0.1). */
  host?: string;
  /** Event socket password (default ClueCon). */
  password?: string;
  /** Event socket port (default: any free one); a test restarting the switch reuses it. */
  eslPort?: number;
  /** switch.conf sessions-per-second (what `status` reports as the max; FreeSWITCH's default is 30). */
  sessionsPerSecond?: number;
  /** Sofia profile name reported by `sofia status` (default drachtio_mrf). */
  profile?: string;
  /** HEARTBEAT interval (FS default 20 s). */
  heartbeatMs?: number;
  /** Delay between INVITE and 200 OK (FS answers in a few ms). */
  answerDelayMs?: number;
  /** Playback length for files with no duration rule and no readable WAV on disk. */
  defaultPlaybackMs?: number;
  /** What playback does with a file that neither exists nor matches a duration rule. */
  missingFile?: 'play' | 'not-found';
  /** Called with every SIP and ESL frame, for debugging. */
  trace?: (line: string) => void;
  /**
   * The sofia profile (a path, or the XML text) whose `enable-3pcc` decides what a no-SDP INVITE
   * gets: 480 when off (FreeSWITCH's default), 200 OK with an offer when true or proxy.
   * Default: <repo>/freeswitch/sip_profiles/drachtio_mrf.xml.
   */
  profileXml?: string;
  /** Overrides the profile's enable-3pcc. */
  enable3pcc?: boolean | 'proxy';
  /**
   * Default: true when the profile sets no rtp-timer-name, as the real server then behaves: media
   * reads on a channel whose peer sends no RTP return only on the RTP poll timeout, so playback
   * there stalls, a time-limited record never ends and a bridged channel holds queued
   * applications. false: every leg behaves as if its peer sent RTP (what rtp-timer-name does).
   */
  silentLegStalls?: boolean;
  /** The RTP poll timeout of a silent leg (switch_rtp.c poll_sec: 5 s). */
  silentPollMs?: number;
}

export interface ChannelInfo {
  uuid: string;
  callId: string;
  name: string;
  state: string;
  callState: string;
  answerState: string;
  bridgedTo?: string;
  currentApplication?: string;
  /** The RTP port in this channel's SDP, and how many packets the peer sent to it. */
  rtpPort: number;
  rtpPackets: number;
  /** Applications sent with sendmsg that wait in the channel's queue (held while bridged and silent). */
  queued: string[];
  recordings: string[];
  variables: Record<string, string>;
}

export interface LoggedEvent { at: number; name: string; uuid?: string; event: FsEvent }

// ---- channel model ----

const CS_NUMBER: Record<string, number> = {
  CS_NEW: 0, CS_INIT: 1, CS_ROUTING: 2, CS_SOFT_EXECUTE: 3, CS_EXECUTE: 4, CS_EXCHANGE_MEDIA: 5, CS_PARK: 6,
  CS_CONSUME_MEDIA: 7, CS_HIBERNATE: 8, CS_RESET: 9, CS_HANGUP: 10, CS_REPORTING: 11, CS_DESTROY: 12,
};
const CCS_NUMBER: Record<string, number> = { DOWN: 0, DIALING: 1, RINGING: 2, EARLY: 3, ACTIVE: 4, HELD: 5, RING_WAIT: 6, HANGUP: 7, UNHELD: 8 };

/** Q.850 values of the causes the stand-in produces (switch_types.h). */
const CAUSES: Record<string, number> = {
  UNALLOCATED_NUMBER: 1, NO_ROUTE_DESTINATION: 3, NORMAL_CLEARING: 16, USER_BUSY: 17, NO_USER_RESPONSE: 18,
  NO_ANSWER: 19, CALL_REJECTED: 21, DESTINATION_OUT_OF_ORDER: 27, NORMAL_UNSPECIFIED: 31,
  NORMAL_TEMPORARY_FAILURE: 41, INCOMPATIBLE_DESTINATION: 88, MANDATORY_IE_MISSING: 96, RECOVERY_ON_TIMER_EXPIRE: 102,
  ORIGINATOR_CANCEL: 487, LOSE_RACE: 502, MANAGER_REQUEST: 503, MEDIA_TIMEOUT: 604,
};

/** Events that carry the channel variables (switch_channel_event_set_data). */
const VAR_EVENTS = new Set([
  'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID', 'CHANNEL_ANSWER', 'CHANNEL_PARK', 'CHANNEL_UNPARK',
  'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE', 'REQUEST_PARAMS', 'CHANNEL_DATA', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE',
  'CHANNEL_DESTROY', 'SESSION_HEARTBEAT', 'API', 'RECORD_START', 'RECORD_STOP', 'PLAYBACK_START', 'PLAYBACK_STOP',
  'CALL_UPDATE', 'MEDIA_BUG_START', 'MEDIA_BUG_STOP', 'CHANNEL_HOLD', 'CHANNEL_UNHOLD', 'CUSTOM',
]);

/** `read`: a media read that was blocked returned (an RTP packet, or a private event woke it). */
type Wake = { kind: 'timeout' } | { kind: 'break' } | { kind: 'hangup' } | { kind: 'read' } | { kind: 'dtmf'; digit: string };

/** One application invocation; apps are async functions that sleep through `wait`. */
class AppRun {
  stopped: 'break' | 'hangup' | undefined;
  /** A hangup sent with sendmsg while this media application ran: it runs nested, when the app returns. */
  nestedHangup: QueuedApp | undefined;
  private waiter: { resolve: (w: Wake) => void; dtmf: boolean; timer: unknown; breakWakes: boolean } | undefined;

  constructor(
    readonly app: string,
    readonly arg: string,
    readonly uuid: string | undefined,
    private readonly timers: Timers,
    private readonly dtmfQueue: string[],
  ) {}

  /**
   * Sleeps `ms` (forever when undefined), waking early on break or hangup, and -- when `dtmf` -- on
   * a digit from the channel's DTMF queue (digits wait there until an application reads them, as in FS).
   */
  wait(ms: number | undefined, dtmf = false, breakWakes = true): Promise<Wake> {
    if (this.stopped) return Promise.resolve({ kind: this.stopped });
    const queued = dtmf ? this.dtmfQueue.shift() : undefined;
    if (queued !== undefined) return Promise.resolve({ kind: 'dtmf', digit: queued });
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : this.timers.set(() => this.wake({ kind: 'timeout' }), ms);
      this.waiter = { resolve, dtmf, timer, breakWakes };
    });
  }

  /**
   * A blocked media read: returns on `readReturned` (RTP, a queued private event), on the poll
   * timeout `ms`, or on hangup. uuid_break only sets CF_BREAK, which the app sees after the read.
   */
  blockedRead(ms: number | undefined): Promise<Wake> {
    return this.wait(ms, false, false);
  }

  readReturned(): void {
    if (this.waiter && !this.waiter.breakWakes) this.wake({ kind: 'read' });
  }

  /** A private event arrived for this channel: the read returns and the application stops. */
  interrupt(): void {
    if (!this.stopped) this.stopped = 'break';
    this.wake({ kind: 'break' });
  }

  /** A digit was queued on the channel: hand it over if this application is listening for DTMF. */
  dtmfArrived(): void {
    if (!this.waiter?.dtmf) return;
    const digit = this.dtmfQueue.shift();
    if (digit !== undefined) this.wake({ kind: 'dtmf', digit });
  }

  private wake(w: Wake): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    this.timers.clear(waiter.timer);
    waiter.resolve(w);
  }

  stop(kind: 'break' | 'hangup'): void {
    if (!this.stopped || kind === 'hangup') this.stopped = kind;
    if (kind === 'hangup' || this.waiter?.breakWakes !== false) this.wake({ kind });
  }
}

interface QueuedApp { app: string; arg: string; eventUuid?: string; loops: number }
interface Recording { path: string; startedAt: number; limitTimer?: unknown }

class Channel {
  readonly vars = new Map<string, string>();
  state = 'CS_NEW';
  callState = 'DOWN';
  answerState = 'ringing';
  hangupCause: string | undefined;
  down = false;
  tornDown = false;
  readonly createdUs = nowUs();
  answeredUs = 0;
  hangupUs = 0;
  bridgedUs = 0;
  queue: QueuedApp[] = [];
  running: AppRun | undefined;
  kickTimer: unknown;
  socketApp: { uuid: string; data: string } | undefined;
  bridgedTo: string | undefined;
  otherType: 'originator' | 'originatee' | undefined;
  lastPartner: string | undefined;
  readonly recordings = new Map<string, Recording>();
  readonly dtmfBuffer: string[] = [];
  codec: SdpCodec | undefined;
  dtmfPt: number | undefined;
  local: LocalSdp | undefined;
  sdpVersion: number;
  readonly sessId: number;
  /** Set while the channel runs the uuid_bridge audio loop, where queued applications wait for media. */
  bridgeLoop: BridgeLoop | undefined;
  /** Queued applications the bridge's soft-execute step still runs before the loop holds the rest. */
  bridgeAllowance = 0;
  /** uuid_bridge is moving the channel out of what it did: nothing queued runs until soft-execute. */
  transferring = false;

  constructor(
    readonly uuid: string,
    /** The SIP call of a sofia channel; null for a `null/…` channel made by `originate`. */
    readonly sip: SipCall | null,
    readonly name: string,
    readonly profile: Record<string, string>,
    readonly rtp: RtpPort | undefined,
  ) {
    this.sessId = Math.floor(Date.now() / 1000) - 1_000_000 + Math.floor(Math.random() * 1000);
    this.sdpVersion = this.sessId + 1;
  }

  get rtpPort(): number {
    return this.rtp?.port ?? 0;
  }

  /** mod_loopback's null endpoint (originate null/…): outbound, no SIP, no media. */
  get isNull(): boolean {
    return this.sip === null;
  }

  setVar(name: string, value: string | number | undefined): void {
    // switch_channel_set_variable replaces: the variable moves to the end of the list.
    this.vars.delete(name);
    if (value !== undefined) this.vars.set(name, String(value));
  }
}

function nowUs(): number {
  return Date.now() * 1000 + Math.floor(Math.random() * 1000);
}

/** Playback length rules (setPlaybackDuration): later rules win. */
interface DurationRule { pattern: string | RegExp; ms: number }

export class FreeSwitchCore implements EslHost {
  readonly coreUuid = randomUUID();
  readonly hostname = 'dialgate-bench';
  readonly password: string;
  readonly profile: string;
  readonly host: string;
  readonly timers = new Timers();
  readonly channels = new Map<string, Channel>();
  readonly listeners = new Set<EslListener>();
  readonly events: LoggedEvent[] = [];
  readonly durationRules: DurationRule[] = [];
  private readonly startedAt = Date.now();
  private seq = 1;
  private sessionsSinceStartup = 0;
  private peakSessions = 0;
  /** switch_time.c's per-second session counter: sessions this second, the last whole second, peaks. */
  private spsNow = 0;
  private spsLast = 0;
  private spsPeak = 0;
  private spsPeak5m = 0;
  private readonly spsHistory: number[] = [];
  private sessionId = 0;
  readonly threePcc: ThreePcc;
  /** The profile's codec order when inbound-codec-negotiation is greedy (profile.ts). */
  private readonly greedyPrefs: string[] | null;
  readonly media: MediaModel;
  private readonly sockets = new Set<net.Socket>();
  sip!: SipAgent;
  server!: net.Server;
  eslPort = 0;
  private stopped = false;

  constructor(private readonly opts: FreeSwitchOptions) {
    this.password = opts.password ?? 'ClueCon';
    this.profile = opts.profile ?? 'drachtio_mrf';
    this.host = opts.host ?? '127.0.0.1';
    const forced = opts.enable3pcc;
    const profile = loadProfile(opts.profileXml);
    this.threePcc = forced === undefined ? profile.threePcc : forced === 'proxy' ? 'proxy' : forced ? 'on' : 'off';
    this.greedyPrefs = profile.greedyPrefs;
    // A profile with rtp-timer-name reads every 20 ms whether or not the peer sends RTP.
    this.media = new MediaModel(opts.silentLegStalls ?? profile.rtpTimer === null, opts.silentPollMs ?? 5000);
  }

  async start(): Promise<void> {
    this.sip = await SipAgent.start(this.host, {
      onInvite: (call) => this.onInvite(call),
      onAck: (call, ack) => this.onAck(call, ack),
      onReinvite: (call, req) => this.onReinvite(call, req),
      onBye: (call) => this.withChannel(call, (ch) => {
        ch.setVar('sip_hangup_disposition', 'recv_bye');
        this.hangup(ch, 'NORMAL_CLEARING');
      }),
      onCancel: (call) => this.withChannel(call, (ch) => this.hangup(ch, 'ORIGINATOR_CANCEL')),
      onInfo: (call, req) => this.withChannel(call, (ch) => this.onInfo(ch, req)),
      onAckTimeout: (call) => this.withChannel(call, (ch) => this.hangup(ch, 'RECOVERY_ON_TIMER_EXPIRE')),
    }, this.timers, (dir, text, peer) => this.trace(`SIP ${dir === 'in' ? '<==' : '==>'} ${peer.address}:${peer.port}\n${text}`));
    this.server = net.createServer((sock) => this.onInboundConnection(sock));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.eslPort ?? 0, this.host, () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.eslPort = (this.server.address() as net.AddressInfo).port;
    const hb = this.opts.heartbeatMs ?? 20_000;
    this.timers.every(() => this.heartbeat(), hb);
    this.timers.every(() => this.secondTick(), 1000);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timers.clearAll();
    for (const l of [...this.listeners]) l.destroy();
    for (const s of this.sockets) s.destroy();
    this.sip.close();
    for (const ch of this.channels.values()) ch.rtp?.close();
    this.channels.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  trace(line: string): void {
    this.opts.trace?.(line);
  }

  // ---- events ----

  private newEvent(name: string, file: string, func: string, line: number, subclass?: string): FsEvent {
    const ev = new FsEvent(name, subclass);
    const d = eventDates();
    ev.add('Event-Name', name);
    if (subclass) ev.add('Event-Subclass', subclass);
    ev.add('Core-UUID', this.coreUuid)
      .add('FreeSWITCH-Hostname', this.hostname)
      .add('FreeSWITCH-Switchname', this.hostname)
      .add('FreeSWITCH-IPv4', this.host)
      .add('FreeSWITCH-IPv6', '::1')
      .add('Event-Date-Local', d.local)
      .add('Event-Date-GMT', d.gmt)
      .add('Event-Date-Timestamp', d.micros)
      .add('Event-Calling-File', file)
      .add('Event-Calling-Function', func)
      .add('Event-Calling-Line-Number', line)
      .add('Event-Sequence', this.seq++);
    return ev;
  }

  private addProfile(ev: FsEvent, prefix: string, ch: Channel): void {
    const p = ch.profile;
    if (ch.isNull) {
      this.addNullProfile(ev, prefix, ch);
      return;
    }
    ev.add(`${prefix}-Direction`, 'inbound')
      .add(`${prefix}-Logical-Direction`, 'inbound')
      .add(`${prefix}-Dialplan`, 'XML')
      .add(`${prefix}-Caller-ID-Name`, p['callerIdName'])
      .add(`${prefix}-Caller-ID-Number`, p['callerIdNumber'])
      .add(`${prefix}-Orig-Caller-ID-Name`, p['origCallerIdName'])
      .add(`${prefix}-Network-Addr`, p['networkAddr'])
      .add(`${prefix}-Destination-Number`, p['destinationNumber'])
      .add(`${prefix}-Unique-ID`, ch.uuid)
      .add(`${prefix}-Source`, 'mod_sofia')
      .add(`${prefix}-Context`, 'mrf')
      .add(`${prefix}-Channel-Name`, ch.name)
      .add(`${prefix}-Profile-Index`, '1')
      .add(`${prefix}-Profile-Created-Time`, ch.createdUs)
      .add(`${prefix}-Channel-Created-Time`, ch.createdUs)
      .add(`${prefix}-Channel-Answered-Time`, ch.answeredUs)
      .add(`${prefix}-Channel-Progress-Time`, 0)
      .add(`${prefix}-Channel-Progress-Media-Time`, 0)
      .add(`${prefix}-Channel-Hangup-Time`, ch.hangupUs)
      .add(`${prefix}-Channel-Transfer-Time`, 0)
      .add(`${prefix}-Channel-Resurrect-Time`, 0)
      .add(`${prefix}-Channel-Bridged-Time`, ch.bridgedUs)
      .add(`${prefix}-Channel-Last-Hold`, 0)
      .add(`${prefix}-Channel-Hold-Accum`, 0)
      .add(`${prefix}-Screen-Bit`, 'true')
      .add(`${prefix}-Privacy-Hide-Name`, 'false')
      .add(`${prefix}-Privacy-Hide-Number`, 'false');
  }

  /** The caller profile of an originated null/… channel, as recorded (watcher-orphan-*). */
  private addNullProfile(ev: FsEvent, prefix: string, ch: Channel): void {
    const dest = ch.profile['destinationNumber'];
    ev.add(`${prefix}-Direction`, 'outbound')
      .add(`${prefix}-Logical-Direction`, 'outbound')
      .add(`${prefix}-Caller-ID-Number`, '0000000000')
      .add(`${prefix}-Orig-Caller-ID-Number`, '0000000000')
      .add(`${prefix}-Callee-ID-Name`, 'Outbound Call')
      .add(`${prefix}-Callee-ID-Number`, dest)
      .add(`${prefix}-ANI`, '0000000000')
      .add(`${prefix}-Destination-Number`, dest)
      .add(`${prefix}-Unique-ID`, ch.uuid)
      .add(`${prefix}-Source`, 'mod_loopback')
      .add(`${prefix}-Context`, 'default')
      .add(`${prefix}-Channel-Name`, ch.name)
      .add(`${prefix}-Profile-Index`, '1')
      .add(`${prefix}-Profile-Created-Time`, ch.createdUs)
      .add(`${prefix}-Channel-Created-Time`, ch.createdUs)
      .add(`${prefix}-Channel-Answered-Time`, ch.answeredUs)
      .add(`${prefix}-Channel-Progress-Time`, 0)
      .add(`${prefix}-Channel-Progress-Media-Time`, 0)
      .add(`${prefix}-Channel-Hangup-Time`, ch.hangupUs)
      .add(`${prefix}-Channel-Transfer-Time`, 0)
      .add(`${prefix}-Channel-Resurrect-Time`, 0)
      .add(`${prefix}-Channel-Bridged-Time`, 0)
      .add(`${prefix}-Channel-Last-Hold`, 0)
      .add(`${prefix}-Channel-Hold-Accum`, 0)
      .add(`${prefix}-Screen-Bit`, 'true')
      .add(`${prefix}-Privacy-Hide-Name`, 'false')
      .add(`${prefix}-Privacy-Hide-Number`, 'false');
  }

  /** switch_channel_event_set_data: state, codecs, caller profile, other leg, variables. */
  private addChannelData(ev: FsEvent, ch: Channel, withVars: boolean): void {
    // A null channel is outbound, never hit a dialplan, and reads 16-bit linear audio.
    const codec = ch.isNull ? 'L16' : ch.codec?.name ?? 'PCMU';
    const bitRate = ch.isNull ? 128000 : 64000;
    const direction = ch.isNull ? 'outbound' : 'inbound';
    ev.add('Channel-State', ch.state)
      .add('Channel-Call-State', ch.callState)
      .add('Channel-State-Number', CS_NUMBER[ch.state] ?? 0)
      .add('Channel-Name', ch.name)
      .add('Unique-ID', ch.uuid)
      .add('Call-Direction', direction)
      .add('Presence-Call-Direction', direction)
      .add('Channel-HIT-Dialplan', ch.isNull ? 'false' : 'true')
      .add('Channel-Call-UUID', ch.uuid)
      .add('Answer-State', ch.answerState)
      .add('Hangup-Cause', ch.hangupCause)
      .add('Channel-Read-Codec-Name', codec)
      .add('Channel-Read-Codec-Rate', 8000)
      .add('Channel-Read-Codec-Bit-Rate', bitRate)
      .add('Channel-Write-Codec-Name', codec)
      .add('Channel-Write-Codec-Rate', 8000)
      .add('Channel-Write-Codec-Bit-Rate', bitRate);
    this.addProfile(ev, 'Caller', ch);
    const other = ch.bridgedTo ? this.channels.get(ch.bridgedTo) : undefined;
    if (other && ch.otherType) {
      ev.add('Other-Type', ch.otherType);
      this.addProfile(ev, 'Other-Leg', other);
    }
    if (withVars) for (const [k, v] of ch.vars) ev.add(`variable_${k}`, v);
  }

  private channelEvent(ch: Channel, name: string, file: string, func: string, line: number, pre?: (ev: FsEvent) => void): FsEvent {
    const ev = this.newEvent(name, file, func, line);
    pre?.(ev);
    this.addChannelData(ev, ch, VAR_EVENTS.has(name));
    return ev;
  }

  /** switch_event_fire: log it and hand it to every listener that subscribed (with filters). */
  fire(ev: FsEvent): void {
    if (this.stopped) return;
    this.events.push({ at: Date.now(), name: ev.name, uuid: ev.get('Unique-ID'), event: ev });
    if (this.events.length > 5000) this.events.splice(0, this.events.length - 5000);
    for (const l of [...this.listeners]) if (l.wants(ev)) l.deliver(ev);
  }

  /** A session was created: the counts `status` and HEARTBEAT report. */
  private countSession(): void {
    this.sessionsSinceStartup++;
    this.spsNow++;
    this.peakSessions = Math.max(this.peakSessions, this.channels.size);
  }

  /** switch_time.c, once a second: the last second's session count and the peaks. */
  private secondTick(): void {
    this.spsLast = this.spsNow;
    this.spsNow = 0;
    this.spsPeak = Math.max(this.spsPeak, this.spsLast);
    this.spsHistory.push(this.spsLast);
    if (this.spsHistory.length > 300) this.spsHistory.shift();
    this.spsPeak5m = Math.max(...this.spsHistory);
  }

  private get spsLimit(): number {
    return this.opts.sessionsPerSecond ?? 30;
  }

  /** switch_core.c send_heartbeat; Session-Per-Sec is what is left of this second's budget. */
  private heartbeat(): void {
    const up = Date.now() - this.startedAt;
    const ev = this.newEvent('HEARTBEAT', 'switch_core.c', 'send_heartbeat', 95);
    ev.add('Event-Info', 'System Ready')
      .add('Up-Time', upTime(up))
      .add('FreeSWITCH-Version', VERSION_FULL)
      .add('Uptime-msec', up)
      .add('Session-Count', this.sessionCount())
      .add('Max-Sessions', 1000)
      .add('Session-Per-Sec', Math.max(0, this.spsLimit - this.spsNow))
      .add('Session-Per-Sec-Last', this.spsLast)
      .add('Session-Per-Sec-Max', this.spsPeak)
      .add('Session-Per-Sec-FiveMin', this.spsPeak5m)
      .add('Session-Since-Startup', this.sessionsSinceStartup)
      .add('Session-Peak-Max', this.peakSessions)
      .add('Session-Peak-FiveMin', this.peakSessions)
      .add('Idle-CPU', IDLE_CPU.toFixed(6));
    this.fire(ev);
  }

  /** switch_core_session_count: sessions not yet destroyed. */
  private sessionCount(): number {
    return this.channels.size;
  }

  private setState(ch: Channel, state: string): void {
    ch.state = state;
    this.fire(this.channelEvent(ch, 'CHANNEL_STATE', 'switch_channel.c', 'switch_channel_perform_set_running_state', 2137));
  }

  private setCallState(ch: Channel, cs: string): void {
    const orig = ch.callState;
    ch.callState = cs;
    this.fire(this.channelEvent(ch, 'CHANNEL_CALLSTATE', 'switch_channel.c', 'switch_channel_perform_set_callstate', 301, (ev) => {
      ev.add('Original-Channel-Call-State', orig).add('Channel-Call-State-Number', CCS_NUMBER[cs] ?? 0);
    }));
  }

  // ---- event socket hosting ----

  private onInboundConnection(sock: net.Socket): void {
    if (this.stopped) {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    this.listeners.add(new EslListener(sock, this, false, undefined, this.timers));
  }

  onListenerClosed(l: EslListener): void {
    this.listeners.delete(l);
    if (!l.outbound || !l.session) return;
    const ch = this.channels.get(l.session);
    // In async mode the socket app returns when its connection ends; the dialplan has nothing after
    // it, so the channel hangs up -- unless a bridge already moved the channel out of the socket app.
    if (ch && !ch.down && ch.socketApp && !this.stopped) this.hangup(ch, 'NORMAL_CLEARING');
  }

  log(l: EslListener, dir: 'in' | 'out', text: string): void {
    if (this.opts.trace) this.trace(`ESL[${l.id}${l.outbound ? ' outbound' : ''}] ${dir === 'in' ? 'APP ==> FS' : 'FS ==> APP'}\n${text}`);
  }

  newUuid(): string {
    return randomUUID();
  }

  channelExists(uuid: string): boolean {
    return this.channels.has(uuid);
  }

  channelName(uuid: string): string | undefined {
    return this.channels.get(uuid)?.name;
  }

  getvar(uuid: string, name: string): string | undefined {
    return this.channels.get(uuid)?.vars.get(name);
  }

  /** The `connect` reply of an outbound socket: CHANNEL_DATA plus the reply headers, in one block. */
  channelData(uuid: string): FsEvent | undefined {
    const ch = this.channels.get(uuid);
    if (!ch) return undefined;
    const ev = this.newEvent('CHANNEL_DATA', 'mod_event_socket.c', 'parse_command', 2021);
    this.addProfile(ev, 'Channel', ch);
    this.addChannelData(ev, ch, true);
    ev.add('Content-Type', 'command/reply')
      .add('Reply-Text', '+OK\n')
      .add('Socket-Mode', 'async')
      .add('Control', 'full');
    return ev;
  }

  sendevent(name: string, cmd: EslCommand): string {
    const id = randomUUID();
    const ename = nameEvent(name) ?? 'CUSTOM';
    const ev = this.newEvent(ename, 'mod_event_socket.c', 'parse_command', 2266, cmdHeader(cmd, 'Event-Subclass'));
    for (const [n, v] of cmd.headers) if (n.toLowerCase() !== 'content-length') ev.add(n, v);
    ev.add('Event-UUID', id);
    if (cmd.body) ev.body = cmd.body;
    this.fire(ev);
    return `+OK ${id}`;
  }

  sendmsg(uuid: string | undefined, cmd: EslCommand, l: EslListener): string {
    const target = uuid ?? l.session;
    const ch = target ? this.channels.get(target) : undefined;
    if (!ch || ch.tornDown) return `-ERR invalid session id [${uuid ?? '(null)'}]`;
    const command = (cmdHeader(cmd, 'call-command') ?? '').toLowerCase();
    if (command === 'execute') {
      const app = cmdHeader(cmd, 'execute-app-name');
      if (!app) return '+OK';
      let arg = cmdHeader(cmd, 'execute-app-arg') ?? '';
      if (!arg && cmdHeader(cmd, 'content-type')?.toLowerCase() === 'text/plain') arg = cmd.body ?? '';
      const loops = Number.parseInt(cmdHeader(cmd, 'loops') ?? '1', 10) || 1;
      this.enqueue(ch, { app, arg, eventUuid: cmdHeader(cmd, 'event-uuid'), loops });
    } else if (command === 'hangup') {
      const cause = cmdHeader(cmd, 'hangup-cause') ?? 'NORMAL_CLEARING';
      this.timers.set(() => this.hangup(ch, cause.toUpperCase()), 20);
    }
    // unicast, nomedia, xferext: accepted and ignored (no media plane here)
    return '+OK';
  }

  // ---- SIP → channels ----

  private withChannel(call: SipCall, fn: (ch: Channel) => void): void {
    for (const ch of this.channels.values()) if (ch.sip === call) return fn(ch);
  }

  private onInvite(call: SipCall): void {
    const req = call.invite;
    const esl = header(req, 'x-esl-outbound');
    if (!esl) {
      // context mrf only routes calls that carry X-esl-outbound: anything else is NO_ROUTE_DESTINATION.
      this.sip.reject(call, 404, 'Not Found', [['Reason', 'Q.850;cause=3;text="NO_ROUTE_DESTINATION"']]);
      return;
    }
    // sofia.c refuses a no-SDP INVITE before allocating media unless the profile enables 3pcc.
    const refuse3pcc = !req.body.trim() && this.threePcc === 'off';
    if (refuse3pcc) {
      this.newChannel(call, esl, undefined);
      return;
    }
    RtpPort.open(this.host).then((rtp) => {
      if (this.stopped || call.state !== 'early') rtp.close();
      else this.newChannel(call, esl, rtp);
    }, (err: unknown) => {
      this.trace(`RTP port: ${String(err)}`);
      this.sip.reject(call, 503, 'Service Unavailable');
    });
  }

  private newChannel(call: SipCall, esl: string, rtp: RtpPort | undefined): void {
    const req = call.invite;
    const uuid = randomUUID();
    const fromUri = uriOf(header(req, 'from')) ?? '';
    const fromHp = safeHostPort(fromUri);
    const fromUser = userOf(fromUri) ?? 'nobody';
    const fromPortPart = /:(\d+)(?:[;>?]|$)/.exec(fromUri.replace(/^sips?:/, '').replace(/^[^@]*@/, ''))?.[1];
    const fromUriVar = `${fromUser}@${fromHp.host}${fromPortPart ? ':' + fromPortPart : ''}`;
    const display = /^\s*"([^"]*)"/.exec(header(req, 'from') ?? '')?.[1];
    const name = `sofia/${this.profile}/${fromUriVar}`;
    const reqUser = userOf(req.uri) ?? '';
    const profile: Record<string, string> = {
      callerIdName: display ?? (userOf(fromUri) ? fromUser : 'unknown'),
      origCallerIdName: display ?? 'unknown',
      networkAddr: call.source.address,
      destinationNumber: reqUser,
    };
    if (userOf(fromUri)) profile['callerIdNumber'] = fromUser;
    const ch = new Channel(uuid, call, name, profile, rtp);
    this.channels.set(uuid, ch);
    this.countSession();
    this.initVars(ch, req, fromUser, fromUriVar, fromHp);
    this.fire(this.channelEvent(ch, 'CHANNEL_CREATE', 'switch_core_state_machine.c', 'switch_core_session_run', 600));
    if (!rtp) {
      // Traced (3pcc-off-*): 480 with Reason Q.850 cause 96, no dialplan, no event socket.
      this.trace('No SDP in INVITE and 3pcc not enabled, hanging up.');
      ch.setVar('endpoint_disposition', '3PCC DISABLED');
      this.hangup(ch, 'MANDATORY_IE_MISSING');
      return;
    }
    rtp.onPacket = () => this.rtpArrived(ch);

    let local: LocalSdp;
    if (req.body.trim()) {
      const offer = parseSdp(req.body);
      const codec = chooseCodec(offer, this.greedyPrefs);
      if (!codec || offer.port === undefined) {
        this.sip.reject(call, 488, 'Not Acceptable Here', [['Reason', 'Q.850;cause=88;text="INCOMPATIBLE_DESTINATION"']]);
        this.hangup(ch, 'INCOMPATIBLE_DESTINATION');
        return;
      }
      ch.codec = codec;
      ch.dtmfPt = offer.dtmfPt;
      // A browser's offer is answered with DTLS-SRTP and ICE (traces/freeswitch/webrtc-*); the
      // stand-in does not run the handshake: the channel goes on as soon as it is answered.
      local = offer.webrtc
        ? buildWebRtcAnswer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion, codec, offer)
        : buildAnswer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion, codec, offer.dtmfPt);
      this.setRemoteMedia(ch, req.body, offer.ip, offer.port);
    } else {
      local = buildOffer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion);
    }
    ch.local = local;
    this.setLocalMedia(ch);
    ch.state = 'CS_ROUTING';
    ch.callState = 'RINGING';
    this.timers.set(() => this.answerAndConnect(ch, esl), this.opts.answerDelayMs ?? 5);
  }

  private initVars(ch: Channel, req: SipMessage, fromUser: string, fromUriVar: string, fromHp: { host: string; port: number }): void {
    const call = ch.sip!;
    const toUri = uriOf(header(req, 'to')) ?? '';
    const toHp = safeHostPort(toUri);
    const reqHp = safeHostPort(req.uri ?? '');
    const contactUri = uriOf(header(req, 'contact')) ?? '';
    const contactHp = safeHostPort(contactUri);
    const via = header(req, 'via') ?? '';
    const v = (k: string, val: string | number | undefined) => ch.setVar(k, val);
    v('direction', 'inbound');
    v('uuid', ch.uuid);
    v('session_id', ++this.sessionId);
    v('sip_from_user', fromUser);
    v('sip_from_port', fromHp.port);
    v('sip_from_uri', fromUriVar);
    v('sip_from_host', fromHp.host);
    v('video_media_flow', 'disabled');
    v('text_media_flow', 'disabled');
    v('channel_name', ch.name);
    v('sip_call_id', call.callId);
    v('sip_local_network_addr', this.host);
    v('sip_network_ip', call.source.address);
    v('sip_network_port', call.source.port);
    v('sip_invite_stamp', ch.createdUs);
    v('sip_received_ip', call.source.address);
    v('sip_received_port', call.source.port);
    v('sip_via_protocol', 'udp');
    v('sip_from_tag', call.remoteTag);
    v('sofia_profile_name', this.profile);
    v('sofia_profile_url', `sip:mod_sofia@${this.host}:${this.sip.port}`);
    v('recovery_profile_name', this.profile);
    v('sip_full_via', headerValues(req, 'via').join(','));
    v('sip_full_from', header(req, 'from'));
    v('sip_full_to', header(req, 'to'));
    v('sip_req_user', userOf(req.uri) ?? '');
    v('sip_req_port', reqHp.port);
    v('sip_req_uri', `${userOf(req.uri) ? userOf(req.uri) + '@' : ''}${reqHp.host}:${reqHp.port}`);
    v('sip_req_host', reqHp.host);
    v('sip_to_user', userOf(toUri) ?? '');
    v('sip_to_port', toHp.port);
    v('sip_to_uri', `${userOf(toUri) ? userOf(toUri) + '@' : ''}${toHp.host}:${toHp.port}`);
    v('sip_to_host', toHp.host);
    if (contactUri) {
      v('sip_contact_user', userOf(contactUri) ?? 'nobody');
      v('sip_contact_port', contactHp.port);
      v('sip_contact_uri', `${userOf(contactUri) ?? 'nobody'}@${contactHp.host}:${contactHp.port}`);
      v('sip_contact_host', contactHp.host);
    }
    v('sip_user_agent', header(req, 'user-agent'));
    v('sip_via_host', /^SIP\/2\.0\/\S+\s+([^;:\s]+)/i.exec(via)?.[1]);
    v('sip_via_rport', param(via, 'rport') !== undefined ? call.source.port : undefined);
    v('max_forwards', header(req, 'max-forwards'));
    for (const [name, values] of req.headers) {
      if (name.startsWith('x-') && values[0] !== undefined) v(`sip_h_${canonicalX(name)}`, values[0]);
    }
  }

  private setRemoteMedia(ch: Channel, sdp: string, ip: string | undefined, port: number | undefined): void {
    ch.setVar('switch_r_sdp', sdp);
    const codec = ch.codec;
    if (codec) {
      const name = codec.name.toUpperCase();
      ch.setVar('ep_codec_string', `CORE_PCM_MODULE.${name}@8000h@20i@64000b`);
      ch.setVar('rtp_use_codec_string', 'PCMU,PCMA,OPUS,G722');
      ch.setVar('remote_video_media_flow', 'inactive');
      ch.setVar('remote_text_media_flow', 'inactive');
      ch.setVar('remote_audio_media_flow', 'sendrecv');
      ch.setVar('audio_media_flow', 'sendrecv');
      ch.setVar('rtp_audio_recv_pt', codec.pt);
      ch.setVar('rtp_use_codec_name', name);
      ch.setVar('rtp_use_codec_rate', 8000);
      ch.setVar('rtp_use_codec_ptime', 20);
      ch.setVar('rtp_use_codec_channels', 1);
      ch.setVar('rtp_last_audio_codec_string', `${name}@8000h@20i@1c`);
      ch.setVar('read_codec', name);
      ch.setVar('original_read_codec', name);
      ch.setVar('read_rate', 8000);
      ch.setVar('original_read_rate', 8000);
      ch.setVar('write_codec', name);
      ch.setVar('write_rate', 8000);
    }
    ch.setVar('dtmf_type', ch.dtmfPt !== undefined ? 'rfc2833' : 'info');
    if (ip) ch.setVar('remote_media_ip', ip);
    if (port !== undefined) ch.setVar('remote_media_port', port);
  }

  private setLocalMedia(ch: Channel): void {
    if (!ch.vars.has('call_uuid')) ch.setVar('call_uuid', ch.uuid);
    ch.setVar('rtp_local_sdp_str', ch.local?.localStr);
    ch.setVar('local_media_ip', this.host);
    ch.setVar('local_media_port', ch.rtpPort);
    ch.setVar('advertised_media_ip', this.host);
    ch.setVar('rtp_use_timer_name', 'soft');
    if (ch.codec) ch.setVar('rtp_use_pt', ch.codec.pt);
    if (!ch.vars.has('rtp_use_ssrc')) ch.setVar('rtp_use_ssrc', Math.floor(Math.random() * 0xffffffff));
    if (ch.vars.has('remote_media_ip')) {
      // keep remote_media_* after the local ones, as in the recorded CHANNEL_DATA
      ch.setVar('remote_media_ip', ch.vars.get('remote_media_ip'));
      ch.setVar('remote_media_port', ch.vars.get('remote_media_port'));
    }
  }

  /** The mrf dialplan: answer, then `socket ${sip_h_X-esl-outbound} async full`. */
  private answerAndConnect(ch: Channel, esl: string): void {
    if (ch.down || !ch.local) return;
    this.sip.answer(ch.sip!, ch.local.wire, [
      ['Remote-Party-ID', `"${ch.profile['destinationNumber']}" <sip:${ch.profile['destinationNumber']}@${this.host}>;party=calling;privacy=off;screen=no`],
    ]);
    ch.answeredUs = nowUs();
    ch.answerState = 'answered';
    ch.setVar('endpoint_disposition', 'ANSWER');
    ch.setVar('send_silence_when_idle', -1);
    ch.setVar('hangup_after_bridge', 'false');
    ch.setVar('park_after_bridge', 'true');
    ch.setVar('playback_terminators', 'none');
    this.fire(this.channelEvent(ch, 'CHANNEL_ANSWER', 'switch_channel.c', 'switch_channel_perform_mark_answered', 3943));
    this.setCallState(ch, 'ACTIVE');
    ch.state = 'CS_EXECUTE';
    const data = `${esl} async full`;
    ch.socketApp = { uuid: randomUUID(), data };
    ch.setVar('current_application_data', data);
    ch.setVar('current_application', 'socket');
    this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE', 'socket', data, ch.socketApp.uuid));
    const m = /^(.*):(\d+)$/.exec(esl.trim());
    const host = m?.[1] ?? esl;
    const port = m ? Number(m[2]) : 8084;
    ch.setVar('socket_host', host);
    if (host !== '127.0.0.1' && host !== 'localhost') {
      // The bench never leaves loopback: an address elsewhere is an unreachable socket target. (fsmrf
      // advertises its first non-internal IPv4 unless Mrf#connect gets listenAddress: '127.0.0.1'.)
      this.trace(`socket ${esl}: refusing a non-loopback target`);
      this.socketFailed(ch);
      return;
    }
    let connected = false;
    const sock = net.connect({ host: '127.0.0.1', port });
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.once('error', () => {
      if (!connected) this.socketFailed(ch);
    });
    sock.once('connect', () => {
      connected = true;
      if (ch.down || this.stopped) {
        sock.destroy();
        return;
      }
      this.listeners.add(new EslListener(sock, this, true, ch.uuid, this.timers));
    });
  }

  private socketFailed(ch: Channel): void {
    if (ch.down) return;
    // socket app logs "Socket Error!" and returns; the dialplan is done, so the channel hangs up.
    this.hangup(ch, 'NORMAL_CLEARING');
  }

  private onAck(call: SipCall, ack: SipMessage): void {
    this.withChannel(call, (ch) => {
      ch.setVar('sip_to_tag', call.localTag);
      ch.setVar('sip_from_tag', call.remoteTag);
      ch.setVar('sip_cseq', call.remoteCseq);
      ch.setVar('sip_call_id', call.callId);
      ch.setVar('sip_full_via', headerValues(ack, 'via').join(','));
      ch.setVar('sip_full_from', header(ack, 'from'));
      ch.setVar('sip_full_to', header(ack, 'to'));
      if (ack.body.trim() && !ch.codec) {
        // 3pcc: the ACK carries the answer to our offer.
        const ans = parseSdp(ack.body);
        ch.codec = chooseCodec(ans) ?? { pt: 0, name: 'PCMU', rate: 8000 };
        ch.dtmfPt = ans.dtmfPt;
        this.setRemoteMedia(ch, ack.body, ans.ip, ans.port);
        this.setLocalMedia(ch);
      }
    });
  }

  private onReinvite(call: SipCall, req: SipMessage): { status: number; reason: string; sdp?: string } {
    let result: { status: number; reason: string; sdp?: string } = { status: 481, reason: 'Call/Transaction Does Not Exist' };
    this.withChannel(call, (ch) => {
      ch.sdpVersion++;
      if (!req.body.trim()) {
        const local = ch.codec
          ? buildAnswer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion, ch.codec, ch.dtmfPt)
          : buildOffer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion);
        ch.local = local;
        result = { status: 200, reason: 'OK', sdp: local.wire };
        return;
      }
      const offer = parseSdp(req.body);
      const codec = chooseCodec(offer, this.greedyPrefs);
      if (!codec || offer.port === undefined) {
        result = { status: 488, reason: 'Not Acceptable Here' };
        return;
      }
      ch.codec = codec;
      ch.dtmfPt = offer.dtmfPt;
      // A hold (sendonly) is answered recvonly, and so on (RFC 3264 §6.1), as mod_sofia does.
      ch.local = answerDirection(offer.webrtc
        ? buildWebRtcAnswer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion, codec, offer)
        : buildAnswer(this.host, ch.rtpPort, ch.sessId, ch.sdpVersion, codec, offer.dtmfPt), offer.direction);
      this.setRemoteMedia(ch, req.body, offer.ip, offer.port);
      this.setLocalMedia(ch);
      result = { status: 200, reason: 'OK', sdp: ch.local.wire };
    });
    return result;
  }

  private onInfo(ch: Channel, req: SipMessage): void {
    const ct = (header(req, 'content-type') ?? '').toLowerCase();
    if (ct === 'application/dtmf-relay') {
      const sig = /Signal\s*=\s*([0-9A-D*#])/i.exec(req.body)?.[1];
      if (sig) this.dtmf(ch, sig.toUpperCase(), 'INFO');
    } else if (ct === 'application/dtmf') {
      const d = req.body.trim();
      if (d) this.dtmf(ch, d[0]!, 'INFO');
    }
  }

  // ---- hangup ----

  /** switch_channel_hangup: CHANNEL_HANGUP now; the rest once the running application has returned. */
  hangup(ch: Channel, cause: string): void {
    if (ch.down) return;
    ch.down = true;
    ch.hangupCause = CAUSES[cause] !== undefined ? cause : 'NORMAL_CLEARING';
    ch.hangupUs = nowUs();
    ch.answerState = 'hangup';
    ch.setVar('hangup_cause', ch.hangupCause);
    ch.setVar('hangup_cause_q850', CAUSES[ch.hangupCause]);
    if (ch.sip && !ch.vars.has('sip_hangup_disposition')) ch.setVar('sip_hangup_disposition', ch.sip.state === 'early' ? 'send_refuse' : 'send_bye');
    this.fire(this.channelEvent(ch, 'CHANNEL_HANGUP', 'switch_channel.c', 'switch_channel_perform_hangup', 3546));
    ch.queue = [];
    this.timers.clear(ch.kickTimer);
    if (ch.running) ch.running.stop('hangup');
    else this.teardown(ch);
  }

  private teardown(ch: Channel): void {
    if (ch.tornDown) return;
    ch.tornDown = true;
    if (ch.socketApp) {
      this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', 'socket', ch.socketApp.data, ch.socketApp.uuid, '_none_'));
      ch.socketApp = undefined;
    }
    for (const path of [...ch.recordings.keys()]) this.stopRecording(ch, path);
    if (ch.bridgedTo) this.unbridge(ch, true);
    ch.state = 'CS_HANGUP';
    this.fire(this.channelEvent(ch, 'CHANNEL_STATE', 'switch_channel.c', 'switch_channel_perform_set_running_state', 2137));
    if (ch.callState !== 'DOWN' && ch.callState !== 'RINGING') this.setCallState(ch, 'HANGUP');
    else ch.callState = 'HANGUP';
    const cause = ch.hangupCause ?? 'NORMAL_CLEARING';
    ch.rtp?.close();
    if (ch.sip?.state === 'early') {
      const status = sipStatusFor(cause);
      this.sip.reject(ch.sip, status, PHRASES[status] ?? 'Temporarily Unavailable', [['Reason', `Q.850;cause=${CAUSES[cause] ?? 16};text="${cause}"`]]);
    } else if (ch.sip) this.sip.bye(ch.sip, CAUSES[cause], cause);
    for (const l of [...this.listeners]) if (l.session === ch.uuid) l.channelDown();
    this.timers.set(() => this.report(ch), 5);
  }

  private report(ch: Channel): void {
    const billUs = ch.answeredUs ? ch.hangupUs - ch.answeredUs : 0;
    ch.setVar('start_stamp', stamp(ch.createdUs));
    ch.setVar('answer_stamp', ch.answeredUs ? stamp(ch.answeredUs) : undefined);
    ch.setVar('end_stamp', stamp(ch.hangupUs));
    ch.setVar('start_epoch', Math.floor(ch.createdUs / 1e6));
    ch.setVar('answer_epoch', Math.floor(ch.answeredUs / 1e6));
    ch.setVar('end_epoch', Math.floor(ch.hangupUs / 1e6));
    ch.setVar('duration', Math.round((ch.hangupUs - ch.createdUs) / 1e6));
    ch.setVar('billsec', Math.round(billUs / 1e6));
    ch.setVar('billmsec', Math.round(billUs / 1e3));
    ch.state = 'CS_REPORTING';
    this.fire(this.channelEvent(ch, 'CHANNEL_STATE', 'switch_channel.c', 'switch_channel_perform_set_running_state', 2137));
    this.fire(this.channelEvent(ch, 'CHANNEL_HANGUP_COMPLETE', 'switch_core_state_machine.c', 'switch_core_session_reporting_state', 1018));
    // Recorded (watcher-orphan-*): CHANNEL_DESTROY still says CS_REPORTING; CS_DESTROY comes after it.
    this.fire(this.channelEvent(ch, 'CHANNEL_DESTROY', 'switch_core_session.c', 'switch_core_session_perform_destroy', 1722));
    ch.state = 'CS_DESTROY';
    this.fire(this.channelEvent(ch, 'CHANNEL_STATE', 'switch_channel.c', 'switch_channel_perform_set_running_state', 2137));
    this.channels.delete(ch.uuid);
    // A lingering socket with a timer closes on its own; one lingering "forever" holds the session
    // until the client goes, which real FS allows too.
  }

  // ---- applications ----

  private execEvent(ch: Channel, name: 'CHANNEL_EXECUTE' | 'CHANNEL_EXECUTE_COMPLETE', app: string, arg: string, uuid?: string, response?: string): FsEvent {
    const ev = this.channelEvent(ch, name, 'switch_core_session.c', 'switch_core_session_exec', name === 'CHANNEL_EXECUTE' ? 2944 : 2967);
    ev.add('Application', app);
    if (arg) ev.add('Application-Data', arg);
    ev.add('Application-Response', response);
    ev.add('Application-UUID', uuid);
    return ev;
  }

  /** switch_core_session_queue_private_event: queue it and wake the session (SIG_BREAK). */
  enqueue(ch: Channel, q: QueuedApp): void {
    if (ch.down) return;
    const run = ch.running;
    if (run && !ch.bridgeLoop && !ch.transferring && q.app.toLowerCase() === 'hangup' && READS_EVENTS.has(run.app.toLowerCase())) {
      // A media app parses private events after every read, and the wake-up makes a blocked read
      // return: the app stops; playback runs the hangup nested (traced in pagd-stall-*), record
      // returns first and the hangup runs next (record-stall-*).
      if (run.app.toLowerCase() === 'record') ch.queue.push(q);
      else run.nestedHangup = q;
      run.interrupt();
      return;
    }
    ch.queue.push(q);
    run?.readReturned();
    // The session thread picks queued private events up on its next 20 ms tick.
    this.kick(ch, 20);
  }

  /** An RTP packet from the peer: a blocked read returns; the bridge loop counts the frame. */
  private rtpArrived(ch: Channel): void {
    ch.running?.readReturned();
    if (ch.bridgeLoop && ch.queue.length > 0) this.kick(ch, 0);
  }

  /**
   * In the bridge loop a queued application runs only once the loop has read more than
   * DEFAULT_LEAD_FRAMES frames (switch_ivr_bridge.c); on a silent leg that never happened (traced
   * in bridge-held-*, 75 s). What was queued before the loop started runs in soft-execute.
   */
  private held(ch: Channel): boolean {
    if (ch.transferring) return true;
    return ch.bridgeLoop !== undefined && ch.bridgeAllowance === 0 && !this.media.leadFramesRead(ch.bridgeLoop, ch.rtp);
  }

  private kick(ch: Channel, delay: number): void {
    if (ch.running || ch.kickTimer !== undefined || ch.down || this.held(ch)) return;
    ch.kickTimer = this.timers.set(() => {
      ch.kickTimer = undefined;
      void this.runNext(ch);
    }, delay);
  }

  private async runNext(ch: Channel): Promise<void> {
    if (ch.down || ch.running || this.held(ch)) return;
    const q = ch.queue.shift();
    if (!q) return;
    if (ch.bridgeAllowance > 0) ch.bridgeAllowance--;
    const impl = APPS[q.app.toLowerCase()];
    if (!impl) {
      this.trace(`Invalid Application ${q.app}`);
      this.hangup(ch, 'DESTINATION_OUT_OF_ORDER');
      return;
    }
    for (let i = 0; i < q.loops && !ch.down; i++) {
      const run = new AppRun(q.app, q.arg, q.eventUuid, this.timers, ch.dtmfBuffer);
      ch.running = run;
      if (q.eventUuid) ch.setVar('app_uuid', q.eventUuid);
      ch.setVar('current_loop', i + 1);
      ch.setVar('total_loops', q.loops);
      ch.setVar('current_application_data', q.arg || undefined);
      ch.setVar('current_application', q.app);
      this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE', q.app, q.arg, q.eventUuid));
      let response = '_none_';
      try {
        response = await impl(this, ch, run, q.arg);
      } catch (err) {
        this.trace(`application ${q.app} failed: ${String(err)}`);
      }
      if (this.stopped) return;
      const nested = run.nestedHangup;
      if (nested) {
        this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE', nested.app, nested.arg, nested.eventUuid));
        this.hangup(ch, nested.arg.trim().toUpperCase() || 'NORMAL_CLEARING');
        this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', nested.app, nested.arg, nested.eventUuid, '_none_'));
      }
      ch.setVar('current_application_response', response === '_none_' ? undefined : response);
      this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', q.app, q.arg, q.eventUuid, response));
      ch.running = undefined;
    }
    if (ch.down) this.teardown(ch);
    else if (ch.queue.length > 0) this.kick(ch, 0);
  }

  /** uuid_break: stop the running application (and with `all`, everything queued). */
  breakApp(ch: Channel, all: boolean): void {
    if (all) ch.queue = [];
    ch.running?.stop('break');
  }

  playbackMs(file: string): number | 'not-found' {
    for (let i = this.durationRules.length - 1; i >= 0; i--) {
      const r = this.durationRules[i]!;
      if (typeof r.pattern === 'string' ? file === r.pattern || file.includes(r.pattern) : r.pattern.test(file)) return r.ms;
    }
    const silence = /^silence_stream:\/\/(-?\d+)/.exec(file);
    if (silence) return Number(silence[1]);
    if (file.startsWith('tone_stream://')) return toneMs(file);
    if (/^[a-z_]+:\/\//.test(file)) return 1000; // other stream types (say, shout, http ...)
    const wav = wavDurationMs(file);
    if (wav !== undefined) return wav;
    if (fs.existsSync(file)) return this.opts.defaultPlaybackMs ?? 1000;
    return this.opts.missingFile === 'not-found' ? 'not-found' : this.opts.defaultPlaybackMs ?? 1000;
  }

  /** switch_ivr_play_file for one file: PLAYBACK_START, the audio time, PLAYBACK_STOP. */
  async playFile(ch: Channel, run: AppRun, file: string, collect?: (d: string) => boolean): Promise<'done' | 'break' | 'hangup' | 'not-found'> {
    const ms = this.playbackMs(file);
    if (ms === 'not-found') return 'not-found';
    const type = file.startsWith('tone_stream://') ? 'tone_stream' : undefined;
    this.fire(this.channelEvent(ch, 'PLAYBACK_START', 'switch_ivr_play_say.c', 'switch_ivr_play_file', 1646, undefined).add('Playback-File-Type', type).add('Playback-File-Path', file));
    const terminators = ch.vars.get('playback_terminators') ?? 'none';
    // Without a collector or terminators, digits stay queued for whoever reads them later.
    const listen = collect !== undefined || terminators !== 'none';
    let status: 'done' | 'break' | 'hangup' = 'done';
    let played = 0;
    for (;;) {
      const left = ms < 0 ? undefined : ms - played;
      if (left !== undefined && left <= 0) break;
      let w: Wake;
      if (this.media.flowing(ch.rtp)) {
        const t0 = Date.now();
        w = await run.wait(left, listen);
        played += Date.now() - t0;
        if (w.kind === 'timeout') break;
      } else {
        // A silent leg: each read that returns (RTP, a wake-up, the poll timeout) plays one frame,
        // and CF_BREAK (uuid_break) is seen only then (traced in play-stall-*).
        // Digits already received are RTP packets waiting in the socket: that read returns at once.
        const queued = listen ? ch.dtmfBuffer.shift() : undefined;
        w = queued !== undefined ? { kind: 'dtmf', digit: queued } : await run.blockedRead(this.media.pollMs);
        if (w.kind === 'read' || w.kind === 'timeout') {
          played += FRAME_MS;
          const digit = listen ? ch.dtmfBuffer.shift() : undefined;
          if (digit !== undefined) w = { kind: 'dtmf', digit };
          else if (run.stopped) w = { kind: run.stopped };
          else continue;
        }
      }
      if (w.kind === 'dtmf') {
        if (collect?.(w.digit)) {
          status = 'break';
          break;
        }
        if (terminators !== 'none' && (terminators.includes(w.digit) || terminators === 'any')) {
          ch.setVar('playback_terminator_used', w.digit);
          status = 'break';
          break;
        }
        continue;
      }
      if (w.kind === 'read' || w.kind === 'timeout') continue;
      status = w.kind;
      break;
    }
    // A file played to its end reports its whole length, as FreeSWITCH counts samples, not a timer.
    played = status === 'done' && ms >= 0 && played >= ms - FRAME_MS ? ms : Math.max(0, ms < 0 ? played : Math.min(ms, played));
    const samples = Math.round(played * 8);
    ch.setVar('playback_last_offset_pos', samples);
    ch.setVar('playback_seconds', Math.floor(played / 1000));
    ch.setVar('playback_ms', Math.round(played));
    ch.setVar('playback_samples', samples);
    this.fire(this.channelEvent(ch, 'PLAYBACK_STOP', 'switch_ivr_play_say.c', 'switch_ivr_play_file', 2020)
      .add('Playback-File-Type', type).add('Playback-File-Path', file).add('Playback-Status', status === 'done' ? 'done' : 'break'));
    return status;
  }

  startRecording(ch: Channel, path: string, limitSecs?: number): boolean {
    if (ch.recordings.has(path)) return true;
    try {
      writeWav(path, 0);
    } catch (err) {
      this.trace(`record ${path}: ${String(err)}`);
      return false;
    }
    const rec: Recording = { path, startedAt: Date.now() };
    if (limitSecs && limitSecs > 0) rec.limitTimer = this.timers.set(() => this.stopRecording(ch, path), limitSecs * 1000);
    ch.recordings.set(path, rec);
    this.fire(this.channelEvent(ch, 'RECORD_START', 'switch_ivr_async.c', 'record_callback', 1258).add('Record-File-Path', path));
    return true;
  }

  stopRecording(ch: Channel, path: string): boolean {
    const targets = path === 'all' ? [...ch.recordings.keys()] : [path];
    let any = false;
    for (const p of targets) {
      const rec = ch.recordings.get(p);
      if (!rec) continue;
      any = true;
      this.timers.clear(rec.limitTimer);
      ch.recordings.delete(p);
      const ms = Date.now() - rec.startedAt;
      try {
        writeWav(p, ms);
      } catch (err) {
        this.trace(`record ${p}: ${String(err)}`);
      }
      ch.setVar('record_ms', ms);
      ch.setVar('record_seconds', Math.floor(ms / 1000));
      ch.setVar('record_samples', ms * 8);
      this.fire(this.channelEvent(ch, 'RECORD_STOP', 'switch_ivr_async.c', 'record_callback', 1380)
        .add('Record-File-Path', p).add('Record-Completion-Cause', 'success'));
    }
    return any;
  }

  /** A DTMF digit arrived from the caller (test hook, SIP INFO). */
  dtmf(ch: Channel, digit: string, source: 'RTP' | 'INFO' | 'INBAND' = 'RTP'): void {
    if (ch.down) return;
    this.fire(this.channelEvent(ch, 'DTMF', 'switch_channel.c', 'switch_channel_dequeue_dtmf', 707)
      .add('DTMF-Digit', digit).add('DTMF-Duration', 2000).add('DTMF-Source', source));
    ch.dtmfBuffer.push(digit);
    if (ch.dtmfBuffer.length > 128) ch.dtmfBuffer.shift();
    ch.running?.dtmfArrived();
    ch.running?.readReturned();
  }

  // ---- bridging ----

  bridge(a: Channel, b: Channel): void {
    for (const ch of [a, b]) if (ch.bridgedTo && ch.bridgedTo !== (ch === a ? b.uuid : a.uuid)) this.unbridge(ch, false);
    a.bridgedTo = b.uuid;
    b.bridgedTo = a.uuid;
    a.otherType = 'originatee';
    b.otherType = 'originator';
    a.lastPartner = b.uuid;
    b.lastPartner = a.uuid;
    for (const [x, y] of [[a, b], [b, a]] as const) {
      x.setVar('bridge_channel', y.name);
      x.setVar('bridge_uuid', y.uuid);
      x.setVar('signal_bond', y.uuid);
      x.setVar('last_bridge_to', y.uuid);
    }
    // uuid_bridge transfers both channels: whatever they were doing (the socket app, a playback) returns.
    for (const ch of [a, b]) ch.transferring = true;
    this.timers.set(() => {
      for (const ch of [b, a]) {
        ch.running?.interrupt();
        if (ch.socketApp) {
          this.fire(this.execEvent(ch, 'CHANNEL_EXECUTE_COMPLETE', 'socket', ch.socketApp.data, ch.socketApp.uuid, '_none_'));
          ch.socketApp = undefined;
        }
      }
      this.timers.set(() => {
        for (const ch of [a, b]) ch.transferring = false;
        if (a.down || b.down || a.bridgedTo !== b.uuid) {
          for (const ch of [a, b]) this.kick(ch, 0);
          return;
        }
        const now = nowUs();
        for (const [x, y] of [[a, b], [b, a]] as const) {
          x.state = 'CS_SOFT_EXECUTE';
          x.bridgedUs = now;
          const ev = this.channelEvent(x, 'CHANNEL_EXECUTE', 'switch_ivr_bridge.c', 'uuid_bridge_on_soft_execute', x === a ? 1236 : 1243);
          this.fire(ev.add('Application', 'uuid_bridge').add('Application-Data', y.uuid));
          // Soft-execute parses what is queued already; then the audio loop holds new arrivals.
          x.bridgeAllowance = x.queue.length;
          x.bridgeLoop = { startedAt: Date.now(), packetsAtStart: x.rtp?.packets ?? 0 };
          this.kick(x, 0);
          if (!this.media.stalls) this.timers.set(() => this.kick(x, 0), (LEAD_FRAMES + 1) * FRAME_MS);
        }
        for (const x of [a, b]) {
          this.fire(this.channelEvent(x, 'CHANNEL_BRIDGE', 'switch_ivr_bridge.c', 'audio_bridge_on_exchange_media', 818, (ev) => {
            ev.add('Bridge-A-Unique-ID', a.uuid).add('Bridge-B-Unique-ID', b.uuid);
          }));
        }
      }, 20);
    }, 16);
  }

  /**
   * Ends a bridge. When `ch` hung up, its partner does what the mrf profile's variables say:
   * hangup_after_bridge=false and park_after_bridge=true (the traced defaults) park it.
   */
  unbridge(ch: Channel, becauseHangup: boolean): void {
    const other = ch.bridgedTo ? this.channels.get(ch.bridgedTo) : undefined;
    const pair = other ? [ch, other] : [ch];
    for (const x of pair) {
      this.fire(this.channelEvent(x, 'CHANNEL_UNBRIDGE', 'switch_ivr_bridge.c', 'audio_bridge_on_exchange_media', 900, (ev) => {
        ev.add('Bridge-A-Unique-ID', ch.otherType === 'originatee' ? ch.uuid : other?.uuid).add('Bridge-B-Unique-ID', ch.otherType === 'originatee' ? other?.uuid : ch.uuid);
      }));
    }
    for (const x of pair) {
      x.bridgedTo = undefined;
      x.otherType = undefined;
      x.bridgeLoop = undefined;
      x.bridgeAllowance = 0;
      // Out of the loop the channel parses what the bridge held (traced in bridge-park-*).
      this.kick(x, 20);
    }
    if (!other || other.down) return;
    if (becauseHangup) {
      other.setVar('bridge_hangup_cause', ch.hangupCause);
      if (isTrue(other.vars.get('hangup_after_bridge'))) {
        this.hangup(other, ch.hangupCause ?? 'NORMAL_CLEARING');
        return;
      }
    }
    if (isTrue(other.vars.get('park_after_bridge')) || !becauseHangup) this.park(other);
    else this.hangup(other, 'NORMAL_CLEARING');
  }

  park(ch: Channel): void {
    ch.state = 'CS_PARK';
    ch.bridgeLoop = undefined;
    this.fire(this.channelEvent(ch, 'CHANNEL_PARK', 'switch_ivr.c', 'switch_ivr_park', 1004));
    this.kick(ch, 20);
  }

  /**
   * `originate [{var=value,…}]null/<number> &park()`: mod_loopback's null endpoint answers at once
   * and the channel parks, with no SIP and no media. The one originate the stand-in models: tests
   * use it to leave behind a channel no call holds. The channel exists when the reply is written;
   * its events follow it, in the recorded order (watcher-orphan-*).
   */
  originate(arg: string): string {
    const usage = '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';
    const [url, dest] = arg.split(/\s+/);
    if (!url || !dest) return usage;
    const m = /^(?:\{([^}]*)\})?([^/{}]+)\/(.*)$/.exec(url);
    if (!m || m[2] !== 'null') return '-ERR CHAN_NOT_IMPLEMENTED\n';
    if (!/^&park(\(\))?$/.test(dest)) return `-ERR the FreeSWITCH stand-in originates null/ channels to &park only, not ${dest}\n`;
    const vars = new Map((m[1] ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => splitVar(kv)));
    const uuid = vars.get('origination_uuid') || randomUUID();
    if (this.channels.has(uuid)) return '-ERR DESTINATION_OUT_OF_ORDER\n';
    const number = m[3] ?? '';
    const ch = new Channel(uuid, null, `null/${number}`, { destinationNumber: number }, undefined);
    this.channels.set(uuid, ch);
    this.countSession();
    for (const [k, v] of [['direction', 'outbound'], ['is_outbound', 'true'], ['uuid', uuid], ['call_uuid', uuid],
      ['session_id', String(++this.sessionId)], ['read_codec', 'L16'], ['read_rate', '8000'], ['write_codec', 'L16'],
      ['write_rate', '8000'], ['channel_name', ch.name], ['originate_early_media', 'true'], ['originate_endpoint', 'null'], ...vars]) {
      ch.setVar(k!, v);
    }
    // The session is born under a uuid of its own; origination_uuid renames it (CHANNEL_UUID) after
    // its CODEC events, so a listener filtering on the new uuid sees CHANNEL_UUID instead (recorded).
    const bornAs = vars.has('origination_uuid') ? randomUUID() : uuid;
    this.timers.set(() => {
      if (ch.down) return;
      const fire = (name: string) => this.fire(this.channelEvent(ch, name, 'switch_core_state_machine.c', 'switch_core_session_run', 626));
      for (let i = 0; i < 2; i++) {
        const codec = this.channelEvent(ch, 'CODEC', 'switch_core_codec.c', 'switch_core_session_set_read_codec', 253);
        for (const h of ['Unique-ID', 'Channel-Call-UUID', 'Caller-Unique-ID']) codec.set(h, bornAs);
        this.fire(codec);
      }
      if (bornAs !== uuid) {
        this.fire(this.channelEvent(ch, 'CHANNEL_UUID', 'switch_core_session.c', 'switch_core_session_set_uuid', 2194, (ev) => ev.add('Old-Unique-ID', bornAs)));
      }
      fire('CHANNEL_OUTGOING');
      this.setState(ch, 'CS_INIT');
      fire('CHANNEL_CREATE');
      fire('CHANNEL_ORIGINATE');
      this.setState(ch, 'CS_ROUTING');
      this.setState(ch, 'CS_CONSUME_MEDIA');
      ch.answeredUs = nowUs();
      ch.answerState = 'answered';
      this.fire(this.channelEvent(ch, 'CHANNEL_ANSWER', 'switch_channel.c', 'switch_channel_perform_mark_answered', 3943));
      this.setCallState(ch, 'ACTIVE');
      fire('CALL_UPDATE');
      this.setState(ch, 'CS_EXECUTE');
      // The session thread runs the application at once (recorded: EXECUTE park right after CS_EXECUTE).
      ch.queue.push({ app: 'park', arg: '', loops: 1 });
      void this.runNext(ch);
    }, 1);
    return `+OK ${uuid}\n`;
  }

  /** The park application entered (CHANNEL_PARK) or left (CHANNEL_UNPARK) on a channel. */
  parkEvent(ch: Channel, name: 'CHANNEL_PARK' | 'CHANNEL_UNPARK'): void {
    this.fire(this.channelEvent(ch, name, 'switch_ivr.c', 'switch_ivr_park', name === 'CHANNEL_PARK' ? 1004 : 1267));
  }

  // ---- API ----

  api(command: string, arg: string | undefined, _l?: EslListener): string {
    const fn = API[command.toLowerCase()];
    if (!fn) return `-ERR ${command} Command not found!\n`;
    return fn(this, (arg ?? '').trim());
  }

  bgapi(command: string, arg: string | undefined, jobUuid: string, owner: string | undefined): void {
    this.timers.set(() => {
      const body = this.api(command, arg);
      const ev = this.newEvent('BACKGROUND_JOB', 'mod_event_socket.c', 'api_exec', 1572);
      ev.add('Job-UUID', jobUuid).add('Job-Owner-UUID', owner).add('Job-Command', command).add('Job-Command-Arg', arg);
      ev.body = body;
      this.fire(ev);
    }, 1);
  }

  sofiaStatus(): string {
    const bar = '='.repeat(97);
    const row = (a: string, b: string, c: string, d: string) => `${a.padStart(25)}\t${b}\t  ${c.padStart(40)}\t${d}\n`;
    return row('Name', '   Type', 'Data', 'State') + bar + '\n' +
      row(this.profile, 'profile', `sip:mod_sofia@${this.host}:${this.sip.port}`, `RUNNING (${this.channels.size})`) +
      bar + '\n1 profile 0 aliases\n';
  }

  /** mod_commands.c status_function, line for line as recorded (watcher-orphan-*). */
  status(): string {
    const up = Date.now() - this.startedAt;
    return `UP ${upTime(up)}\nFreeSWITCH (Version ${VERSION_STATUS}) is ready\n` +
      `${this.sessionsSinceStartup} session(s) since startup\n` +
      `${this.sessionCount()} session(s) - peak ${this.peakSessions}, last 5min ${this.peakSessions} \n` +
      `${this.spsLast} session(s) per Sec out of max ${this.spsLimit}, peak ${this.spsPeak}, last 5min ${this.spsPeak5m} \n` +
      `1000 session(s) max\nmin idle cpu 0.00/${IDLE_CPU.toFixed(2)}\n` +
      'Current Stack Size/Max 240K/8192K\n';
  }

  showChannels(asJson: boolean): string {
    const rows = [...this.channels.values()].filter((c) => !c.tornDown).map((c) => c.isNull ? this.nullRow(c) : ({
      uuid: c.uuid, direction: 'inbound', created: stamp(c.createdUs), created_epoch: String(Math.floor(c.createdUs / 1e6)),
      name: c.name, state: c.state, cid_name: c.profile['callerIdName'] ?? '', cid_num: c.profile['callerIdNumber'] ?? '',
      ip_addr: c.profile['networkAddr'] ?? '', dest: c.profile['destinationNumber'] ?? '',
      application: c.running?.app ?? (c.socketApp ? 'socket' : ''), application_data: c.running?.arg ?? c.socketApp?.data ?? '',
      dialplan: 'XML', context: 'mrf', read_codec: c.codec?.name ?? '', read_rate: '8000', read_bit_rate: '64000',
      write_codec: c.codec?.name ?? '', write_rate: '8000', write_bit_rate: '64000', secure: '', hostname: this.hostname,
      presence_id: '', presence_data: '', accountcode: '', callstate: c.callState, callee_name: '', callee_num: '',
      callee_direction: '', call_uuid: c.uuid, sent_callee_name: '', sent_callee_num: '',
      initial_cid_name: c.profile['callerIdName'] ?? '', initial_cid_num: c.profile['callerIdNumber'] ?? '',
      initial_ip_addr: c.profile['networkAddr'] ?? '', initial_dest: c.profile['destinationNumber'] ?? '',
      initial_dialplan: 'XML', initial_context: 'mrf',
    }));
    // Recorded: `{"row_count": 0}` with a space and a newline when empty, compact JSON otherwise.
    if (asJson) return rows.length ? JSON.stringify({ row_count: rows.length, rows }) : '{"row_count": 0}\n';
    const cols = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest', 'application', 'application_data', 'dialplan', 'context', 'read_codec', 'read_rate', 'read_bit_rate', 'write_codec', 'write_rate', 'write_bit_rate', 'secure', 'hostname', 'presence_id', 'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction', 'call_uuid', 'sent_callee_name', 'sent_callee_num', 'initial_cid_name', 'initial_cid_num', 'initial_ip_addr', 'initial_dest', 'initial_dialplan', 'initial_context'];
    const lines = [cols.join(','), ...rows.map((r) => cols.map((k) => (r as Record<string, string>)[k] ?? '').join(','))];
    return `${lines.join('\n')}\n\n${rows.length} total.\n`;
  }

  /** A null/… channel's row in `show channels`, as recorded (watcher-orphan-*). */
  private nullRow(c: Channel): Record<string, string> {
    const dest = c.profile['destinationNumber'] ?? '';
    return {
      uuid: c.uuid, direction: 'outbound', created: stamp(c.createdUs), created_epoch: String(Math.floor(c.createdUs / 1e6)),
      name: c.name, state: c.state, cid_name: 'Outbound Call', cid_num: dest, ip_addr: '', dest,
      application: c.running?.app ?? '', application_data: c.running?.arg ?? '', dialplan: '', context: 'default',
      read_codec: 'L16', read_rate: '8000', read_bit_rate: '128000', write_codec: 'L16', write_rate: '8000', write_bit_rate: '128000',
      secure: '', hostname: this.hostname, presence_id: '', presence_data: '', accountcode: '', callstate: c.callState,
      callee_name: '', callee_num: '0000000000', callee_direction: 'RECV', call_uuid: c.uuid, sent_callee_name: '', sent_callee_num: '',
      initial_cid_name: '', initial_cid_num: '0000000000', initial_ip_addr: '', initial_dest: dest, initial_dialplan: '', initial_context: 'default',
    };
  }

  /** uuid_dump: CHANNEL_DATA with the channel's data, serialised plain (url-encoded) by default. */
  dump(ch: Channel, format: string): string {
    const ev = this.newEvent('CHANNEL_DATA', 'mod_commands.c', 'uuid_dump_function', 3829);
    this.addChannelData(ev, ch, true);
    if (format === 'json') return ev.serializeJson();
    if (format === 'xml') return ev.serializeXml();
    return ev.serializePlain();
  }

  channel(uuid: string): Channel | undefined {
    const ch = this.channels.get(uuid);
    return ch && !ch.tornDown ? ch : undefined;
  }

  info(ch: Channel): ChannelInfo {
    return {
      uuid: ch.uuid, callId: ch.sip?.callId ?? '', name: ch.name, state: ch.state, callState: ch.callState,
      answerState: ch.answerState, bridgedTo: ch.bridgedTo, currentApplication: ch.running?.app,
      rtpPort: ch.rtpPort, rtpPackets: ch.rtp?.packets ?? 0, queued: ch.queue.map((q) => q.app),
      recordings: [...ch.recordings.keys()], variables: Object.fromEntries(ch.vars),
    };
  }
}

// ---- helpers ----

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|on|enabled|active|allow|1)$/i.test(v);
}

function safeHostPort(uri: string): { host: string; port: number } {
  try {
    return hostPortOf(uri);
  } catch {
    return { host: '127.0.0.1', port: 5060 };
  }
}

/** sofia keeps the X- header spelling of the request; message.ts stores names lower-cased. */
function canonicalX(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase()).replace(/^X-Esl-Outbound$/, 'X-esl-outbound');
}

/** switch_core_measure_time as send_heartbeat and status print it: `1 day`, `2 days`. */
function upTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const n = (v: number, unit: string) => `${v} ${unit}${v === 1 ? '' : 's'}`;
  return [n(0, 'year'), n(Math.floor(s / 86400), 'day'), n(Math.floor(s / 3600) % 24, 'hour'), n(Math.floor(s / 60) % 60, 'minute'),
    n(s % 60, 'second'), n(ms % 1000, 'millisecond'), n(0, 'microsecond')].join(', ');
}

/** The version strings of the recorded 1.10.12 build (`status`, HEARTBEAT). */
const VERSION_STATUS = '1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit';
const VERSION_FULL = '1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit';
/** What the stand-in reports as idle CPU (percent); the real figure moves with the machine's load. */
const IDLE_CPU = 97.9;

function stamp(us: number): string {
  return eventDates(new Date(Math.floor(us / 1000))).local;
}

/** mod_sofia.c hangup_cause_to_sip for the causes the stand-in produces; anything else is 480. */
function sipStatusFor(cause: string): number {
  const map: Record<string, number> = {
    UNALLOCATED_NUMBER: 404, NO_ROUTE_DESTINATION: 404, USER_BUSY: 486, NO_USER_RESPONSE: 408, CALL_REJECTED: 603,
    DESTINATION_OUT_OF_ORDER: 502, NORMAL_TEMPORARY_FAILURE: 503, INCOMPATIBLE_DESTINATION: 488,
    RECOVERY_ON_TIMER_EXPIRE: 504, ORIGINATOR_CANCEL: 487,
  };
  return map[cause] ?? 480;
}

const PHRASES: Record<number, string> = {
  404: 'Not Found', 408: 'Request Timeout', 480: 'Temporarily Unavailable', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Server Time-out', 603: 'Decline',
};

/** tone_stream://%(on,off,freq...);loops=N — the traced %(300,200,440);loops=2 lasted exactly 1000 ms. */
function toneMs(spec: string): number {
  let total = 0;
  for (const m of spec.matchAll(/%\((\d+),(\d+)/g)) total += Number(m[1]) + Number(m[2]);
  const loops = /loops=(-?\d+)/.exec(spec)?.[1];
  if (loops === '-1') return -1;
  const n = loops ? Number(loops) : 1;
  return total > 0 ? total * n : 500;
}

// ---- applications ----

/** Applications that read the channel's media and parse private events between reads. */
const READS_EVENTS = new Set(['playback', 'play_and_get_digits', 'record']);

type App = (core: FreeSwitchCore, ch: Channel, run: AppRun, arg: string) => Promise<string>;

function splitVar(arg: string): [string, string | undefined] {
  const i = arg.indexOf('=');
  return i < 0 ? [arg.trim(), undefined] : [arg.slice(0, i).trim(), arg.slice(i + 1)];
}

const APPS: Record<string, App> = {
  async playback(core, ch, run, arg) {
    const delim = ch.vars.get('playback_delimiter');
    const files = delim && delim.length > 0 ? arg.split(delim) : [arg];
    for (const f of files) {
      const r = await core.playFile(ch, run, f.trim());
      if (r === 'not-found') return 'FILE NOT FOUND';
      if (r === 'hangup') return 'PLAYBACK ERROR';
      if (r === 'break') break;
    }
    return 'FILE PLAYED';
  },
  async set(_core, ch, _run, arg) {
    const [k, v] = splitVar(arg);
    if (k) ch.setVar(k, v === '' ? undefined : v);
    return '_none_';
  },
  async export(_core, ch, _run, arg) {
    const [k, v] = splitVar(arg.replace(/^nolocal:/, ''));
    if (k) {
      if (!arg.startsWith('nolocal:')) ch.setVar(k, v);
      const list = new Set((ch.vars.get('export_vars') ?? '').split(',').filter(Boolean));
      list.add(k);
      ch.setVar('export_vars', [...list].join(','));
    }
    return '_none_';
  },
  async multiset(_core, ch, _run, arg) {
    let delim = ' ';
    let rest = arg;
    const m = /^\^\^(.)/.exec(arg);
    if (m) {
      delim = m[1]!;
      rest = arg.slice(3);
    }
    for (const pair of rest.split(delim)) {
      const [k, v] = splitVar(pair);
      if (k) ch.setVar(k, v);
    }
    return '_none_';
  },
  async unset(_core, ch, _run, arg) {
    ch.setVar(arg.trim(), undefined);
    return '_none_';
  },
  async answer() {
    return '_none_';
  },
  async pre_answer() {
    return '_none_';
  },
  async ring_ready() {
    return '_none_';
  },
  async log() {
    return '_none_';
  },
  async info() {
    return '_none_';
  },
  async send_dtmf() {
    return '_none_';
  },
  async set_mute() {
    return '_none_';
  },
  async hangup(core, ch, _run, arg) {
    const cause = arg.trim().toUpperCase() || 'NORMAL_CLEARING';
    core.hangup(ch, cause);
    return '_none_';
  },
  async sleep(_core, _ch, run, arg) {
    await run.wait(Math.max(0, Number.parseInt(arg, 10) || 0));
    return '_none_';
  },
  async park(core, ch, run) {
    // switch_ivr_park: parked until something ends it (uuid_kill, a transfer).
    core.parkEvent(ch, 'CHANNEL_PARK');
    await run.wait(undefined);
    core.parkEvent(ch, 'CHANNEL_UNPARK');
    return '_none_';
  },
  async record_session(core, ch, run, arg) {
    const [path, limit] = arg.trim().split(/\s+/);
    if (path) core.startRecording(ch, path, limit ? Number(limit) : undefined);
    // media bug attached; the app returns at once (traced: EXECUTE_COMPLETE ~20 ms after EXECUTE)
    await run.wait(20);
    return '_none_';
  },
  async stop_record_session(core, ch, _run, arg) {
    core.stopRecording(ch, arg.trim() || 'all');
    return '_none_';
  },
  async record(core, ch, run, arg) {
    // record <path> [time_limit_secs] [silence_thresh] [silence_hits]: no audio arrives, so the
    // recording ends on the silence detector, the time limit, a terminator digit, break or hangup.
    const [path, limit, thresh, hits] = arg.trim().split(/\s+/);
    if (!path) return '_none_';
    const started = Date.now();
    try {
      writeWav(path, 0);
    } catch {
      return '_none_';
    }
    let ms: number | undefined;
    if (thresh && Number(thresh) > 0) ms = (Number(hits) || 3) * 1000;
    if (limit && Number(limit) > 0) ms = Math.min(ms ?? Infinity, Number(limit) * 1000);
    const terminators = ch.vars.get('playback_terminators') ?? '*';
    for (;;) {
      const left = ms === undefined ? undefined : ms - (Date.now() - started);
      if (left !== undefined && left <= 0) break;
      if (!core.media.flowing(ch.rtp)) {
        // Traced (record-stall-*): on a silent leg record never reached its time limit and ignored
        // uuid_break; RTP, a private event (e.g. the hangup of Endpoint.destroy) or hangup end the wait.
        const r = await run.blockedRead(undefined);
        if (r.kind === 'read' && !run.stopped) continue;
        break;
      }
      const w = await run.wait(left, true);
      if (w.kind === 'dtmf') {
        if (terminators !== 'none' && terminators.includes(w.digit)) {
          ch.setVar('playback_terminator_used', w.digit);
          break;
        }
        continue;
      }
      break;
    }
    const took = Date.now() - started;
    writeWav(path, took);
    ch.setVar('record_ms', took);
    ch.setVar('record_seconds', Math.floor(took / 1000));
    ch.setVar('record_samples', took * 8);
    return '_none_';
  },
  async play_and_get_digits(core, ch, run, arg) {
    // min max tries timeout terminators file invalid_file var_name regexp digit_timeout
    const a = arg.trim().split(/\s+/);
    const min = Number(a[0] ?? 0);
    const max = Number(a[1] ?? 128);
    const tries = Math.max(1, Number(a[2] ?? 1));
    const timeout = Number(a[3] ?? 5000);
    const terminators = a[4] ?? '#';
    const file = a[5] ?? '';
    const invalid = a[6];
    const varName = a[7] ?? 'pagd_input';
    const regexp = a[8] ? new RegExp(a[8]) : undefined;
    const digitTimeout = Number(a[9] ?? timeout);
    let last = '';
    for (let t = 0; t < tries; t++) {
      let digits = '';
      let term = '';
      const take = (d: string): boolean => {
        if (terminators.includes(d)) {
          term = d;
          return true;
        }
        digits += d;
        return digits.length >= max;
      };
      let finished = false;
      while (ch.dtmfBuffer.length > 0 && !finished) finished = take(ch.dtmfBuffer.shift()!);
      if (!finished && file) {
        const r = await core.playFile(ch, run, file, (d) => take(d));
        if (r === 'hangup' || run.stopped) break;
        finished = digits.length >= max || term !== '';
      }
      let wait = digits.length > 0 ? digitTimeout : timeout;
      while (!finished) {
        const w = await run.wait(wait, true);
        if (w.kind !== 'dtmf') break;
        finished = take(w.digit);
        wait = digitTimeout;
      }
      if (run.stopped) break;
      last = digits;
      ch.setVar('read_terminator_used', term || undefined);
      if (digits.length >= min && digits.length <= max && (!regexp || regexp.test(digits))) {
        ch.setVar(varName, digits);
        ch.setVar('read_result', 'success');
        return '_none_';
      }
      ch.setVar(`${varName}_invalid`, digits || undefined);
      if (invalid && t + 1 < tries) await core.playFile(ch, run, invalid);
    }
    ch.setVar(varName, undefined);
    ch.setVar('read_result', last ? 'failure' : 'timeout');
    return '_none_';
  },
};

// ---- API commands ----

type Api = (core: FreeSwitchCore, arg: string) => string;

function withUuid(core: FreeSwitchCore, arg: string, usage: string, fn: (ch: Channel, rest: string[]) => string, missing = '-ERR No such channel!\n'): string {
  const parts = arg.split(/\s+/).filter(Boolean);
  if (parts.length === 0) return `-USAGE: ${usage}\n`;
  const ch = core.channel(parts[0]!);
  return ch ? fn(ch, parts.slice(1)) : missing;
}

const API: Record<string, Api> = {
  status: (core) => core.status(),
  originate: (core, arg) => core.originate(arg),
  version: () => 'FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)\n',
  hostname: (core) => core.hostname,
  reloadxml: () => '+OK [Success]\n',
  global_getvar: () => '',
  sofia(core, arg) {
    const [sub, what, name] = arg.split(/\s+/);
    if (sub === 'status' && !what) return core.sofiaStatus();
    if (sub === 'status' && what === 'profile' && name === core.profile) {
      return `${'='.repeat(97)}\nName             \t${core.profile}\nDomain Name      \tN/A\nAuto-NAT         \tfalse\n` +
        `DBName           \t${core.profile}\nContext          \tmrf\nDialplan         \tXML\n` +
        `SIP-IP           \t${core.host}\nURL              \tsip:mod_sofia@${core.host}:${core.sip.port}\n` +
        `BIND-URL         \tsip:mod_sofia@${core.host}:${core.sip.port};transport=udp\n${'='.repeat(97)}\n`;
    }
    if (sub === 'status' && what === 'profile') return `Invalid Profile ${name ?? ''}!\n`;
    return '-ERR Unknown command!\n';
  },
  show(core, arg) {
    const [what, , fmt] = arg.split(/\s+/);
    if (what === 'channels' || what === 'calls') {
      if (arg.includes(' count')) return `\n${core.channels.size} total.\n`;
      return core.showChannels(fmt === 'json');
    }
    return '-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]\n';
  },
  uuid_exists: (core, arg) => (core.channel(arg.split(/\s+/)[0] ?? '') ? 'true' : 'false'),
  uuid_kill: (core, arg) => withUuid(core, arg, '<uuid> [cause]', (ch, rest) => {
    // mod_commands.c kill_function: NORMAL_CLEARING unless a cause is given (recorded in bridge-held-*, watcher-orphan-*).
    core.hangup(ch, (rest[0] ?? 'NORMAL_CLEARING').toUpperCase());
    return '+OK\n';
  }),
  uuid_bridge(core, arg) {
    const [a, b, c] = arg.split(/\s+/);
    if (!a || !b) return '-USAGE: <uuid> <other_uuid>\n';
    const A = core.channel(a);
    const B = core.channel(b) ?? (c ? core.channel(c) : undefined);
    if (!A || !B || A === B || A.down || B.down) return '-ERR Invalid uuid\n';
    core.bridge(A, B);
    return `+OK ${B.uuid}\n`;
  },
  uuid_break: (core, arg) => withUuid(core, arg, '<uuid> [all]', (ch, rest) => {
    core.breakApp(ch, rest[0] === 'all');
    return '+OK\n';
  }),
  uuid_transfer: (core, arg) => withUuid(core, arg, '<uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]', (ch, rest) => {
    const both = rest[0] === '-both';
    const dest = rest.find((r) => !r.startsWith('-'));
    const other = ch.bridgedTo ? core.channel(ch.bridgedTo) : undefined;
    if (ch.bridgedTo) core.unbridge(ch, false);
    if (dest === 'park') {
      core.park(ch);
      if (both && other) core.park(other);
    }
    return '+OK\n';
  }),
  uuid_park: (core, arg) => withUuid(core, arg, '<uuid>', (ch) => {
    if (ch.bridgedTo) core.unbridge(ch, false);
    core.park(ch);
    return '+OK\n';
  }),
  uuid_record: (core, arg) => withUuid(core, arg, '<uuid> [start|stop|mask|unmask] <path> [<limit>]', (ch, rest) => {
    const [action, path, limit] = rest;
    if (!action || !path) return '-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n';
    switch (action.toLowerCase()) {
      case 'start':
        return core.startRecording(ch, path, limit ? Number(limit) : undefined) ? '+OK Success\n' : '-ERR Cannot record session!\n';
      case 'stop':
        return core.stopRecording(ch, path) ? '+OK Success\n' : '-ERR Cannot stop record session!\n';
      case 'mask': case 'unmask': case 'pause': case 'resume':
        return ch.recordings.has(path) ? '+OK Success\n' : `-ERR Cannot ${action.toLowerCase()} recording session!\n`;
      default:
        return '-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n';
    }
  }, '-ERR Cannot locate session!\n'),
  uuid_broadcast: (core, arg) => withUuid(core, arg, '<uuid> <path> [aleg|bleg|both]', (ch, rest) => {
    const path = rest[0];
    if (!path) return '-USAGE: <uuid> <path> [aleg|bleg|both]\n';
    const leg = rest[1] ?? 'aleg';
    const targets = [ch];
    const other = ch.bridgedTo ? core.channel(ch.bridgedTo) : undefined;
    if (other && (leg === 'bleg' || leg === 'both')) {
      if (leg === 'bleg') targets.length = 0;
      targets.push(other);
    }
    for (const t of targets) {
      const m = /^([a-z_]+)::(.*)$/.exec(path);
      core.enqueue(t, m ? { app: m[1]!, arg: m[2]!.replace(/^\s+/, ''), loops: 1 } : { app: 'playback', arg: path, loops: 1 });
    }
    return '+OK Message sent\n';
  }, '-ERR invalid uuid\n'),
  uuid_dump: (core, arg) => withUuid(core, arg, '<uuid> [format]', (ch, rest) => core.dump(ch, (rest[0] ?? 'txt').toLowerCase())),
  uuid_setvar: (core, arg) => withUuid(core, arg, '<uuid> <var> [value]', (ch, rest) => {
    const [name, ...value] = rest;
    if (!name) return '-ERR No variable specified\n';
    ch.setVar(name, value.length > 0 ? value.join(' ') : undefined);
    return '+OK\n';
  }),
  uuid_setvar_multi: (core, arg) => withUuid(core, arg, '<uuid> <var>=<value>;<var>=<value>...', (ch, rest) => {
    for (const pair of rest.join(' ').split(';')) {
      const [k, v] = splitVar(pair);
      if (k) ch.setVar(k, v === '' ? undefined : v);
    }
    return '+OK\n';
  }),
  uuid_getvar: (core, arg) => withUuid(core, arg, '<uuid> <var>', (ch, rest) => {
    if (!rest[0]) return '-ERR No variable name specified!\n';
    return ch.vars.get(rest[0]) ?? '_undef_';
  }),
  uuid_send_dtmf: (core, arg) => withUuid(core, arg, '<uuid> <dtmf_data>', (ch, rest) => `+OK ${ch.uuid} sent DTMF ${rest.join(' ')}.\n`, '-ERR Cannot locate session!\n'),
  uuid_set_media_stats: (core, arg) => {
    const uuid = arg.split(/\s+/)[0] ?? '';
    const ch = core.channel(uuid);
    if (!uuid) return '-USAGE: <uuid>\n';
    if (!ch) return `-ERR No such channel ${uuid}!\n`;
    const secs = Math.max(0, (Date.now() * 1000 - ch.answeredUs) / 1e6);
    const pkts = ch.answeredUs ? Math.floor(secs * 50) : 0;
    const stats: Array<[string, number | string]> = [
      ['in_raw_bytes', pkts * 172], ['in_media_bytes', pkts * 160], ['in_packet_count', pkts], ['in_media_packet_count', pkts],
      ['in_skip_packet_count', 0], ['in_jitter_packet_count', 0], ['in_dtmf_packet_count', 0], ['in_cng_packet_count', 0],
      ['in_flush_packet_count', 0], ['in_largest_jb_size', 0], ['in_jitter_min_variance', '0.00'], ['in_jitter_max_variance', '0.00'],
      ['in_jitter_loss_rate', '0.00'], ['in_jitter_burst_rate', '0.00'], ['in_mean_interval', '0.00'], ['in_flaw_total', 0],
      ['in_quality_percentage', '100.00'], ['in_mos', '4.50'], ['out_raw_bytes', pkts * 172], ['out_media_bytes', pkts * 160],
      ['out_packet_count', pkts], ['out_media_packet_count', pkts], ['out_skip_packet_count', 0], ['out_dtmf_packet_count', 0],
      ['out_cng_packet_count', 0], ['rtcp_packet_count', 0], ['rtcp_octet_count', 0],
    ];
    for (const [k, v] of stats) ch.setVar(`rtp_audio_${k}`, v);
    return '+OK:\n';
  },
  uuid_answer: (core, arg) => withUuid(core, arg, '<uuid>', () => '+OK\n'),
  uuid_hold: (core, arg) => withUuid(core, arg, '[off|toggle] <uuid> [<display>]', () => '+OK Success\n'),
  echo: (_core, arg) => arg,
};

export { AppRun, Channel, type Peer };
