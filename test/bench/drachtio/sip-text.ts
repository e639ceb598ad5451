// Text-level SIP helpers for the drachtio stand-in: building messages the way sofia-sip (the
// stack inside drachtio-server) lays them out, and the small edits the server makes to what it
// receives. The parsed model lives in ../sip/message.ts; this file only deals with wire text.
import { randomBytes } from 'node:crypto';
import { canonicalName } from '../sip/message.js';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function alnum(len: number): string {
  for (;;) {
    const bytes = randomBytes(len);
    let s = '';
    for (let i = 0; i < len; i++) s += ALNUM[bytes[i]! % ALNUM.length];
    // sipp 3.6 takes a response's CSeq method from the first "CSeq" anywhere in the message, so a
    // To tag holding those letters (~1 in 1.5 million) makes it abort on a correct 401 or 180.
    // sofia's tags can do that too; the tests' sipp must not trip on it.
    if (!s.includes('CSeq')) return s;
  }
}

/** sofia tags look like `X74aB0FDQa6HF`: 13 alphanumerics. */
export function sofiaTag(): string {
  return alnum(13);
}

/** sofia branches look like `z9hG4bKQUK2y3NH2NUKB`. */
export function sofiaBranch(): string {
  return 'z9hG4bK' + alnum(13);
}

/** `HH:MM:SS.uuuuuu` (UTC time of day), the server's `time` field. */
export function stackTime(): string {
  const now = Date.now();
  const micros = Math.floor((performance.now() % 1) * 1000);
  const d = new Date(now);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const us = String((now % 1000) * 1000 + micros).padStart(6, '0');
  return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${us}`;
}

/**
 * Order of the headers sofia knows, as it serialises a message it builds (the field order of
 * its sip_t). Headers it does not know (X-..., anything custom) follow Content-Length in the
 * order the application gave them; the traces show exactly this (`Content-Length` then `X-Trace`).
 */
const SOFIA_ORDER = [
  'via', 'route', 'record-route', 'max-forwards', 'proxy-require', 'from', 'to', 'call-id', 'cseq',
  'contact', 'rseq', 'rack', 'request-disposition', 'accept-contact', 'reject-contact', 'expires',
  'date', 'retry-after', 'timestamp', 'min-expires', 'subject', 'priority', 'call-info',
  'organization', 'server', 'user-agent', 'in-reply-to', 'accept', 'accept-encoding',
  'accept-language', 'allow', 'require', 'supported', 'unsupported', 'event', 'allow-events',
  'subscription-state', 'proxy-authenticate', 'proxy-authentication-info', 'proxy-authorization',
  'authorization', 'www-authenticate', 'authentication-info', 'error-info', 'warning', 'refer-to',
  'referred-by', 'replaces', 'session-expires', 'min-se', 'path', 'service-route', 'reason',
  'security-client', 'security-server', 'security-verify', 'privacy', 'sip-etag', 'sip-if-match',
  'mime-version', 'content-type', 'content-encoding', 'content-language', 'content-disposition',
  'content-length',
];
const ORDER_INDEX = new Map(SOFIA_ORDER.map((h, i) => [h, i]));
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', r: 'refer-to',
  b: 'referred-by', u: 'allow-events', x: 'session-expires',
};

export function fullName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

export function isSofiaKnown(name: string): boolean {
  return ORDER_INDEX.has(fullName(name));
}

/** How the server spells a header it writes: sofia's canonical name, or the app's with capitals after dashes (X- kept). */
export function outName(name: string): string {
  const full = fullName(name);
  if (ORDER_INDEX.has(full)) return canonicalName(full);
  const n = name.trim();
  if (/^x-/i.test(n)) return n;
  return n.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

export type HeaderList = Array<[string, string]>;

/** Serialises a start line, headers (sofia order, Content-Length computed) and body. */
export function buildMessage(startLine: string, headers: HeaderList, body: string): string {
  const known: Array<{ idx: number; seq: number; line: string }> = [];
  const unknown: string[] = [];
  headers.forEach(([name, value], seq) => {
    const full = fullName(name);
    if (full === 'content-length') return;
    const idx = ORDER_INDEX.get(full);
    const line = `${outName(name)}: ${value}`;
    if (idx === undefined) unknown.push(line);
    else known.push({ idx, seq, line });
  });
  known.sort((a, b) => a.idx - b.idx || a.seq - b.seq);
  const lines = [startLine, ...known.map((k) => k.line), `Content-Length: ${Buffer.byteLength(body)}`, ...unknown];
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

export interface AppMessage {
  startLine: string;
  /** Header lines as the app sent them, in order. */
  headers: HeaderList;
  body: string;
}

/** Splits what follows the first line of an app `sip`/`proxy` frame into start line, headers and body. */
export function parseAppMessage(text: string): AppMessage {
  let head = text;
  let body = '';
  const sep = text.indexOf('\r\n\r\n');
  if (sep >= 0) {
    head = text.slice(0, sep);
    body = text.slice(sep + 4);
  }
  const lines = head.split(/\r\n|\n/).filter((l) => l.length > 0);
  const startLine = (lines.shift() ?? '').trim();
  const headers: HeaderList = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // the real server drops invalid header lines (makeTags)
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9.!%*_+`'~-]+$/.test(name)) continue;
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { startLine, headers, body };
}

