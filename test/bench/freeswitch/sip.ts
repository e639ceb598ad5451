// The SIP side of the stand-in: a UDP user agent on the drachtio_mrf profile. It is a UAS for INVITE
// (with RFC 3261 retransmission handling) and a UAC only for the BYE it sends when a channel hangs up.
import dgram from 'node:dgram';
import {
  cseqOf, header, headers, hostPortOf, isRequest, newBranch, param, parseMessage, randomToken,
  serializeMessage, setHeader, uriOf, userOf, type SipMessage,
} from '../sip/message.js';
import { Timers } from './timers.js';

export const USER_AGENT = 'FreeSWITCH drachtio-mrf (call bench)';
export const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY';
export const SUPPORTED = 'path, replaces';

const T1 = 500;
const T2 = 4000;

export interface Peer { address: string; port: number }

export interface SipCall {
  callId: string;
  localTag: string;
  remoteTag: string;
  invite: SipMessage;
  source: Peer;
  /** Remote target: the Contact of the INVITE (updated by re-INVITEs). */
  remoteTarget: string;
  routeSet: string[];
  localCseq: number;
  remoteCseq: number;
  /** early: INVITE not answered yet; answered: 2xx sent, no ACK yet; confirmed: ACKed; ended. */
  state: 'early' | 'answered' | 'confirmed' | 'ended';
  inviteBranch: string;
  lastInviteResponse?: string;
}

export interface SipHandlers {
  onInvite(call: SipCall): void;
  onAck(call: SipCall, ack: SipMessage): void;
  /** A re-INVITE inside the dialog: return the final response to send. */
  onReinvite(call: SipCall, req: SipMessage): { status: number; reason: string; sdp?: string };
  onBye(call: SipCall): void;
  /** CANCEL of an INVITE that was not answered yet (the agent already sent 200 and 487). */
  onCancel(call: SipCall): void;
  onInfo(call: SipCall, req: SipMessage): void;
  /** No ACK for our 2xx within 64*T1. */
  onAckTimeout(call: SipCall): void;
}

interface ServerTxn { response?: string; to: Peer; expires: number }
interface ClientTxn { data: string; to: Peer; onResponse: (m: SipMessage) => void; timer?: unknown; finalTimer?: unknown }

/** Where a response goes: the source when the top Via asks for rport (RFC 3581), else the Via sent-by. */
function responseTarget(req: SipMessage, src: Peer): Peer {
  const via = header(req, 'via') ?? '';
  if (param(via, 'rport') !== undefined) return src;
  const m = /^SIP\/2\.0\/UDP\s+([^;:\s]+)(?::(\d+))?/i.exec(via);
  const host = param(via, 'received') ?? m?.[1];
  // The bench only ever talks to loopback; anything else goes back where it came from.
  if (host !== '127.0.0.1') return src;
  return { address: host, port: m?.[2] ? Number(m[2]) : 5060 };
}

