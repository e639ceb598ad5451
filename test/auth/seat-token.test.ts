// Seat tokens (auth/seat-token.ts) and the login check (auth/seat-login.ts) with an in-memory
// lockout stand-in: signatures, expiry, key and password changes.
import { describe, expect, it } from 'vitest';
import { seatLogin, seatOfClaims } from '../../src/auth/seat-login.js';
import { credentialOf, looksLikeSeatToken, seatTokenKey, signSeatToken, verifySeatToken, type SeatClaims } from '../../src/auth/seat-token.js';
import type { Lockout, LockState } from '../../src/auth/lockout.js';
import { computeHa1 } from '../../src/config/secrets.js';
import type { ConfigSnapshot } from '../../src/config/types.js';

const NOW = Date.UTC(2026, 10, 27, 2, 0, 0);
const key = seatTokenKey({ seatTokenKey: 'k'.repeat(32) }, 'drachtio-secret');
const claims: SeatClaims = { seat: '1001', tenant: 'telesales', issuedAt: NOW, expiresAt: NOW + 8 * 3_600_000, credential: credentialOf('a'.repeat(32)) };

describe('seat tokens', () => {
  it('verify what was signed, until it expires', () => {
    const t = signSeatToken(key, claims);
    expect(looksLikeSeatToken(t)).toBe(true);
    expect(verifySeatToken(key, t, NOW + 1000)).toEqual(claims);
    expect(verifySeatToken(key, t, claims.expiresAt - 1)).toEqual(claims);
    expect(verifySeatToken(key, t, claims.expiresAt)).toBeNull();
  });

  it('refuse another key, an edited body, a cut signature and garbage', () => {
    const t = signSeatToken(key, claims);
    expect(verifySeatToken(seatTokenKey({}, 'drachtio-secret'), t, NOW)).toBeNull();
    const [p, body, sig] = t.split('.');
    const edited = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), exp: NOW + 1e12 })).toString('base64url');
    expect(verifySeatToken(key, `${p}.${edited}.${sig}`, NOW)).toBeNull();
    expect(verifySeatToken(key, `${p}.${body}.${sig!.slice(0, 10)}`, NOW)).toBeNull();
    for (const bad of ['', 'dgs1.', 'dgs1.a.b.c', 'Bearer x', `${p}.${body}`]) expect(verifySeatToken(key, bad, NOW)).toBeNull();
  });

  it('without http.seatTokenKey the key derives from the drachtio secret (the same on every instance)', () => {
    expect(seatTokenKey({}, 's1')).toEqual(seatTokenKey({}, 's1'));
    expect(seatTokenKey({}, 's1')).not.toEqual(seatTokenKey({}, 's2'));
  });
});

describe('seat login', () => {
  const realm = 'dialgate.test';
  const cfg = (password: string) => ({
    realm, server: { http: { seatTokenHours: 2 } },
    seats: new Map([['1001', { id: '1001', tenant: 'telesales', ha1: computeHa1('1001', realm, password) }]]),
  }) as unknown as ConfigSnapshot;
  const lockout = (): Lockout & { failures: number } => {
    const l = {
      failures: 0,
      check: async (): Promise<LockState> => (l.failures >= 3 ? { locked: true, scope: 'user-source', until: NOW + 1, retryAfterSeconds: 1 } : { locked: false }),
      recordFailure: async (): Promise<LockState> => { l.failures++; return { locked: false }; },
      recordSuccess: async () => {},
    };
    return l;
  };

  it('the right password gets a token for the configured hours; wrong ones and unknown seats count as failures; a lock refuses even the right one', async () => {
    const l = lockout();
    const deps = { lockout: l, config: () => cfg('pw-1001'), key: () => key, now: () => NOW };
    const ok = await seatLogin(deps, '1001', 'pw-1001', '10.0.0.1');
    expect(ok.ok && ok.claims).toMatchObject({ seat: '1001', tenant: 'telesales', expiresAt: NOW + 2 * 3_600_000 });
    expect(await seatLogin(deps, '1001', 'wrong', '10.0.0.1')).toEqual({ ok: false, why: 'wrong-credentials' });
    expect(await seatLogin(deps, '9999', 'pw-1001', '10.0.0.1')).toEqual({ ok: false, why: 'wrong-credentials' });
    expect(await seatLogin(deps, '1001', 'wrong', '10.0.0.1')).toEqual({ ok: false, why: 'wrong-credentials' });
    expect(l.failures).toBe(3);
    expect(await seatLogin(deps, '1001', 'pw-1001', '10.0.0.1')).toMatchObject({ ok: false, why: 'locked' });
  });

  it('a password change ends the seat\'s sessions', async () => {
    const r = await seatLogin({ lockout: lockout(), config: () => cfg('old'), key: () => key, now: () => NOW }, '1001', 'old', '10.0.0.1');
    if (!r.ok) throw new Error('login failed');
    expect(seatOfClaims(cfg('old'), r.claims)?.id).toBe('1001');
    expect(seatOfClaims(cfg('new'), r.claims)).toBeNull();
  });
});
