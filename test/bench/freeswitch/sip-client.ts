// A tiny UDP SIP UAC for tests of the FreeSWITCH stand-in (plays drachtio's part towards FS).
import dgram from 'node:dgram';
import {
  cseqOf, header, newBranch, param, parseMessage, randomToken, serializeMessage, setHeader, uriOf, type SipMessage,
} from '../sip/message.js';

export interface ClientDialog {
  callId: string;
  fromTag: string;
  toTag: string;
  remoteTarget: string;
  cseq: number;
  final: SipMessage;
  invite: SipMessage;
  /** Resolves with the BYE the far end sends (the client answers it 200 OK). */
  byeReceived: Promise<SipMessage>;
}

export const CALLER_SDP =
  'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8 101\r\n' +
  'a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n';

export class SipTestClient {
  readonly received: SipMessage[] = [];
  readonly sent: string[] = [];
  private waiters: Array<{ pred: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];
  private byeWaiters = new Map<string, (m: SipMessage) => void>();

  private constructor(private readonly socket: dgram.Socket, readonly port: number) {
    socket.on('message', (buf) => this.onMessage(buf.toString()));
  }

  static start(): Promise<SipTestClient> {
    return new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => resolve(new SipTestClient(s, s.address().port)));
    });
  }

  close(): void {
    this.socket.close();
  }

  sendRaw(text: string, port: number): void {
    this.sent.push(text);
    this.socket.send(text, port, '127.0.0.1');
  }

  private onMessage(text: string): void {
    let m: SipMessage;
    try {
      m = parseMessage(text);
    } catch {
      return;
    }
    this.received.push(m);
    if (m.method === 'BYE') {
      const res: SipMessage = { status: 200, reason: 'OK', headers: new Map(), body: '' };
      for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) setHeader(res, h, m.headers.get(h) ?? []);
      const via = header(m, 'via') ?? '';
      const port = Number(/:(\d+)/.exec(via.split(';')[0] ?? '')?.[1] ?? 5060);
      this.sendRaw(serializeMessage(res), port);
      this.byeWaiters.get(header(m, 'call-id') ?? '')?.(m);
    }
    for (const w of [...this.waiters]) {
      if (w.pred(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  waitFor(pred: (m: SipMessage) => boolean, timeoutMs = 5000): Promise<SipMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: SipMessage) => { clearTimeout(t); resolve(m); } };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error('timed out waiting for a SIP message'));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  buildInvite(fsPort: number, opts: { esl?: string; sdp?: string; user?: string; callId?: string } = {}): SipMessage {
    const callId = opts.callId ?? `${randomToken(12)}@127.0.0.1`;
    const m: SipMessage = { method: 'INVITE', uri: `sip:${opts.user ?? 'drachtio'}@127.0.0.1:${fsPort}`, headers: new Map(), body: opts.sdp ?? '' };
    setHeader(m, 'via', `SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=${newBranch()}`);
    setHeader(m, 'max-forwards', '70');
    setHeader(m, 'from', `<sip:127.0.0.1:${this.port}>;tag=${randomToken(13)}`);
    setHeader(m, 'to', `<sip:${opts.user ?? 'drachtio'}@127.0.0.1:${fsPort}>`);
    setHeader(m, 'call-id', callId);
    setHeader(m, 'cseq', `${100 + Math.floor(Math.random() * 1000)} INVITE`);
    setHeader(m, 'contact', `<sip:127.0.0.1:${this.port}>`);
    setHeader(m, 'user-agent', `drachtio-fsmrf:${randomToken(8)}`);
    if (opts.sdp) setHeader(m, 'content-type', 'application/sdp');
    if (opts.esl) setHeader(m, 'x-esl-outbound', opts.esl);
    return m;
  }

  /** INVITE → final response; ACKs a 2xx (with `ackSdp` for a 3pcc offer). */
  async invite(fsPort: number, opts: { esl?: string; sdp?: string; user?: string; ackSdp?: string; invite?: SipMessage } = {}): Promise<ClientDialog> {
    const inv = opts.invite ?? this.buildInvite(fsPort, opts);
    const callId = header(inv, 'call-id')!;
    const seq = cseqOf(inv).seq;
    this.sendRaw(serializeMessage(inv), fsPort);
    const final = await this.waitFor((m) => header(m, 'call-id') === callId && cseqOf(m).method === 'INVITE' && (m.status ?? 0) >= 200);
    let byeResolve: (m: SipMessage) => void = () => undefined;
    const byeReceived = new Promise<SipMessage>((r) => { byeResolve = r; });
    this.byeWaiters.set(callId, byeResolve);
    const d: ClientDialog = {
      callId, fromTag: param(header(inv, 'from'), 'tag')!, toTag: param(header(final, 'to'), 'tag') ?? '',
      remoteTarget: uriOf(header(final, 'contact')) ?? inv.uri!, cseq: seq, final, invite: inv, byeReceived,
    };
    if ((final.status ?? 0) < 300) this.ack(fsPort, d, inv, opts.ackSdp);
    return d;
  }

  ack(fsPort: number, d: ClientDialog, inv: SipMessage, sdp?: string): void {
    const m = this.inDialog('ACK', d, inv, sdp);
    setHeader(m, 'cseq', `${d.cseq} ACK`);
    this.sendRaw(serializeMessage(m), fsPort);
  }

  private inDialog(method: string, d: ClientDialog, inv: SipMessage, body = ''): SipMessage {
    const m: SipMessage = { method, uri: d.remoteTarget, headers: new Map(), body };
    setHeader(m, 'via', `SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=${newBranch()}`);
    setHeader(m, 'max-forwards', '70');
    setHeader(m, 'from', header(inv, 'from')!);
    setHeader(m, 'to', `${header(inv, 'to')!};tag=${d.toTag}`);
    setHeader(m, 'call-id', d.callId);
    if (body) setHeader(m, 'content-type', 'application/sdp');
    return m;
  }

  async request(fsPort: number, d: ClientDialog, inv: SipMessage, method: string, body = ''): Promise<SipMessage> {
    const m = this.inDialog(method, d, inv, body);
    d.cseq += 1;
    setHeader(m, 'cseq', `${d.cseq} ${method}`);
    if (method === 'INVITE') setHeader(m, 'contact', `<sip:127.0.0.1:${this.port}>`);
    const branch = param(header(m, 'via'), 'branch');
    this.sendRaw(serializeMessage(m), fsPort);
    const res = await this.waitFor((r) => r.status !== undefined && r.status >= 200 && param(header(r, 'via'), 'branch') === branch);
    if (method === 'INVITE' && (res.status ?? 0) < 300) {
      const ack = this.inDialog('ACK', d, inv);
      setHeader(ack, 'cseq', `${d.cseq} ACK`);
      this.sendRaw(serializeMessage(ack), fsPort);
    }
    return res;
  }
}