export class SipAgent {
  readonly calls = new Map<string, SipCall>();
  private readonly serverTxns = new Map<string, ServerTxn>();
  private readonly clientTxns = new Map<string, ClientTxn>();
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
    private readonly handlers: SipHandlers,
    private readonly timers: Timers,
    private readonly log: (dir: 'in' | 'out', text: string, peer: Peer) => void,
  ) {
    socket.on('message', (buf, rinfo) => this.onPacket(buf.toString('utf8'), { address: rinfo.address, port: rinfo.port }));
    socket.on('error', () => { /* ICMP errors from a peer that went away: UDP is fire and forget */ });
  }

  static start(host: string, handlers: SipHandlers, timers: Timers, log: SipAgent['log']): Promise<SipAgent> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.removeListener('error', reject);
        resolve(new SipAgent(socket, host, socket.address().port, handlers, timers, log));
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private send(text: string, to: Peer): void {
    if (this.closed) return;
    this.log('out', text, to);
    this.socket.send(text, to.port, to.address);
  }

  private onPacket(text: string, src: Peer): void {
    if (text.trim() === '') return; // keep-alive CRLFs
    let msg: SipMessage;
    try {
      msg = parseMessage(text);
    } catch {
      return; // sofia drops what it cannot parse
    }
    this.log('in', text, src);
    if (isRequest(msg)) this.onRequest(msg, src);
    else this.onResponse(msg);
  }

  // ---- responses we build ----

  private response(req: SipMessage, src: Peer, status: number, reason: string, toTag?: string): SipMessage {
    const res: SipMessage = { status, reason, headers: new Map(), body: '' };
    const vias = [...headers(req, 'via')];
    if (vias[0] !== undefined) {
      let top = vias[0];
      if (/;\s*rport(?=;|$)/.test(top)) top = top.replace(/;\s*rport(?=;|$)/, `;rport=${src.port}`);
      const host = /^SIP\/2\.0\/\S+\s+([^;:\s]+)/i.exec(top)?.[1];
      if (host && host !== src.address && param(top, 'received') === undefined) top += `;received=${src.address}`;
      vias[0] = top;
    }
    setHeader(res, 'via', vias);
    setHeader(res, 'from', header(req, 'from') ?? '');
    let to = header(req, 'to') ?? '';
    if (toTag && param(to, 'tag') === undefined) to += `;tag=${toTag}`;
    setHeader(res, 'to', to);
    setHeader(res, 'call-id', header(req, 'call-id') ?? '');
    setHeader(res, 'cseq', header(req, 'cseq') ?? '');
    return res;
  }

  private reply(req: SipMessage, src: Peer, res: SipMessage): string {
    const text = serializeMessage(res);
    this.send(text, responseTarget(req, src));
    return text;
  }

  private txnKey(req: SipMessage): string {
    return `${param(header(req, 'via'), 'branch') ?? ''}|${cseqOf(req).method}`;
  }

  /** Replies to a non-INVITE request and remembers the reply for retransmissions (Timer J, 64*T1). */
  private replySimple(req: SipMessage, src: Peer, status: number, reason: string, toTag?: string, extra?: (m: SipMessage) => void): void {
    const res = this.response(req, src, status, reason, toTag);
    extra?.(res);
    const text = this.reply(req, src, res);
    this.serverTxns.set(this.txnKey(req), { response: text, to: responseTarget(req, src), expires: Date.now() + 64 * T1 });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, t] of this.serverTxns) if (t.expires < now) this.serverTxns.delete(k);
  }

  private onRequest(req: SipMessage, src: Peer): void {
    this.sweep();
    const method = req.method!;
    if (method !== 'ACK') {
      const txn = this.serverTxns.get(this.txnKey(req));
      if (txn) {
        // A retransmission: resend what we last said, if anything.
        if (txn.response) this.send(txn.response, txn.to);
        return;
      }
    }
    const callId = header(req, 'call-id') ?? '';
    const toTag = param(header(req, 'to'), 'tag');
    const call = this.calls.get(callId);
    switch (method) {
      case 'INVITE':
        if (toTag === undefined) {
          if (call) return; // same Call-ID, new branch: a forked copy; ignore
          this.newInvite(req, src);
        } else if (!call || call.localTag !== toTag || call.state === 'ended') {
          this.replySimple(req, src, 481, 'Call/Transaction Does Not Exist');
        } else this.reInvite(call, req, src);
        return;
      case 'ACK':
        if (call && (toTag === undefined || toTag === call.localTag)) {
          if (call.state === 'answered') {
            call.state = 'confirmed';
            this.handlers.onAck(call, req);
          }
          this.clientTxns.get(`2xx|${call.callId}`) && this.stopRetransmit(`2xx|${call.callId}`);
        }
        return;
      case 'CANCEL': {
        const inviteKey = `${param(header(req, 'via'), 'branch') ?? ''}|INVITE`;
        if (!call || !this.serverTxns.has(inviteKey)) {
          this.replySimple(req, src, 481, 'Call/Transaction Does Not Exist');
          return;
        }
        this.replySimple(req, src, 200, 'OK', call.localTag);
        if (call.state === 'early') {
          const res = this.response(call.invite, call.source, 487, 'Request Terminated', call.localTag);
          call.lastInviteResponse = this.reply(call.invite, call.source, res);
          this.serverTxns.set(inviteKey, { response: call.lastInviteResponse, to: responseTarget(call.invite, call.source), expires: Date.now() + 64 * T1 });
          call.state = 'ended';
          this.calls.delete(call.callId);
          this.handlers.onCancel(call);
        }
        return;
      }
      case 'BYE':
        if (!call || toTag !== call.localTag || call.state === 'ended') {
          this.replySimple(req, src, 481, 'Call/Transaction Does Not Exist');
          return;
        }
        this.replySimple(req, src, 200, 'OK', call.localTag);
        this.end(call);
        this.handlers.onBye(call);
        return;
      case 'INFO':
      case 'UPDATE':
      case 'NOTIFY':
      case 'MESSAGE':
        if (!call || toTag !== call.localTag) {
          this.replySimple(req, src, 481, 'Call/Transaction Does Not Exist');
          return;
        }
        this.replySimple(req, src, 200, 'OK', call.localTag);
        if (method === 'INFO') this.handlers.onInfo(call, req);
        return;
      case 'OPTIONS':
        this.replySimple(req, src, 200, 'OK', randomToken(13), (m) => {
          setHeader(m, 'allow', ALLOW);
          setHeader(m, 'accept', 'application/sdp');
          setHeader(m, 'supported', SUPPORTED);
          setHeader(m, 'user-agent', USER_AGENT);
        });
        return;
      default:
        this.replySimple(req, src, 501, 'Not Implemented', randomToken(13), (m) => setHeader(m, 'allow', ALLOW));
    }
  }

  private newInvite(req: SipMessage, src: Peer): void {
    const call: SipCall = {
      callId: header(req, 'call-id') ?? '',
      localTag: randomToken(13),
      remoteTag: param(header(req, 'from'), 'tag') ?? '',
      invite: req,
      source: src,
      remoteTarget: uriOf(header(req, 'contact')) ?? uriOf(header(req, 'from')) ?? '',
      routeSet: headers(req, 'record-route'),
      // sofia starts its own CSeq space where the peer's INVITE left off (traces: BYE CSeq = INVITE CSeq + 1)
      localCseq: cseqOf(req).seq,
      remoteCseq: cseqOf(req).seq,
      state: 'early',
      inviteBranch: param(header(req, 'via'), 'branch') ?? '',
    };
    this.calls.set(call.callId, call);
    const trying = this.response(req, src, 100, 'Trying');
    setHeader(trying, 'user-agent', USER_AGENT);
    call.lastInviteResponse = this.reply(req, src, trying);
    this.serverTxns.set(this.txnKey(req), { response: call.lastInviteResponse, to: responseTarget(req, src), expires: Number.MAX_SAFE_INTEGER });
    this.handlers.onInvite(call);
  }

  private okHeaders(m: SipMessage, call: SipCall, sdp: string | undefined): void {
    const user = userOf(call.invite.uri) ?? 'mod_sofia';
    setHeader(m, 'contact', `<sip:${user}@${this.address}:${this.port};transport=udp>`);
    setHeader(m, 'user-agent', USER_AGENT);
    setHeader(m, 'accept', 'application/sdp');
    setHeader(m, 'allow', ALLOW);
    setHeader(m, 'supported', SUPPORTED);
    setHeader(m, 'allow-events', 'talk, hold, conference, refer');
    if (sdp !== undefined) {
      setHeader(m, 'content-type', 'application/sdp');
      setHeader(m, 'content-disposition', 'session');
      m.body = sdp;
    }
  }

  /** Final 2xx to the initial INVITE; retransmitted (T1 doubling to T2) until the ACK arrives. */
  answer(call: SipCall, sdp: string, extra: Array<[string, string]> = []): void {
    if (call.state !== 'early') return;
    const res = this.response(call.invite, call.source, 200, 'OK', call.localTag);
    this.okHeaders(res, call, sdp);
    for (const [n, v] of extra) setHeader(res, n, v);
    const text = this.reply(call.invite, call.source, res);
    call.lastInviteResponse = text;
    call.state = 'answered';
    const key = this.txnKey(call.invite);
    const to = responseTarget(call.invite, call.source);
    this.serverTxns.set(key, { response: text, to, expires: Date.now() + 64 * T1 });
    this.retransmit(`2xx|${call.callId}`, text, to, () => {
      if (call.state === 'answered') this.handlers.onAckTimeout(call);
    });
  }

  /** Final non-2xx to the initial INVITE (the ACK for it is absorbed by the transaction). */
  reject(call: SipCall, status: number, reason: string, extra: Array<[string, string]> = []): void {
    if (call.state !== 'early') return;
    const res = this.response(call.invite, call.source, status, reason, call.localTag);
    setHeader(res, 'user-agent', USER_AGENT);
    for (const [n, v] of extra) setHeader(res, n, v);
    const text = this.reply(call.invite, call.source, res);
    this.serverTxns.set(this.txnKey(call.invite), { response: text, to: responseTarget(call.invite, call.source), expires: Date.now() + 64 * T1 });
    this.end(call);
  }

  private reInvite(call: SipCall, req: SipMessage, src: Peer): void {
    call.remoteCseq = cseqOf(req).seq;
    const contact = uriOf(header(req, 'contact'));
    if (contact) call.remoteTarget = contact;
    const { status, reason, sdp } = this.handlers.onReinvite(call, req);
    const res = this.response(req, src, status, reason, call.localTag);
    if (status < 300) this.okHeaders(res, call, sdp);
    else setHeader(res, 'user-agent', USER_AGENT);
    const text = this.reply(req, src, res);
    this.serverTxns.set(this.txnKey(req), { response: text, to: responseTarget(req, src), expires: Date.now() + 64 * T1 });
    if (status < 300) this.retransmit(`2xx|${call.callId}`, text, responseTarget(req, src), () => undefined);
  }

  private end(call: SipCall): void {
    call.state = 'ended';
    this.calls.delete(call.callId);
    this.stopRetransmit(`2xx|${call.callId}`);
  }

  /** BYE from our side (channel hung up here), with the Q.850 Reason sofia adds. */
  bye(call: SipCall, q850: number | undefined, causeName: string): void {
    if (call.state === 'ended' || call.state === 'early') return;
    this.end(call);
    call.localCseq += 1;
    const branch = newBranch();
    const req: SipMessage = { method: 'BYE', uri: call.remoteTarget, headers: new Map(), body: '' };
    setHeader(req, 'via', `SIP/2.0/UDP ${this.address}:${this.port};rport;branch=${branch}`);
    setHeader(req, 'max-forwards', '70');
    setHeader(req, 'from', header(call.invite, 'to') + `;tag=${call.localTag}`);
    setHeader(req, 'to', header(call.invite, 'from') ?? '');
    setHeader(req, 'call-id', call.callId);
    setHeader(req, 'cseq', `${call.localCseq} BYE`);
    if (call.routeSet.length > 0) setHeader(req, 'route', [...call.routeSet].reverse());
    setHeader(req, 'user-agent', USER_AGENT);
    setHeader(req, 'allow', ALLOW);
    setHeader(req, 'supported', SUPPORTED);
    if (q850 !== undefined && q850 > 0 && q850 < 128) setHeader(req, 'reason', `Q.850;cause=${q850};text="${causeName}"`);
    const text = serializeMessage(req);
    const next = uriOf(call.routeSet[call.routeSet.length - 1]) ?? call.remoteTarget;
    let to: Peer = call.source;
    try {
      const hp = hostPortOf(next);
      if (hp.host === '127.0.0.1') to = { address: hp.host, port: hp.port };
    } catch { /* keep the INVITE's source */ }
    const key = `${branch}|BYE`;
    this.clientTxns.set(key, { data: text, to, onResponse: () => this.stopRetransmit(key) });
    this.retransmit(key, text, to, () => this.clientTxns.delete(key));
  }

  /** Timer E/G: resend at T1, 2*T1, ... capped at T2, give up after 64*T1. */
  private retransmit(key: string, text: string, to: Peer, onTimeout: () => void): void {
    this.stopRetransmit(key, false);
    const txn: ClientTxn = this.clientTxns.get(key) ?? { data: text, to, onResponse: () => undefined };
    this.clientTxns.set(key, txn);
    this.send(text, to);
    let interval = T1;
    const tick = () => {
      this.send(text, to);
      interval = Math.min(interval * 2, T2);
      txn.timer = this.timers.set(tick, interval);
    };
    txn.timer = this.timers.set(tick, interval);
    txn.finalTimer = this.timers.set(() => {
      this.stopRetransmit(key);
      onTimeout();
    }, 64 * T1);
  }

  private stopRetransmit(key: string, remove = true): void {
    const txn = this.clientTxns.get(key);
    if (!txn) return;
    this.timers.clear(txn.timer);
    this.timers.clear(txn.finalTimer);
    if (remove) this.clientTxns.delete(key);
  }

  private onResponse(res: SipMessage): void {
    const key = `${param(header(res, 'via'), 'branch') ?? ''}|${cseqOf(res).method}`;
    const txn = this.clientTxns.get(key);
    if (txn && (res.status ?? 0) >= 200) txn.onResponse(res);
  }
}