export function getHeader(headers: HeaderList, name: string): string | undefined {
  const want = fullName(name);
  return headers.find(([n]) => fullName(n) === want)?.[1];
}

/**
 * The server rewrites `user@localhost` in From/To/Contact/P-Asserted-Identity to its own
 * address (makeTags → replaceHostInUri); sofia re-encodes it as a bracketed name-addr.
 */
export function replaceLocalhost(value: string, host: string, port: number): string {
  if (!value.includes('@localhost')) return value;
  const m = /^\s*(?:("[^"]*"|[^<"]*?)\s*<([^>]*)>|([^;]*))(.*)$/.exec(value);
  if (!m) return value;
  const display = (m[1] ?? '').trim();
  const uri = (m[2] ?? m[3] ?? '').trim();
  const rest = m[4] ?? '';
  const fixed = uri.replace(/@localhost(:\d+)?/, `@${host}:${port}`);
  return `${display ? display + ' ' : ''}<${fixed}>${rest}`;
}

/** `<uri>` for a bare URI, leaving name-addrs alone. */
export function asNameAddr(value: string): string {
  const v = value.trim();
  if (v.includes('<')) return v;
  const semi = v.indexOf(';');
  return semi < 0 ? `<${v}>` : `<${v.slice(0, semi)}>${v.slice(semi)}`;
}

/** Drops `;tag=` from a From/To value (outside the angle brackets). */
export function stripTag(value: string): string {
  const close = value.lastIndexOf('>');
  if (close < 0) return value.replace(/;\s*tag=[^;]*/i, '');
  return value.slice(0, close + 1) + value.slice(close + 1).replace(/;\s*tag=[^;]*/i, '');
}

export function tagOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const close = value.lastIndexOf('>');
  const params = close < 0 ? value : value.slice(close + 1);
  return /;\s*tag=([^;\s]+)/i.exec(params)?.[1];
}

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth--;
    else if (!quoted && depth === 0 && ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/**
 * Applies RFC 3581 to the top Via of a received request the way the server's stack does:
 * `;rport=<source port>` always (the traces show it added even though sipp sent no `rport`),
 * `;received=<source ip>` when the sent-by host differs. The rest of the text is untouched, since
 * the server hands the app the original header fragments.
 */
export function stampTopVia(raw: string, srcIp: string, srcPort: number): string {
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? raw : raw.slice(0, headEnd);
  const re = /\r\n(via|v)[ \t]*:[ \t]*([^\r\n]*)/i;
  const m = re.exec(head);
  if (!m) return raw;
  const value = m[2] ?? '';
  const parts = splitList(value);
  const top = parts[0];
  if (top === undefined) return raw;
  let fixed = top;
  const sentBy = /^SIP\s*\/\s*2\.0\s*\/\s*[A-Za-z]+\s+([^;:\s]+|\[[^\]]+\])/i.exec(top)?.[1];
  if (/;\s*rport(?=;|$|\s)/i.test(fixed)) fixed = fixed.replace(/;\s*rport(?=;|$|\s)/i, `;rport=${srcPort}`);
  else if (!/;\s*rport=/i.test(fixed)) fixed += `;rport=${srcPort}`;
  if (sentBy !== undefined && sentBy !== srcIp && !/;\s*received=/i.test(fixed)) fixed += `;received=${srcIp}`;
  if (fixed === top) return raw;
  const newValue = value.replace(top, fixed);
  const start = m.index + m[0].length - value.length;
  return raw.slice(0, start) + newValue + raw.slice(start + value.length);
}

/** Where a response to this Via goes (RFC 3261 18.2.2 with RFC 3581). */
export function viaTarget(via: string): { host: string; port: number } | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*[A-Za-z]+\s+(\[[^\]]+\]|[^;:\s]+)(?::(\d+))?/i.exec(via.trim());
  if (!m) return undefined;
  const received = /;\s*received=([^;\s]+)/i.exec(via)?.[1];
  const rport = /;\s*rport=(\d+)/i.exec(via)?.[1];
  return {
    host: (received ?? m[1]!).replace(/^\[|\]$/g, ''),
    port: rport ? Number(rport) : m[2] ? Number(m[2]) : 5060,
  };
}
