// A bare SIP-over-UDP client for the tests that play an attacker: crafted Authorization headers,
// replays, thousands of requests from one address (any 127.x address: Linux routes the whole
// loopback block). It is what scanners and fraudsters use; sipp plays the honest phones.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

export interface SipResponse {
  status: number;
  headers: Map<string, string>;
  raw: string;
}

export interface RequestSpec {
  method: 'INVITE' | 'REGISTER' | 'OPTIONS';
  /** Request-URI. */
  uri: string;
  from: string; // user
  to: string; // user
  callId?: string;
  cseq?: number;
  headers?: Record<string, string>;
  userAgent?: string;
  /** Body of an INVITE (default an SDP offer). */
  body?: { type: string; text: string };
}

const SDP = 'v=0\r\no=attacker 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n';

export class UdpSipClient {
  private readonly socket = dgram.createSocket('udp4');
  private readonly waiting = new Map<string, { responses: SipResponse[]; done: (r: SipResponse[]) => void }>();
  port = 0;

  constructor(readonly localIp: string, private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, this.localIp, () => resolve());
    });
    this.port = this.socket.address().port;
    this.socket.on('message', (buf) => this.onMessage(buf.toString('utf8')));
  }

  close(): void { this.socket.close(); }

  /** Sends a request; resolves with every response up to the final one (or what came by the timeout). */
  request(spec: RequestSpec, timeoutMs = 3000): Promise<SipResponse[]> {
    const callId = spec.callId ?? randomBytes(8).toString('hex');
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const cseq = spec.cseq ?? 1;
    const body = spec.method !== 'INVITE' ? '' : spec.body ? spec.body.text : SDP;
    const type = spec.body?.type ?? 'application/sdp';
    const lines = [
      `${spec.method} ${spec.uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.localIp}:${this.port};branch=${branch};rport`,
      `From: <sip:${spec.from}@${this.target.host}>;tag=${randomBytes(4).toString('hex')}`,
      `To: <sip:${spec.to}@${this.target.host}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${spec.method}`,
      `Contact: <sip:${spec.from}@${this.localIp}:${this.port}>`,
      'Max-Forwards: 70',
      ...(spec.userAgent ? [`User-Agent: ${spec.userAgent}`] : []),
      ...Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      ...(body ? [`Content-Type: ${type}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '', body,
    ];
    const key = `${callId}|${cseq}`;
    return new Promise((resolve) => {
      const entry = { responses: [] as SipResponse[], done: (r: SipResponse[]) => { clearTimeout(timer); this.waiting.delete(key); resolve(r); } };
      const timer = setTimeout(() => entry.done(entry.responses), timeoutMs);
      this.waiting.set(key, entry);
      this.socket.send(lines.join('\r\n'), this.target.port, this.target.host);
    });
  }

  private onMessage(text: string): void {
    const [head = ''] = text.split('\r\n\r\n');
    const [first = '', ...rest] = head.split('\r\n');
    const m = /^SIP\/2\.0 (\d{3})/.exec(first);
    if (!m) return;
    const headers = new Map<string, string>();
    for (const l of rest) {
      const i = l.indexOf(':');
      if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
    }
    const status = Number(m[1]);
    const cseq = /^(\d+)\s+(\w+)/.exec(headers.get('cseq') ?? '');
    const key = `${headers.get('call-id')}|${cseq?.[1]}`;
    const entry = this.waiting.get(key);
    if (status >= 200 && cseq?.[2] === 'INVITE') this.ack(text, headers);
    if (!entry) return;
    entry.responses.push({ status, headers, raw: text });
    if (status >= 200) entry.done(entry.responses);
  }

  /** ACK for a final response to an INVITE (RFC 3261 §17.1.1.3), so the server stops resending. */
  private ack(_text: string, h: Map<string, string>): void {
    const cseq = /^(\d+)/.exec(h.get('cseq') ?? '')?.[1] ?? '1';
    const msg = [
      `ACK sip:${this.target.host}:${this.target.port} SIP/2.0`,
      `Via: ${h.get('via') ?? ''}`,
      `From: ${h.get('from') ?? ''}`,
      `To: ${h.get('to') ?? ''}`,
      `Call-ID: ${h.get('call-id') ?? ''}`,
      `CSeq: ${cseq} ACK`,
      'Max-Forwards: 70',
      'Content-Length: 0', '', '',
    ].join('\r\n');
    this.socket.send(msg, this.target.port, this.target.host);
  }
}

/** Every value of a header in a raw message, in order (repeated lines are kept apart). */
export function headerValues(raw: string, name: string): string[] {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
}

/** An RFC 2617 / RFC 7616 qop=auth digest answer to `challenge` (a WWW-/Proxy-Authenticate value). */
export function digestAnswer(challenge: string, o: { user: string; password: string; method: string; uri: string; nc?: number }): string {
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const algorithm = /algorithm=([A-Za-z0-9-]+)/.exec(challenge)?.[1] ?? 'MD5';
  const h = (s: string) => createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(s, 'utf8').digest('hex');
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = randomBytes(4).toString('hex');
  const ha1 = h(`${o.user}:${realm}:${o.password}`);
  const ha2 = h(`${o.method}:${o.uri}`);
  const response = h(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${o.user}", realm="${realm}", nonce="${nonce}", uri="${o.uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}
