// Digest authentication of seat requests (REGISTER: 401/WWW-Authenticate; INVITE:
// 407/Proxy-Authenticate), with brute-force lockout and the access log (001 §4(十七)).
// No request from a seat goes further than this without valid credentials, and credentials are
// bound to their request: the digest-uri must be the Request-URI (RFC 7616 §3.4.6), and a
// nonce-count is accepted once across all instances (ReplayGuard), so a captured header cannot
// place calls to other numbers or be sent again.
import type Srf from 'drachtio-srf';
import type { AccessEvent, AccessLog } from '../auth/access-log.js';
import { parseAuthorization, type DigestAuth } from '../auth/digest.js';
import type { Lockout } from '../auth/lockout.js';
import type { ReplayGuard } from '../auth/replay.js';
import { sourceAllowed } from '../auth/sources.js';
import { isRedisUnavailable } from '../ledger/redis-errors.js';
import type { ConfigSnapshot, Seat } from '../config/types.js';

export interface AuthenticatorDeps {
  digest: DigestAuth;
  lockout: Lockout;
  replay: ReplayGuard;
  access: AccessLog;
  now(): number;
  log?: { warn(obj: object, msg: string): void };
}

export type AuthOutcome = { ok: true; seat: Seat } | { ok: false };

export class Authenticator {
  private readonly deps: AuthenticatorDeps;

  /**
   * Lockout, replay tracking and the access log live in Redis. While it is away they are skipped
   * (logged), not fatal: the digest itself is checked without Redis, every call but an emergency
   * one is then refused for want of a reservation, and an emergency call must still connect.
   */
  constructor(deps: AuthenticatorDeps) {
    const tolerate = <T>(what: string, fallback: T) => (err: unknown): T => {
      if (!isRedisUnavailable(err)) throw err;
      deps.log?.warn({ what }, 'redis unavailable: authentication goes on without it');
      return fallback;
    };
    this.deps = {
      ...deps,
      lockout: {
        // Redis away: not locked, and a nonce-count taken along counts as fresh (as replay's).
        check: (u, s, n, nonce) => deps.lockout.check(u, s, n, nonce)
          .catch(tolerate('lockout check', nonce ? { locked: false, nonceFresh: true } as const : { locked: false } as const)),
        recordFailure: (u, s, n) => deps.lockout.recordFailure(u, s, n).catch(tolerate('lockout count', { locked: false } as const)),
        recordSuccess: (u, s, n, p) => deps.lockout.recordSuccess(u, s, n, p).catch(tolerate('lockout clear', undefined)),
      },
      replay: {
        accept: (nonce, nc, ttl) => deps.replay.accept(nonce, nc, ttl).catch(tolerate('replay check', true)),
        ...(deps.replay.use ? { use: deps.replay.use.bind(deps.replay) } : {}),
      },
      access: { ...deps.access, record: (e) => deps.access.record(e).catch(tolerate('access log', undefined)) },
    };
  }

