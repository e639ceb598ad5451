// SIP digest authentication: RFC 3261 §22.4, RFC 2617 (qop=auth), RFC 8760 (SHA-256, optional).
//
// Nonces are stateless: base64url(ts ‖ random ‖ HMAC-SHA256(key, ts ‖ random ‖ realm)), so any
// instance sharing the key can verify a nonce another instance issued, with no Redis round trip.
//
// Replay: verification here is stateless; the SIP layer binds credentials to the request
// (digest-uri = Request-URI) and accepts each nonce-count once across instances (auth/replay.ts),
// within the nonce's lifetime (nonceTtlMs, 5 min by default).
import { createHash, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  /** Lower-case hex. */
  response: string;
  algorithm: DigestAlgorithm;
  qop?: 'auth';
  cnonce?: string;
  /** 8 hex digits, as sent. */
  nc?: string;
  opaque?: string;
}

export type ParseResult =
  | { ok: true; value: DigestCredentials }
  | { ok: false; reason: 'malformed' | 'unsupported'; error: string };

export type DigestFailure =
  | 'malformed' // unparsable or incomplete Authorization value
  | 'unsupported' // algorithm or qop we did not offer (auth-int, unknown algorithms)
  | 'wrong-realm'
  | 'bad-nonce' // not issued by us (HMAC mismatch) or from the future
  | 'stale-nonce' // ours, correct response, but expired: rechallenge with stale=true
  | 'unknown-user' // no such seat: must look exactly like bad-response to the peer
  | 'bad-response'; // wrong password

export type VerifyResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: DigestFailure; username?: string };

export interface VerifyInput {
  method: string;
  /** Raw header value or an already parsed one (the caller parses first to look up the seat). */
  authorization: string | DigestCredentials | undefined;
  /** MD5(username:realm:password) hex; undefined when the username is unknown. */
  ha1: string | undefined;
  /** SHA-256(username:realm:password) hex, needed only if SHA-256 challenges are issued. */
  ha1Sha256?: string;
  realm: string;
  now: number;
}

export interface DigestOptions {
  /** Server key shared by all instances (≥ 16 bytes). The first signs; all verify (rotation). */
  secrets: readonly (string | Buffer)[];
  /** Nonce lifetime; an older nonce gets stale=true. Default 5 minutes. */
  nonceTtlMs?: number;
  /** Tolerated clock skew between instances for nonces "from the future". Default 30 s. */
  clockSkewMs?: number;
  /** Accept RFC 2069 responses without qop (old phones). Default true. */
  allowNoQop?: boolean;
}

export interface ChallengeOptions {
  stale?: boolean;
  algorithm?: 'MD5' | 'SHA-256';
}

export interface DigestAuth {
  /** How long an issued nonce is accepted (replay tracking keeps its counts as long). */
  readonly nonceTtlMs: number;
  /** A WWW-Authenticate / Proxy-Authenticate header value. */
  challenge(realm: string, now: number, opts?: ChallengeOptions): string;
  verify(input: VerifyInput): VerifyResult;
}

const TS_LEN = 8;
const RAND_LEN = 8;
const MAC_LEN = 16; // truncated HMAC-SHA256: 128 bits is ample for a 5-minute token
const NONCE_LEN = TS_LEN + RAND_LEN + MAC_LEN;
// Unknown users still run the full hash so timing does not reveal which usernames exist.
const DUMMY_HA1 = '0'.repeat(32);
const DUMMY_HA1_SHA256 = '0'.repeat(64);

