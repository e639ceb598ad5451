// The seat's SIP user agent in the browser (sip.js): registration over WebSocket (RFC 7118) with
// the seat's digest credentials, one call at a time, and what an agent does in a call (hang up,
// mute, hold/resume by re-INVITE, DTMF, blind transfer by REFER). It reports plain state to the
// page (main.ts) and never touches the DOM except the one <audio> element the far end plays in.
import {
  Invitation, Inviter, Registerer, RegistererState, SessionState, UserAgent, Web,
  type Core, type Info, type InviterInviteOptions, type Session,
} from 'sip.js';
import { CREDIT_WARNING_TYPE } from '../../src/calls/credit-warning-info.js';
import { plainWords, type PlainWords } from './deny-text.js';

export type CallPhase = 'calling' | 'ringing' | 'incoming' | 'connected' | 'ended';

export interface CallView {
  direction: 'outbound' | 'inbound';
  /** The number dialled, or the caller's. */
  number: string;
  phase: CallPhase;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  muted: boolean;
  held: boolean;
  /** Why a call did not connect (the response's Reason or status). */
  denial?: PlainWords;
  /** Who ended an answered call. */
  endedBy?: 'me' | 'far-end';
  /** Set when dialgate reported the blind transfer connected (NOTIFY with SIP/2.0 200). */
  transferredTo?: string;
  /** The far end sent early media (183/180 with SDP): it plays its own ringback. */
  earlyMedia?: boolean;
}

export type RegistrationState = 'registering' | 'registered' | 'unregistered' | 'failed' | 'reconnecting';

/** Reconnect backoff after the WebSocket drops: 1 s, 2 s, 4 s … at most this. */
const RECONNECT_MAX_MS = 30_000;

export interface PhoneEvents {
  registration(state: RegistrationState, detail?: string): void;
  call(view: CallView | null): void;
  /** dialgate's credit warning (an INFO in the call): seconds left before the cut-off. */
  creditWarning(secondsLeft: number | null): void;
  /** A transient message (transfer refused, hold failed ...). */
  notice(zh: string, en: string): void;
}

export interface PhoneOptions {
  wsUrl: string;
  realm: string;
  seat: string;
  password: string;
  displayName?: string;
  audio: HTMLAudioElement;
  /** sip.js's own log on the browser console (the page's `?debug`). */
  debug?: boolean;
}