  /**
   * Verifies credentials or answers the request itself (challenge, 403) and returns ok: false.
   * The digest is checked first (no Redis); then the lockout and the nonce-count go to Redis
   * together, one script call (with the caller's reads of onVerified, one round trip). The access log and the lockout's success bookkeeping are written
   * in the background: the call does not wait for them (a failure is logged).
   */
  async authenticate(req: Srf.SrfRequest, res: Srf.SrfResponse, cfg: ConfigSnapshot, onVerified?: (seat: Seat) => void): Promise<AuthOutcome> {
    const { digest, lockout } = this.deps;
    const now = this.deps.now();
    const isRegister = req.method === 'REGISTER';
    const header = isRegister ? 'Authorization' : 'Proxy-Authorization';
    // get() alone answers undefined for an absent header: each header is looked up once (srf's
    // get() and has() normalise the name, read process.env and scan the headers every time).
    const raw = req.get(header) as string | undefined;
    const ip = req.source_address;
    const base = { at: now, method: req.method, ip, port: Number(req.source_port), transport: req.protocol, callId: req.get('Call-ID'),
      userAgent: req.get('User-Agent') as string | undefined };
    const access = (e: Omit<AccessEvent, keyof typeof base>): void => this.background(this.deps.access.record({ ...base, ...e }), 'access log');

    if (!raw) {
      this.challenge(res, cfg, now, isRegister, false);
      access({ user: null, outcome: 'challenged' });
      return { ok: false };
    }
    const parsed = parseAuthorization(raw);
    const user = parsed.ok ? parsed.value.username : null;
    const seat = user ? cfg.seats.get(user) : undefined;
    const result = digest.verify({
      method: req.method,
      authorization: parsed.ok ? parsed.value : raw,
      ha1: seat?.ha1,
      ...(seat?.ha1Sha256 ? { ha1Sha256: seat.ha1Sha256 } : {}),
      realm: cfg.realm,
      now,
    });
    const cred = result.ok && seat && parsed.ok ? parsed.value : null;
    const uriMatches = cred !== null && sameRequestUri(cred.uri, req.uri);
    const nc = cred?.qop ? Number.parseInt(cred.nc ?? '', 16) : 1;
    // Right credentials for this request: the caller may start its own reads now, so they leave
    // in the same write as the lockout's (the outcome below can still refuse the request).
    if (cred && seat && uriMatches) onVerified?.(seat);
    // The nonce-count goes with the lockout's read when the guard can hand it over (one command).
    const use = cred && uriMatches && this.deps.replay.use ? this.deps.replay.use(cred.nonce, nc, digest.nonceTtlMs) : null;
    const [lock, accepted] = await Promise.all([
      lockout.check(user ?? '', ip, now, use ?? undefined),
      cred && uriMatches && !this.deps.replay.use ? this.deps.replay.accept(cred.nonce, nc, digest.nonceTtlMs) : Promise.resolve(false),
    ]);
    const fresh = use ? lock.nonceFresh === true : accepted;
    if (lock.locked) {
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="Forbidden"' } });
      access({ user, outcome: 'locked', reason: `lock-${lock.scope}` });
      return { ok: false };
    }
    // Outside the tenant's networks a seat's credentials are worth nothing; the peer gets the
    // same 403 as for a wrong password.
    if (seat && !sourceAllowed(cfg.tenants.get(seat.tenant)?.allowedSources, ip)) {
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="Authentication failed"' } });
      access({ user, tenant: seat.tenant, outcome: 'rejected', reason: 'source-not-allowed' });
      return { ok: false };
    }
    if (cred && seat) {
      if (!uriMatches) {
        // Credentials computed for another request (a captured header aimed at another number).
        await lockout.recordFailure(seat.id, ip, now);
        res.send(400, { headers: { Reason: 'SIP;cause=400;text="Digest URI does not match the Request-URI"' } });
        access({ user, tenant: seat.tenant, outcome: 'rejected', reason: 'uri-mismatch' });
        return { ok: false };
      }
      if (!fresh) {
        // Seen before: a replay, or a phone reusing its nonce-count. A fresh challenge lets an
        // honest phone answer again; a replayer cannot.
        this.challenge(res, cfg, now, isRegister, true);
        access({ user, tenant: seat.tenant, outcome: 'challenged', reason: 'replayed-nonce' });
        return { ok: false };
      }
      this.background(lockout.recordSuccess(seat.id, ip, now, lock.failuresPending !== false), 'lockout clear');
      access({ user: seat.id, tenant: seat.tenant, outcome: 'accepted' });
      return { ok: true, seat };
    }
    const reason = result.ok ? 'unknown-user' : result.reason;
    if (reason === 'stale-nonce') {
      this.challenge(res, cfg, now, isRegister, true);
      access({ user, outcome: 'challenged', reason });
      return { ok: false };
    }
    await lockout.recordFailure(user ?? '', ip, now);
    if (reason === 'bad-nonce' || reason === 'malformed' || reason === 'wrong-realm') {
      // Not an answer to our challenge at all: challenge properly.
      this.challenge(res, cfg, now, isRegister, false);
    } else {
      // Wrong password and unknown user get the same 403, so the answer does not reveal which
      // seats exist; the phone shows "authentication failed" instead of retrying in a loop.
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="Authentication failed"' } });
    }
    access({ user, outcome: 'rejected', reason });
    return { ok: false };
  }

  private background(p: Promise<unknown>, what: string): void {
    p.catch((err: unknown) => this.deps.log?.warn({ err, what }, 'background write failed'));
  }

  /**
   * One challenge per configured algorithm, most preferred first (RFC 7616 §3.7). RFC 3261 §7.3.1
   * forbids folding these into one comma-separated line, and srf would fold repeated keys, so
   * each further challenge is its own header line.
   */
  private challenge(res: Srf.SrfResponse, cfg: ConfigSnapshot, now: number, isRegister: boolean, stale: boolean): void {
    const header = isRegister ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    const algorithms = cfg.server?.security?.digestAlgorithms ?? ['MD5'];
    const value = algorithms.map((algorithm) => this.deps.digest.challenge(cfg.realm, now, { stale, algorithm })).join(`\r\n${header}: `);
    res.send(isRegister ? 401 : 407, { headers: { [header]: value } });
  }
}

/**
 * RFC 3261 §19.1.4 equality, as far as digest binding needs it: scheme and host compare without
 * case, the user part exactly, an absent port is 5060 (5061 for sips), URI parameters and headers
 * are ignored (phones add or drop ;transport=).
 */
export function sameRequestUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const norm = (u: string): string | null => {
    const m = /^(sips?):(?:([^@]*)@)?([^;?]+)/i.exec(u.trim());
    if (!m) return null;
    const scheme = m[1]!.toLowerCase();
    const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(m[3]!);
    if (!hp) return null;
    const port = hp[2] ?? (scheme === 'sips' ? '5061' : '5060');
    return `${scheme}:${m[2] ?? ''}@${hp[1]!.toLowerCase()}:${port}`;
  };
  const a = norm(digestUri);
  return a !== null && a === norm(requestUri);
}