export function createDigestAuth(opts: DigestOptions): DigestAuth {
  const keys = opts.secrets.map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s));
  if (keys.length === 0 || keys.some((k) => k.length < 16)) throw new Error('digest: secrets must be ≥ 16 bytes');
  const signKey = keys[0]!;
  const ttl = opts.nonceTtlMs ?? 5 * 60_000;
  const skew = opts.clockSkewMs ?? 30_000;
  const allowNoQop = opts.allowNoQop ?? true;

  const mac = (key: Buffer, head: Buffer, realm: string): Buffer =>
    createHmac('sha256', key).update(head).update(realm, 'utf8').digest().subarray(0, MAC_LEN);

  function makeNonce(realm: string, now: number): string {
    const raw = Buffer.allocUnsafe(NONCE_LEN);
    // The timestamp as a 64-bit big-endian integer, written as two halves (no BigInt per nonce).
    const ts = Math.max(0, Math.floor(now));
    raw.writeUInt32BE(Math.floor(ts / 2 ** 32), 0);
    raw.writeUInt32BE(ts % 2 ** 32, 4);
    takeRandom(raw, TS_LEN, RAND_LEN);
    const head = raw.subarray(0, TS_LEN + RAND_LEN);
    mac(signKey, head, realm).copy(raw, TS_LEN + RAND_LEN);
    return raw.toString('base64url');
  }

  /** Issue time of an authentic nonce, or undefined. */
  function nonceTime(nonce: string, realm: string): number | undefined {
    if (!/^[A-Za-z0-9_-]{43}$/.test(nonce)) return undefined;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_LEN) return undefined;
    const head = raw.subarray(0, TS_LEN + RAND_LEN);
    const got = raw.subarray(TS_LEN + RAND_LEN);
    let authentic = false;
    for (const k of keys) authentic = timingSafeEqual(mac(k, head, realm), got) || authentic;
    return authentic ? Number(raw.readBigUInt64BE(0)) : undefined;
  }

  return {
    nonceTtlMs: ttl + skew,
    challenge(realm, now, c = {}) {
      const parts = [
        `Digest realm=${quote(realm)}`,
        `nonce="${makeNonce(realm, now)}"`,
        `algorithm=${c.algorithm ?? 'MD5'}`,
        'qop="auth"',
      ];
      if (c.stale) parts.push('stale=true');
      return parts.join(', ');
    },

    verify(input) {
      const parsed = typeof input.authorization === 'string' || input.authorization === undefined
        ? parseAuthorization(input.authorization)
        : { ok: true as const, value: input.authorization };
      if (!parsed.ok) return { ok: false, reason: parsed.reason };
      const cred = parsed.value;
      const username = cred.username;
      if (!cred.qop && !allowNoQop) return { ok: false, reason: 'unsupported', username };
      if (cred.realm !== input.realm) return { ok: false, reason: 'wrong-realm', username };
      const issued = nonceTime(cred.nonce, input.realm);
      if (issued === undefined || issued > input.now + skew) return { ok: false, reason: 'bad-nonce', username };

      const sha = cred.algorithm.startsWith('SHA-256');
      const known = sha ? input.ha1Sha256 : input.ha1;
      const expected = computeResponse(cred, input.method, known ?? (sha ? DUMMY_HA1_SHA256 : DUMMY_HA1));
      const match = constantTimeEqual(expected, cred.response);
      if (known === undefined) {
        // A seat without a SHA-256 HA1 answering SHA-256 is as good as unknown; both look like
        // a wrong password to the peer (see responseFor).
        return { ok: false, reason: input.ha1 === undefined ? 'unknown-user' : 'bad-response', username };
      }
      if (!match) return { ok: false, reason: 'bad-response', username };
      // RFC 2617 §3.2.1: stale only when the digest itself is right, so the phone retries silently.
      if (input.now - issued > ttl) return { ok: false, reason: 'stale-nonce', username };
      return { ok: true, username, algorithm: cred.algorithm };
    },
  };
}

// Nonces' random parts come from the CSPRNG in bulk: one randomFillSync per 512 nonces instead of
// one call into OpenSSL per challenge. Each byte is handed out once.
const RANDOM_POOL = Buffer.alloc(4096);
let randomOffset = RANDOM_POOL.length;

function takeRandom(into: Buffer, at: number, n: number): void {
  if (randomOffset + n > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    randomOffset = 0;
  }
  RANDOM_POOL.copy(into, at, randomOffset, randomOffset + n);
  randomOffset += n;
}

