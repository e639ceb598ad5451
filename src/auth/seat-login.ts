// Web phone login (issue 13): a seat's id and SIP password, checked against the seat's HA1
// (md5(id:realm:password), the digest credentials), under the same brute-force lockout as SIP
// digest failures (auth/lockout.ts: the same Redis keys, so five wrong passwords over HTTP and
// SIP together lock the seat for that address). The password goes no further than this function.
import { timingSafeEqual } from 'node:crypto';
import type { ConfigSnapshot, Seat } from '../config/types.js';
import { computeHa1 } from '../config/secrets.js';
import type { Lockout } from './lockout.js';
import { credentialOf, signSeatToken, type SeatClaims } from './seat-token.js';

export interface SeatLoginDeps {
  lockout: Lockout;
  config(): ConfigSnapshot;
  key(): Buffer;
  now(): number;
}

export type SeatLogin =
  | { ok: true; token: string; claims: SeatClaims; seat: Seat }
  /** Wrong id or password, or locked out: the caller answers all three alike (401). */
  | { ok: false; why: 'wrong-credentials' | 'locked'; retryAfterSeconds?: number };

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function seatLogin(deps: SeatLoginDeps, seatId: string, password: string, source: string): Promise<SeatLogin> {
  const now = deps.now();
  const lock = await deps.lockout.check(seatId, source, now);
  if (lock.locked) return { ok: false, why: 'locked', retryAfterSeconds: lock.retryAfterSeconds };
  const cfg = deps.config();
  const seat = cfg.seats.get(seatId);
  // An unknown seat costs the same hash and counts the same failure as a wrong password.
  const given = computeHa1(seatId, cfg.realm, password);
  if (!seat || !sameHex(given, seat.ha1)) {
    const after = await deps.lockout.recordFailure(seatId, source, now);
    return { ok: false, why: after.locked ? 'locked' : 'wrong-credentials' };
  }
  await deps.lockout.recordSuccess(seatId, source, now);
  const hours = cfg.server.http.seatTokenHours ?? 8;
  const claims: SeatClaims = { seat: seat.id, tenant: seat.tenant, issuedAt: now, expiresAt: now + hours * 3_600_000, credential: credentialOf(seat.ha1) };
  return { ok: true, token: signSeatToken(deps.key(), claims), claims, seat };
}

/** A verified token's claims still hold in the running config: the seat exists, in that tenant, with that password. */
export function seatOfClaims(cfg: ConfigSnapshot, claims: SeatClaims): Seat | null {
  const seat = cfg.seats.get(claims.seat);
  if (!seat || seat.tenant !== claims.tenant || credentialOf(seat.ha1) !== claims.credential) return null;
  return seat;
}
