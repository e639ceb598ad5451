// Pure REGISTER header parsing (RFC 3261 §10.2, §10.3 steps 6–7, §20.10 Contact, §20.19 Expires).
// Never throws: bad input yields { kind: 'invalid' } and the SIP layer answers 400.

export interface ParsedContact {
  /** The contact URI without angle brackets. */
  uri: string;
  /** Requested seconds before the registrar's clamp: ;expires, else Expires header, else default. */
  expires: number;
  q?: number;
  /** Contact header parameters, names lower-cased (e.g. +sip.instance, reg-id). */
  params: Record<string, string>;
}

export type ParsedRegister =
  | { kind: 'query' } // no Contact: the UA asks for its current bindings
  | { kind: 'remove-all' } // Contact: * with Expires: 0
  | { kind: 'contacts'; contacts: ParsedContact[] }
  | { kind: 'invalid'; reason: string };

export interface RegisterHeaders {
  /** Every Contact header value (one header may also carry several, comma-separated). */
  contact?: string | readonly string[];
  expires?: string;
}

/** RFC 3261 §10.2.1.1: a malformed expiry is treated as 3600. */
export const DEFAULT_EXPIRES = 3600;
const MAX_CONTACTS = 20;
const MAX_DELTA = 2 ** 32 - 1; // RFC 3261 §20.19 delta-seconds

export function parseRegister(h: RegisterHeaders, defaultExpires = DEFAULT_EXPIRES): ParsedRegister {
  const values = h.contact === undefined ? [] : typeof h.contact === 'string' ? [h.contact] : [...h.contact];
  const headerExpires = parseDelta(h.expires);
  const elements = values.flatMap((v) => splitOutside(v, ',')).map((e) => e.trim()).filter((e) => e);
  if (elements.length === 0) return { kind: 'query' };
  if (elements.includes('*')) {
    // §10.3 step 6: "*" alone, and only with Expires: 0.
    if (elements.length !== 1 || headerExpires !== 0) return invalid('Contact * needs Expires: 0 and no other contacts');
    return { kind: 'remove-all' };
  }
  if (elements.length > MAX_CONTACTS) return invalid('too many contacts');
  const contacts: ParsedContact[] = [];
  for (const el of elements) {
    const c = parseContact(el);
    if (typeof c === 'string') return invalid(c);
    const own = parseDelta(c.params.expires);
    const out: ParsedContact = { uri: c.uri, expires: own ?? headerExpires ?? defaultExpires, params: c.params };
    const q = c.params.q === undefined ? undefined : Number(c.params.q);
    if (q !== undefined && Number.isFinite(q) && q >= 0 && q <= 1) out.q = q;
    contacts.push(out);
  }
  return { kind: 'contacts', contacts };
}

function invalid(reason: string): ParsedRegister {
  return { kind: 'invalid', reason };
}

function parseDelta(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  return Math.min(Number(t), MAX_DELTA);
}

/** name-addr (`"Name" <uri>;params`) or addr-spec (`uri;params`, params then belong to the header). */
function parseContact(el: string): { uri: string; params: Record<string, string> } | string {
  let uri: string;
  let rest: string;
  const lt = indexOutsideQuotes(el, '<');
  if (lt >= 0) {
    const gt = el.indexOf('>', lt);
    if (gt < 0) return 'unclosed < in Contact';
    uri = el.slice(lt + 1, gt).trim();
    rest = el.slice(gt + 1);
  } else {
    const semi = el.indexOf(';');
    uri = (semi < 0 ? el : el.slice(0, semi)).trim();
    rest = semi < 0 ? '' : el.slice(semi);
  }
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>"]+$/.test(uri)) return 'bad Contact URI';
  const params: Record<string, string> = {};
  const trimmed = rest.trim();
  if (trimmed && !trimmed.startsWith(';')) return 'junk after Contact URI';
  for (const p of splitOutside(trimmed, ';').slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!name) continue;
    let value = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params[name] = value;
  }
  return { uri, params };
}

/** Split on `sep` outside double quotes and angle brackets (display names and URIs hold commas). */
function splitOutside(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < s.length) { cur += c + s[++i]!; continue; }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === sep && !angle) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}

function indexOutsideQuotes(s: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted && c === '\\') { i++; continue; }
    if (c === '"') quoted = !quoted;
    else if (c === ch && !quoted) return i;
  }
  return -1;
}
