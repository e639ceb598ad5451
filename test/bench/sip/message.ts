// A small RFC 3261 message model for the call bench's stand-ins (drachtio-server, FreeSWITCH).
// Independent of drachtio-srf's own parser on purpose: the bench must not share the app's bugs.

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via',
};

/** Canonical spelling used when serialising a header we know. */
const CANON: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', via: 'Via', from: 'From', to: 'To', contact: 'Contact',
  'max-forwards': 'Max-Forwards', 'content-type': 'Content-Type', 'content-length': 'Content-Length',
  'www-authenticate': 'WWW-Authenticate', 'proxy-authenticate': 'Proxy-Authenticate',
  'record-route': 'Record-Route', route: 'Route', 'user-agent': 'User-Agent',
  'proxy-authorization': 'Proxy-Authorization', authorization: 'Authorization', reason: 'Reason',
  allow: 'Allow', supported: 'Supported', expires: 'Expires', server: 'Server',
};

export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  const full = COMPACT[lower] ?? lower;
  return CANON[full] ?? full.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

export class SipParseError extends Error {}

export interface SipMessage {
  /** Set for requests. */
  method?: string;
  uri?: string;
  /** Set for responses. */
  status?: number;
  reason?: string;
  /** Header name (lower case, compact forms expanded) → values in order of appearance. */
  headers: Map<string, string[]>;
  body: string;
}

export function isRequest(m: SipMessage): boolean {
  return m.method !== undefined;
}

export function header(m: SipMessage, name: string): string | undefined {
  const key = COMPACT[name.toLowerCase()] ?? name.toLowerCase();
  return m.headers.get(key)?.[0];
}

export function headers(m: SipMessage, name: string): string[] {
  const key = COMPACT[name.toLowerCase()] ?? name.toLowerCase();
  return m.headers.get(key) ?? [];
}

export function setHeader(m: SipMessage, name: string, value: string | string[]): void {
  const key = COMPACT[name.toLowerCase()] ?? name.toLowerCase();
  m.headers.set(key, Array.isArray(value) ? value : [value]);
}

export function removeHeader(m: SipMessage, name: string): void {
  m.headers.delete(COMPACT[name.toLowerCase()] ?? name.toLowerCase());
}

/** Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1). */
const SPLITTABLE = new Set(['via', 'route', 'record-route', 'contact']);

function splitTopLevelCommas(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') inQuote = !inQuote;
    else if (!inQuote && ch === '<') depthAngle++;
    else if (!inQuote && ch === '>') depthAngle--;
    else if (!inQuote && depthAngle === 0 && ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Parses one SIP message; throws SipParseError with a reason on anything malformed. */
export function parseMessage(raw: string): SipMessage {
  const sep = raw.indexOf('\r\n\r\n');
  const altSep = sep < 0 ? raw.indexOf('\n\n') : -1;
  if (sep < 0 && altSep < 0) throw new SipParseError('no end of headers');
  const head = sep >= 0 ? raw.slice(0, sep) : raw.slice(0, altSep);
  let body = sep >= 0 ? raw.slice(sep + 4) : raw.slice(altSep + 2);
  const lines = head.split(/\r?\n/);
  const first = lines.shift() ?? '';
  const msg: SipMessage = { headers: new Map(), body: '' };
  const resp = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (resp) {
    msg.status = Number(resp[1]);
    msg.reason = resp[2] ?? '';
  } else {
    const req = /^([A-Za-z]+) (\S+) SIP\/2\.0$/.exec(first);
    if (!req) throw new SipParseError(`bad start line: ${first.slice(0, 80)}`);
    msg.method = req[1]!.toUpperCase();
    msg.uri = req[2]!;
  }
  // Unfold continuation lines (RFC 3261 §7.3.1).
  const unfolded: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && unfolded.length > 0) unfolded[unfolded.length - 1] += ' ' + line.trim();
    else if (line.length > 0) unfolded.push(line);
  }
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`bad header line: ${line.slice(0, 80)}`);
    const rawName = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[rawName] ?? rawName;
    const value = line.slice(colon + 1).trim();
    const values = SPLITTABLE.has(name) ? splitTopLevelCommas(value) : [value];
    const list = msg.headers.get(name);
    if (list) list.push(...values);
    else msg.headers.set(name, values);
  }
  for (const required of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!msg.headers.has(required)) throw new SipParseError(`missing ${canonicalName(required)} header`);
  }
  const cseq = /^(\d+)\s+([A-Za-z]+)$/.exec(header(msg, 'cseq') ?? '');
  if (!cseq) throw new SipParseError('bad CSeq header');
  const len = header(msg, 'content-length');
  if (len !== undefined) {
    const n = Number(len);
    if (!Number.isInteger(n) || n < 0) throw new SipParseError('bad Content-Length header');
    if (Buffer.byteLength(body) < n) throw new SipParseError('body shorter than Content-Length');
    body = Buffer.from(body).subarray(0, n).toString();
  }
  msg.body = body;
  return msg;
}

/** Serialises with CRLF line ends and a Content-Length that matches the body. */
export function serializeMessage(m: SipMessage): string {
  const first = m.method !== undefined ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason ?? ''}`;
  const lines = [first];
  for (const [name, values] of m.headers) {
    if (name === 'content-length') continue;
    for (const v of values) lines.push(`${canonicalName(name)}: ${v}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(m.body)}`);
  return lines.join('\r\n') + '\r\n\r\n' + m.body;
}

export function cseqOf(m: SipMessage): { seq: number; method: string } {
  const [seq, method] = (header(m, 'cseq') ?? '').split(/\s+/);
  return { seq: Number(seq), method: (method ?? '').toUpperCase() };
}

/** The value of a ;name=value parameter in a header value (tag, branch, rport ...). */
export function param(value: string | undefined, name: string): string | undefined {
  if (!value) return undefined;
  const re = new RegExp(`;\\s*${name}(?:=([^;>,\\s]*))?`, 'i');
  const m = re.exec(value.replace(/<[^>]*>/, ''));
  if (!m) return undefined;
  return m[1] ?? '';
}

/** The URI inside a name-addr (`"x" <sip:a@b>;tag=1` → `sip:a@b`) or a bare addr-spec. */
export function uriOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /<([^>]*)>/.exec(value);
  if (m) return m[1];
  return value.split(';')[0]?.trim();
}

export interface HostPort { host: string; port: number }

/** Host and port of a sip: URI (`sip:user@host:port;params`). */
export function hostPortOf(uri: string, defaultPort = 5060): HostPort {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri);
  if (!m) throw new SipParseError(`bad SIP URI: ${uri}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
}

export function userOf(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const m = /^sips?:([^@;>]+)@/i.exec(uri);
  return m?.[1];
}

export function randomToken(len = 10): string {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < len; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

export function newBranch(): string {
  return 'z9hG4bK' + randomToken(16);
}
