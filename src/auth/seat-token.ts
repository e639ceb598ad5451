// Seat tokens of the web phone (issue 13): a seat that logged in with its SIP credentials gets an
// HMAC-signed, expiring token naming it, sent back as `Authorization: Bearer <token>`. Stateless,
// so every instance accepts a token any instance issued (they share the key). The token also
// carries a fingerprint of the seat's HA1, so changing the password ends every session of the seat.
// Seat tokens are told apart from ops API tokens by their prefix; neither kind opens the other's
// endpoints (ops/http.ts).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SEAT_TOKEN_PREFIX = 'dgs1.';

export interface SeatClaims {
  seat: string;
  tenant: string;
  /** Epoch ms. */
  issuedAt: number;
  expiresAt: number;
  /** First 16 hex digits of sha256(HA1): a password change invalidates the token. */
  credential: string;
}

/** The signing key: dialgate.yaml http.seatTokenKey, else derived from the drachtio secret every instance shares. */
export function seatTokenKey(http: { seatTokenKey?: string }, drachtioSecret: string): Buffer {
  return createHash('sha256').update(http.seatTokenKey ?? `dialgate-seat-token:${drachtioSecret}`).digest();
}

export function credentialOf(ha1: string): string {
  return createHash('sha256').update(ha1).digest('hex').slice(0, 16);
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(`${SEAT_TOKEN_PREFIX}${body}`).digest();

export function signSeatToken(key: Buffer, claims: SeatClaims): string {
  const body = b64(JSON.stringify({ s: claims.seat, t: claims.tenant, iat: claims.issuedAt, exp: claims.expiresAt, c: claims.credential }));
  return `${SEAT_TOKEN_PREFIX}${body}.${b64(mac(key, body))}`;
}

/** Whether a bearer value is meant as a seat token (so the ops API refuses it as such). */
export function looksLikeSeatToken(bearer: string): boolean {
  return bearer.startsWith(SEAT_TOKEN_PREFIX);
}

/** The claims of a token signed with `key` and not expired at `now`; null for anything else. */
export function verifySeatToken(key: Buffer, token: string, now: number): SeatClaims | null {
  if (!looksLikeSeatToken(token) || token.length > 2048) return null;
  const [body, sig, ...rest] = token.slice(SEAT_TOKEN_PREFIX.length).split('.');
  if (!body || !sig || rest.length) return null;
  const given = Buffer.from(sig, 'base64url');
  const want = mac(key, body);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  let v: { s?: unknown; t?: unknown; iat?: unknown; exp?: unknown; c?: unknown };
  try {
    v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof v;
  } catch {
    return null;
  }
  if (typeof v.s !== 'string' || typeof v.t !== 'string' || typeof v.iat !== 'number' || typeof v.exp !== 'number' || typeof v.c !== 'string') return null;
  if (now >= v.exp) return null;
  return { seat: v.s, tenant: v.t, issuedAt: v.iat, expiresAt: v.exp, credential: v.c };
}
