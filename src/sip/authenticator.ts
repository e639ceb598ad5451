// Digest authentication of seat requests (REGISTER: 401/WWW-Authenticate; INVITE:
// 407/Proxy-Authenticate), with brute-force lockout and the access log (001 §4(十七)).
// No request from a seat goes further than this without valid credentials.
import type Srf from 'drachtio-srf';
import type { AccessLog } from '../auth/access-log.js';
import { parseAuthorization, type DigestAuth } from '../auth/digest.js';
import type { Lockout } from '../auth/lockout.js';
import type { ConfigSnapshot, Seat } from '../config/types.js';

export interface AuthenticatorDeps {
  digest: DigestAuth;
  lockout: Lockout;
  access: AccessLog;
  now(): number;
}

export type AuthOutcome = { ok: true; seat: Seat } | { ok: false };

export class Authenticator {
  constructor(private readonly deps: AuthenticatorDeps) {}

  /** Verifies credentials or answers the request itself (challenge, 403) and returns ok: false. */
  async authenticate(req: Srf.SrfRequest, res: Srf.SrfResponse, cfg: ConfigSnapshot): Promise<AuthOutcome> {
    const { digest, lockout, access } = this.deps;
    const now = this.deps.now();
    const isRegister = req.method === 'REGISTER';
    const header = isRegister ? 'Authorization' : 'Proxy-Authorization';
    const raw = req.has(header) ? req.get(header) : undefined;
    const ip = req.source_address;
    const base = { at: now, method: req.method, ip, port: Number(req.source_port), transport: req.protocol, callId: req.get('Call-ID'),
      userAgent: req.has('User-Agent') ? req.get('User-Agent') : undefined };

    if (!raw) {
      this.challenge(res, cfg.realm, now, isRegister, false);
      await access.record({ ...base, user: null, outcome: 'challenged' });
      return { ok: false };
    }
    const parsed = parseAuthorization(raw);
    const user = parsed.ok ? parsed.value.username : null;
    const lock = await lockout.check(user ?? '', ip, now);
    if (lock.locked) {
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="Forbidden"' } });
      await access.record({ ...base, user, outcome: 'locked', reason: `lock-${lock.scope}` });
      return { ok: false };
    }
    const seat = user ? cfg.seats.get(user) : undefined;
    const result = digest.verify({
      method: req.method,
      authorization: parsed.ok ? parsed.value : raw,
      ha1: seat?.ha1,
      realm: cfg.realm,
      now,
    });
    if (result.ok && seat) {
      await lockout.recordSuccess(seat.id);
      await access.record({ ...base, user: seat.id, tenant: seat.tenant, outcome: 'accepted' });
      return { ok: true, seat };
    }
    const reason = result.ok ? 'unknown-user' : result.reason;
    if (reason === 'stale-nonce') {
      this.challenge(res, cfg.realm, now, isRegister, true);
      await access.record({ ...base, user, outcome: 'challenged', reason });
      return { ok: false };
    }
    await lockout.recordFailure(user ?? '', ip, now);
    if (reason === 'bad-nonce' || reason === 'malformed' || reason === 'wrong-realm') {
      // Not an answer to our challenge at all: challenge properly.
      this.challenge(res, cfg.realm, now, isRegister, false);
    } else {
      // Wrong password and unknown user get the same 403, so the answer does not reveal which
      // seats exist; the phone shows "authentication failed" instead of retrying in a loop.
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="Authentication failed"' } });
    }
    await access.record({ ...base, user, outcome: 'rejected', reason });
    return { ok: false };
  }

  private challenge(res: Srf.SrfResponse, realm: string, now: number, isRegister: boolean, stale: boolean): void {
    const value = this.deps.digest.challenge(realm, now, { stale });
    if (isRegister) res.send(401, { headers: { 'WWW-Authenticate': value } });
    else res.send(407, { headers: { 'Proxy-Authenticate': value } });
  }
}
