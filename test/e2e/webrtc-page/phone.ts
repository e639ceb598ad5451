// A test-only WebRTC seat until the product's /phone page (issue 13, web phone) lands: sip.js
// registering over WebSocket and placing one call, driven from the test through window.seat.
// The call's media is the browser's own (fake microphone), its stats read from the peer connection.
import type { CallOutcome, MediaStats } from './types.js';
import { Inviter, Registerer, RegistererState, SessionState, UserAgent, Web, type Invitation, type Session } from 'sip.js';

interface Login { wsUrl: string; seat: string; password: string; domain: string }

let ua: UserAgent | null = null;
let session: Session | null = null;
/** The last incoming call not yet answered. */
let incoming: Invitation | null = null;
/** re-INVITEs the current call received (session-timer refreshes, a far end's hold). */
let reinvites = 0;

/** Counts the re-INVITEs a call gets; sip.js answers them itself. */
function watch(s: Session): void {
  reinvites = 0;
  s.delegate = { onInvite: () => { reinvites++; } };
}

function peer(): RTCPeerConnection | null {
  const sdh = session?.sessionDescriptionHandler as Web.SessionDescriptionHandler | undefined;
  return sdh?.peerConnection ?? null;
}

const seat = {
  async register(l: Login): Promise<void> {
    ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${l.seat}@${l.domain}`)!,
      transportOptions: { server: l.wsUrl },
      authorizationUsername: l.seat,
      authorizationPassword: l.password,
      logLevel: 'warn',
      // No STUN/TURN: the media server is on the seat's network; host candidates are enough.
      sessionDescriptionHandlerFactoryOptions: { iceGatheringTimeout: 1000, peerConnectionConfiguration: { iceServers: [] } },
      delegate: { onInvite: (inv) => { incoming = inv; } },
    });
    await ua.start();
    const reg = new Registerer(ua, { expires: 300 });
    await new Promise<void>((resolve, reject) => {
      reg.stateChange.addListener((s) => { if (s === RegistererState.Registered) resolve(); });
      reg.register({ requestDelegate: { onReject: (r) => reject(new Error(`REGISTER ${r.message.statusCode}`)) } }).catch(reject);
    });
  },

  call(number: string, domain: string): Promise<CallOutcome> {
    if (!ua) throw new Error('not registered');
    const inviter = new Inviter(ua, UserAgent.makeURI(`sip:${number}@${domain}`)!, {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    session = inviter;
    watch(inviter);
    return new Promise<CallOutcome>((resolve, reject) => {
      inviter.stateChange.addListener((s) => { if (s === SessionState.Established) resolve({ result: 'established', reason: null }); });
      inviter.invite({
        requestDelegate: {
          onReject: (r) => resolve({ result: r.message.statusCode ?? 0, reason: r.message.getHeader('Reason') ?? null }),
        },
      }).catch(reject);
    });
  },

  /** Answers the next incoming call (within timeoutMs); resolves once it is established. */
  async answer(timeoutMs: number): Promise<CallOutcome> {
    const until = Date.now() + timeoutMs;
    while (!incoming && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const inv = incoming;
    if (!inv) return { result: 408, reason: 'no incoming call' };
    incoming = null;
    session = inv;
    watch(inv);
    return new Promise<CallOutcome>((resolve, reject) => {
      inv.stateChange.addListener((s) => {
        if (s === SessionState.Established) resolve({ result: 'established', reason: null });
        if (s === SessionState.Terminated) resolve({ result: 487, reason: 'terminated before established' });
      });
      inv.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } }).catch(reject);
    });
  },

  /** Blind transfer (REFER) of the current call; resolves with the final NOTIFY's status line. */
  transfer(target: string, domain: string): Promise<string> {
    if (!session) throw new Error('no call');
    const s = session;
    return new Promise<string>((resolve, reject) => {
      s.refer(UserAgent.makeURI(`sip:${target}@${domain}`)!, {
        requestDelegate: { onReject: (r) => resolve(`REFER ${r.message.statusCode}`) },
        onNotify: (n) => {
          n.accept().catch(() => {});
          const line = (n.request.body ?? '').split(/\r?\n/)[0] ?? '';
          if (!/^SIP\/2\.0 1\d\d/.test(line)) resolve(line);
        },
      }).catch(reject);
    });
  },

  /** Hold (re-INVITE offering sendonly) or resume (sendrecv), as the product's phone does; the re-INVITE's final status. */
  hold(held: boolean): Promise<number> {
    if (!session) throw new Error('no call');
    const s = session;
    s.sessionDescriptionHandlerOptionsReInvite = { hold: held } as Web.SessionDescriptionHandlerOptions;
    return new Promise<number>((resolve, reject) => {
      s.invite({
        requestDelegate: {
          onAccept: (r) => resolve(r.message.statusCode ?? 200),
          onReject: (r) => resolve(r.message.statusCode ?? 0),
        },
      }).catch(reject);
    });
  },

  /** The current call's state ('Established', 'Terminated' …). */
  state(): string {
    return session?.state ?? 'none';
  },

  async stats(): Promise<MediaStats> {
    const pc = peer();
    const out: MediaStats = { connectionState: pc?.connectionState ?? 'none', dtlsState: null, packetsSent: 0, packetsReceived: 0, reinvites, sessionState: session?.state ?? 'none',
      localSdp: pc?.localDescription?.sdp ?? null, remoteSdp: pc?.remoteDescription?.sdp ?? null };
    if (!pc) return out;
    (await pc.getStats()).forEach((r: { type: string; dtlsState?: string; kind?: string; packetsSent?: number; packetsReceived?: number }) => {
      if (r.type === 'transport' && r.dtlsState) out.dtlsState = r.dtlsState;
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.packetsSent += r.packetsSent ?? 0;
      if (r.type === 'inbound-rtp' && r.kind === 'audio') out.packetsReceived += r.packetsReceived ?? 0;
    });
    return out;
  },

  async hangup(): Promise<void> {
    if (session?.state === SessionState.Established) await session.bye();
  },

  async stop(): Promise<void> {
    await ua?.stop();
  },
};

(window as unknown as { seat: typeof seat }).seat = seat;