export class SipPhone {
  private readonly ua: UserAgent;
  private readonly registerer: Registerer;
  private session: Session | null = null;
  private view: CallView | null = null;
  /** The WebSocket dropped (drachtio-server restart, network, sleep) and is being re-opened. */
  private lost = false;
  private stopping = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private registerTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly o: PhoneOptions, private readonly on: PhoneEvents) {
    const uri = UserAgent.makeURI(`sip:${o.seat}@${o.realm}`);
    if (!uri) throw new Error(`bad seat or realm: ${o.seat}@${o.realm}`);
    this.ua = new UserAgent({
      uri,
      transportOptions: { server: o.wsUrl },
      authorizationUsername: o.seat,
      authorizationPassword: o.password,
      ...(o.displayName ? { displayName: o.displayName } : {}),
      logBuiltinEnabled: o.debug === true,
      logLevel: o.debug === true ? 'debug' : 'warn',
      // No STUN/TURN of ours: candidates are the host's; the media server (FreeSWITCH) is the peer.
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 2000 },
      delegate: {
        onInvite: (inv) => this.incoming(inv),
        onDisconnect: (err) => this.disconnected(err),
        onConnect: () => this.reconnected(),
      },
    });
    // Back online after the network was away: try at once instead of at the next backoff step.
    globalThis.addEventListener?.('online', () => { if (this.lost) this.retryNow(); });
    this.registerer = new Registerer(this.ua, { expires: 300 });
    this.registerer.stateChange.addListener((s) => {
      if (s === RegistererState.Registered) this.on.registration('registered');
      else if (s === RegistererState.Unregistered) {
        this.on.registration('unregistered');
        // Not asked for (a refresh lost with the connection, a transaction timed out): register
        // again while connected, or the seat silently stops getting calls.
        if (!this.stopping && !this.lost) this.retryRegister();
      }
    });
  }

  async start(): Promise<void> {
    this.on.registration('registering');
    await this.ua.start();
    await this.register();
  }

  private async register(): Promise<void> {
    await this.registerer.register({
      requestDelegate: {
        // (sip.js reports no state change for a re-registration after a reconnect: it was registered)
        onAccept: () => this.on.registration('registered'),
        onReject: (r) => this.on.registration('failed', `${r.message.statusCode} ${r.message.reasonPhrase}`),
      },
    });
  }

  /**
   * The WebSocket went away. sip.js does not reconnect by itself (its reconnection attempts are
   * off); without this the page would look registered while no call could reach it. The binding at
   * dialgate lives on until it expires, but drachtio-server can no longer reach this connection.
   */
  private disconnected(err?: Error): void {
    if (this.stopping) return;
    this.lost = true;
    this.on.registration('reconnecting', err?.message);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.stopping) return;
    const delay = Math.min(RECONNECT_MAX_MS, 1000 * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => this.retryNow(), delay);
  }

  private retryNow(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.ua.reconnect().catch(() => this.scheduleReconnect());
  }

  /** Connected again: register on the new connection (drachtio-server reaches the seat through it). */
  private reconnected(): void {
    if (!this.lost || this.stopping) return;
    this.lost = false;
    this.attempts = 0;
    this.on.registration('registering');
    this.retryRegister(0);
  }

  /**
   * REGISTER after `delayMs`; refused by sip.js while one sent over the lost connection is still
   * pending (RequestPendingError, until its transaction times out): tried again with backoff.
   */
  private retryRegister(delayMs = 1000): void {
    if (this.registerTimer) return;
    this.registerTimer = setTimeout(() => {
      this.registerTimer = null;
      if (this.stopping || this.lost) return;
      this.register().catch(() => this.retryRegister(Math.min(RECONNECT_MAX_MS, Math.max(1000, delayMs * 2))));
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.registerTimer) clearTimeout(this.registerTimer);
    this.session && this.hangup();
    await this.registerer.unregister().catch(() => undefined);
    await this.ua.stop();
  }

  get busy(): boolean { return this.view !== null && this.view.phase !== 'ended'; }

  private publish(patch: Partial<CallView>): void {
    if (!this.view) return;
    this.view = { ...this.view, ...patch };
    this.on.call(this.view);
  }

  /** Dials a number (or a seat id); false when it cannot be a SIP user part. */
  call(number: string): boolean {
    const n = number.replace(/[\s-]/g, '');
    if (!/^\+?[0-9*#]{1,32}$/.test(n) || this.busy) return false;
    const target = UserAgent.makeURI(`sip:${encodeURIComponent(n)}@${this.o.realm}`)!;
    const inviter = new Inviter(this.ua, target, { sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
    this.view = { direction: 'outbound', number: n, phase: 'calling', startedAt: Date.now(), muted: false, held: false };
    this.on.creditWarning(null);
    this.on.call(this.view);
    this.track(inviter);
    const opts: InviterInviteOptions = {
      requestDelegate: {
        onProgress: (r) => {
          if (r.message.statusCode === 180 || r.message.statusCode === 183) this.publish({ phase: 'ringing', earlyMedia: this.view?.earlyMedia === true || !!r.message.body });
        },
        onReject: (r) => this.rejected(r),
      },
    };
    inviter.invite(opts).catch((err: unknown) => this.failed(err));
    return true;
  }

  private rejected(r: Core.IncomingResponse): void {
    const m = r.message;
    const reason = m.hasHeader('Reason') ? m.getHeader('Reason') : undefined;
    this.publish({ phase: 'ended', endedAt: Date.now(), denial: plainWords(m.statusCode ?? 0, reason) });
  }

  private failed(err: unknown): void {
    if (this.view?.phase === 'ended') return;
    // getUserMedia refused, WebSocket down …: the call never left the browser.
    const msg = err instanceof Error ? err.message : String(err);
    this.publish({ phase: 'ended', endedAt: Date.now(), denial: { zh: '呼叫未能发出', en: `Call not placed: ${msg}`, status: 0 } });
  }

  private incoming(inv: Invitation): void {
    if (this.busy) {
      // One call at a time: a second call is busy here (the 400 distribution rings someone else).
      void inv.reject({ statusCode: 486 });
      return;
    }
    const who = inv.remoteIdentity.uri.user ?? inv.remoteIdentity.displayName ?? '';
    this.view = { direction: 'inbound', number: who, phase: 'incoming', startedAt: Date.now(), muted: false, held: false };
    this.on.creditWarning(null);
    this.track(inv);
    this.on.call(this.view);
  }

  answer(): void {
    const s = this.session;
    if (!(s instanceof Invitation) || this.view?.phase !== 'incoming') return;
    s.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } })
      .catch((err: unknown) => this.failed(err));
  }

  decline(): void {
    const s = this.session;
    if (s instanceof Invitation && this.view?.phase === 'incoming') void s.reject({ statusCode: 603 });
  }

  /** Follows a session to its end; the far end's audio plays once it is established. */
  private track(s: Session): void {
    this.session = s;
    s.delegate = {
      onInfo: (info) => this.info(info),
    };
    s.stateChange.addListener((state) => {
      if (this.session !== s) return;
      if (state === SessionState.Established) {
        this.playRemote(s);
        this.publish({ phase: 'connected', answeredAt: Date.now() });
      } else if (state === SessionState.Terminated) {
        this.session = null;
        this.o.audio.srcObject = null;
        if (this.view && this.view.phase !== 'ended') {
          const denial = this.view.phase === 'incoming' ? { zh: '来电已结束', en: 'Caller hung up', status: 487 } : undefined;
          this.publish({ phase: 'ended', endedAt: Date.now(), ...(this.view.endedBy ? {} : { endedBy: 'far-end' as const }), ...(denial && !this.view.denial ? { denial } : {}) });
        }
      }
    });
  }

  private info(info: Info): void {
    const req = info.request;
    const type = req.getHeader('Content-Type') ?? '';
    if (type.split(';')[0]!.trim().toLowerCase() === CREDIT_WARNING_TYPE) {
      let secs: number | null = null;
      try {
        const body = JSON.parse(req.body) as { secondsLeft?: unknown };
        if (typeof body.secondsLeft === 'number') secs = body.secondsLeft;
      } catch { /* a warning without a figure is still a warning */ }
      this.on.creditWarning(secs ?? 0);
    }
    void info.accept();
  }

  private playRemote(s: Session): void {
    const sdh = s.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    if (!sdh) return;
    this.o.audio.srcObject = sdh.remoteMediaStream;
    void this.o.audio.play().catch(() => undefined);
  }

  hangup(): void {
    const s = this.session;
    if (!s || !this.view) return;
    this.view.endedBy = 'me';
    if (s instanceof Inviter && s.state === SessionState.Establishing) void s.cancel();
    else if (s instanceof Invitation && s.state !== SessionState.Established) void s.reject({ statusCode: 603 });
    else if (s.state === SessionState.Established) void s.bye();
  }

  /** Mutes the microphone locally (the far end hears silence; no signalling). */
  setMute(muted: boolean): void {
    const sdh = this.session?.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    if (!sdh || this.view?.phase !== 'connected') return;
    sdh.enableSenderTracks(!muted);
    this.publish({ muted });
  }

  /** Hold/resume: a re-INVITE offering sendonly (resume: sendrecv). */
  async setHold(held: boolean): Promise<void> {
    const s = this.session;
    if (!s || s.state !== SessionState.Established || this.view?.held === held) return;
    s.sessionDescriptionHandlerOptionsReInvite = { hold: held } as Web.SessionDescriptionHandlerOptions;
    await new Promise<void>((resolve) => {
      s.invite({
        requestDelegate: {
          onAccept: () => { this.publish({ held }); resolve(); },
          onReject: (r) => { this.on.notice(held ? '保持失败' : '恢复失败', `${held ? 'Hold' : 'Resume'} refused: ${r.message.statusCode}`); resolve(); },
        },
      }).catch((err: unknown) => { this.on.notice('操作失败', String(err)); resolve(); });
    });
  }

  /**
   * DTMF: RFC 4733 telephone-events in the media (the browser's RTCDTMFSender) when the call
   * negotiated them, which FreeSWITCH relays to the trunk; else SIP INFO (application/dtmf-relay).
   */
  dtmf(digit: string): 'rfc4733' | 'info' | null {
    const s = this.session;
    if (!s || s.state !== SessionState.Established || !/^[0-9*#A-D]$/.test(digit)) return null;
    const sdh = s.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
    if (sdh?.sendDtmf(digit, { duration: 120, interToneGap: 70 })) return 'rfc4733';
    void s.info({ requestOptions: { body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content: `Signal=${digit}\r\nDuration=120` } } });
    return 'info';
  }

  /** Blind transfer (REFER) to a seat id or a number; dialgate checks the target's policy. */
  async transfer(target: string): Promise<void> {
    const s = this.session;
    const n = target.replace(/[\s-]/g, '');
    if (!s || s.state !== SessionState.Established) return;
    if (!/^\+?[0-9]{1,32}$/.test(n)) { this.on.notice('转接号码无效', 'Invalid transfer target'); return; }
    const uri = UserAgent.makeURI(`sip:${n}@${this.o.realm}`)!;
    await s.refer(uri, {
      // The NOTIFYs' sipfrag (RFC 3515 §2.4.5): 100 while dialgate rings the target, then its final
      // status; on 200 the far party is with the target and dialgate's BYE follows.
      onNotify: (notification) => {
        const status = Number(/^SIP\/2\.0\s+(\d{3})/.exec(notification.request.body ?? '')?.[1] ?? 0);
        void notification.accept();
        if (status === 200) {
          this.publish({ transferredTo: n });
          this.on.notice(`已转接到 ${n}`, `Transferred to ${n}`);
        } else if (status >= 300) {
          this.on.notice(`转接失败：${n}`, `Transfer to ${n} failed: ${status}`);
        }
      },
      requestDelegate: {
        onAccept: () => this.on.notice(`正在转接到 ${n}`, `Transferring to ${n}`),
        onReject: (r) => {
          const w = plainWords(r.message.statusCode ?? 0, r.message.hasHeader('Reason') ? r.message.getHeader('Reason') : undefined);
          this.on.notice(`转接失败：${w.zh}`, `Transfer failed: ${w.en}`);
        },
      },
    }).catch((err: unknown) => this.on.notice('转接失败', String(err)));
  }
}