/** RFC 2617 §3.2.2.1 request-digest; ha1 is the stored H(username:realm:password). */
export function computeResponse(cred: DigestCredentials, method: string, ha1: string): string {
  const h = cred.algorithm.startsWith('SHA-256')
    ? (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
    : (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
  const a1 = cred.algorithm.endsWith('-sess')
    ? h(`${ha1.toLowerCase()}:${cred.nonce}:${cred.cnonce ?? ''}`)
    : ha1.toLowerCase();
  const ha2 = h(`${method.toUpperCase()}:${cred.uri}`);
  return cred.qop
    ? h(`${a1}:${cred.nonce}:${cred.nc ?? ''}:${cred.cnonce ?? ''}:${cred.qop}:${ha2}`)
    : h(`${a1}:${cred.nonce}:${ha2}`);
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare equal-length buffers either way so the length check does not short-circuit timing.
  return timingSafeEqual(x, x.length === y.length ? y : x) && x.length === y.length;
}

/**
 * What the SIP layer answers for a failed verification. Wrong password, unknown user and a lockout
 * share one answer (403) so a scanner cannot enumerate seats; nonce problems get a fresh challenge.
 * REGISTER is challenged as a registrar (401 WWW-Authenticate), anything else as a proxy
 * (407 Proxy-Authenticate), as RFC 3261 §22.3 describes for the two roles.
 */
export function responseFor(
  reason: DigestFailure | 'missing' | 'locked',
  method: string,
): { status: 401 | 407; header: 'WWW-Authenticate' | 'Proxy-Authenticate'; stale: boolean } | { status: 403 } {
  if (reason === 'bad-response' || reason === 'unknown-user' || reason === 'locked') return { status: 403 };
  return method.toUpperCase() === 'REGISTER'
    ? { status: 401, header: 'WWW-Authenticate', stale: reason === 'stale-nonce' }
    : { status: 407, header: 'Proxy-Authenticate', stale: reason === 'stale-nonce' };
}

// ---- Authorization header parsing (RFC 2617 §3.2.2, RFC 7235 auth-param) ----

const MAX_HEADER = 8192;
// Character classes by char code (a regex test per character cost more than the rest of the parse).
const TOKEN_CHARS = charSet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+.^_`|~-");
const WS_CHARS = charSet(' \t\r\n');
const isToken = (c: number): boolean => c < 128 && TOKEN_CHARS[c] === 1;
const isWs = (c: number): boolean => c < 128 && WS_CHARS[c] === 1;
const MD5_RESPONSE = /^[0-9a-f]{32}$/;
const SHA256_RESPONSE = /^[0-9a-f]{64}$/;

function charSet(chars: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  return set;
}
const ALGORITHMS: Record<string, DigestAlgorithm> = {
  'md5': 'MD5', 'md5-sess': 'MD5-sess', 'sha-256': 'SHA-256', 'sha-256-sess': 'SHA-256-sess',
};

/** Never throws: garbage in → { ok: false }. */
export function parseAuthorization(header: unknown): ParseResult {
  if (typeof header !== 'string') return fail('missing');
  if (header.length > MAX_HEADER) return fail('too long');
  const s = header;
  let i = 0;
  const skipWs = () => { while (i < s.length && isWs(s.charCodeAt(i))) i++; };
  const token = () => { const st = i; while (i < s.length && isToken(s.charCodeAt(i))) i++; return s.slice(st, i); };

  skipWs();
  if (token().toLowerCase() !== 'digest') return fail('not a Digest scheme');
  if (i >= s.length || !isWs(s.charCodeAt(i))) return fail('no parameters');

  const params = new Map<string, string>();
  for (;;) {
    // Empty list elements (", ,") are allowed by the RFC 7230 #rule.
    while (i < s.length && (isWs(s.charCodeAt(i)) || s[i] === ',')) i++;
    if (i >= s.length) break;
    const name = token().toLowerCase();
    if (!name) return fail(`unexpected ${JSON.stringify(s[i])} at ${i}`);
    skipWs();
    if (s[i] !== '=') return fail(`missing = after ${name}`);
    i++;
    skipWs();
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      let run = i; // start of the characters not yet copied into value
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c === 0x22) { value += s.slice(run, i); i++; closed = true; break; }
        if (c === 0x5c && i + 1 < s.length) {
          // quoted-pair: the next character, whatever it is
          value += s.slice(run, i) + s[i + 1]!;
          i += 2;
          run = i;
        } else {
          i++;
        }
      }
      if (!closed) return fail(`unterminated quoted ${name}`);
    } else {
      // Lenient: some phones send uri=sip:a@b unquoted; take everything up to , or whitespace.
      const st = i;
      while (i < s.length && s[i] !== ',' && s[i] !== '"' && !isWs(s.charCodeAt(i))) i++;
      value = s.slice(st, i);
      if (!value) return fail(`empty ${name}`);
    }
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return fail(`control character in ${name}`);
    if (params.has(name)) return fail(`duplicate ${name}`);
    params.set(name, value);
    skipWs();
    if (i < s.length && s[i] !== ',') return fail(`expected , after ${name}`);
  }

  const get = (k: string) => params.get(k);
  const username = get('username');
  const realm = get('realm');
  const nonce = get('nonce');
  const uri = get('uri');
  const response = get('response')?.toLowerCase();
  if (username === undefined || realm === undefined || !nonce || !uri || !response) {
    return fail('missing username, realm, nonce, uri or response');
  }
  const algorithm = ALGORITHMS[(get('algorithm') ?? 'MD5').toLowerCase()];
  if (!algorithm) return fail('unknown algorithm', 'unsupported');
  if (!(algorithm.startsWith('SHA') ? SHA256_RESPONSE : MD5_RESPONSE).test(response)) {
    return fail('response is not a digest of the algorithm');
  }
  const cred: DigestCredentials = { username, realm, nonce, uri, response, algorithm };
  const opaque = get('opaque');
  if (opaque !== undefined) cred.opaque = opaque;
  const qop = get('qop');
  if (qop !== undefined) {
    if (qop.toLowerCase() !== 'auth') return fail('only qop=auth is offered', 'unsupported');
    const cnonce = get('cnonce');
    const nc = get('nc');
    if (!cnonce || !nc || !/^[0-9a-fA-F]{8}$/.test(nc)) return fail('qop=auth needs cnonce and nc');
    cred.qop = 'auth';
    cred.cnonce = cnonce;
    cred.nc = nc;
  } else if (algorithm.endsWith('-sess')) {
    return fail('-sess algorithms need qop');
  }
  return { ok: true, value: cred };
}

function fail(error: string, reason: 'malformed' | 'unsupported' = 'malformed'): ParseResult {
  return { ok: false, reason, error };
}

function quote(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
