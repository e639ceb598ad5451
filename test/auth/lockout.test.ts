import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDigestAuth, responseFor } from '../../src/auth/digest.js';
import { createLockout, type Lockout, type LockState } from '../../src/auth/lockout.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const T0 = Date.UTC(2025, 2, 1, 2, 0, 0);
const MIN = 60_000;

let server: RedisInstance;
let redis: Redis;
let lockout: Lockout;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  lockout = createLockout(redis, { maxFailuresPerUser: 5, maxFailuresPerIp: 8, windowMs: 10 * MIN, lockMs: 15 * MIN });
});

async function fail(times: number, user: (i: number) => string, ip: (i: number) => string, at = T0): Promise<LockState[]> {
  const out: LockState[] = [];
  for (let i = 0; i < times; i++) out.push(await lockout.recordFailure(user(i), ip(i), at + i * 1000));
  return out;
}

describe('lockout', () => {
  it('locks a username after 5 failures from any addresses, and unlocks after the lock time', async () => {
    const states = await fail(5, () => '1001', (i) => `10.0.0.${i}`);
    expect(states.slice(0, 4).every((s) => !s.locked)).toBe(true);
    expect(states[4]).toMatchObject({ locked: true, scope: 'user', retryAfterSeconds: 15 * 60 });
    expect(await lockout.check('1001', '10.9.9.9', T0 + MIN)).toMatchObject({ locked: true, scope: 'user' });
    expect(await lockout.check('1002', '10.0.0.1', T0 + MIN)).toEqual({ locked: false });
    const until = (states[4] as { until: number }).until;
    expect(await lockout.check('1001', '10.9.9.9', until - 1)).toMatchObject({ locked: true });
    expect(await lockout.check('1001', '10.9.9.9', until)).toEqual({ locked: false });
  });

  it('locks a source address after its limit across many usernames', async () => {
    const states = await fail(8, (i) => `user${i}`, () => '203.0.113.7');
    expect(states[6]?.locked).toBe(false);
    expect(states[7]).toMatchObject({ locked: true, scope: 'ip' });
    expect(await lockout.check('1001', '203.0.113.7', T0 + MIN)).toMatchObject({ locked: true, scope: 'ip' });
    expect(await lockout.check('1001', '203.0.113.8', T0 + MIN)).toEqual({ locked: false });
  });

  it('counts failures in a sliding window', async () => {
    await fail(4, () => '1001', () => '10.0.0.1', T0);
    // The first four have left the 10-minute window by now.
    const s = await fail(4, () => '1001', () => '10.0.0.1', T0 + 11 * MIN);
    expect(s.every((x) => !x.locked)).toBe(true);
    expect(await lockout.recordFailure('1001', '10.0.0.1', T0 + 11 * MIN + 5000)).toMatchObject({ locked: true });
  });

  it('clears the user counter on success but not the address counter', async () => {
    await fail(4, () => '1001', () => '10.0.0.1');
    await lockout.recordSuccess('1001');
    const s = await fail(3, () => '1001', () => '10.0.0.1', T0 + 10_000);
    expect(s.every((x) => !x.locked)).toBe(true);
    // 4 + 3 address failures so far; the 8th locks the address.
    expect(await lockout.recordFailure('1001', '10.0.0.1', T0 + 20_000)).toMatchObject({ locked: true, scope: 'ip' });
  });

  it('does not extend a lock with failures during it', async () => {
    const states = await fail(5, () => '1001', () => '10.0.0.1');
    const until = (states[4] as { until: number }).until;
    expect(await lockout.recordFailure('1001', '10.0.0.2', T0 + MIN)).toMatchObject({ locked: true, until });
  });

  it('keeps only TTL-bounded keys, safe for hostile usernames', async () => {
    await lockout.recordFailure('{evil}\r\nname', '::1', T0);
    await lockout.recordFailure('x'.repeat(5000), '::1', T0);
    const keys = await redis.keys('*');
    expect(keys.length).toBe(3);
    for (const k of keys) {
      expect(k.length).toBeLessThan(200);
      expect(await redis.pttl(k)).toBeGreaterThan(0);
    }
  });
});

describe('unknown users look like wrong passwords', () => {
  const REALM = 'dialgate.test';
  const auth = createDigestAuth({ secrets: ['0123456789abcdef-current'] });
  const seats = new Map([['1001', createHash('md5').update(`1001:${REALM}:right`).digest('hex')]]);

  /** A REGISTER with a wrong password as the SIP layer would handle it: what the peer sees. */
  async function attempt(user: string, ip: string, now: number): Promise<number> {
    if ((await lockout.check(user, ip, now)).locked) return 403;
    const challenge = auth.challenge(REALM, now);
    const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const resp = md5(`${md5(`${user}:${REALM}:wrong`)}:${nonce}:00000001:c:auth:${md5('REGISTER:sip:d')}`);
    const authorization = `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="sip:d", `
      + `response="${resp}", qop=auth, nc=00000001, cnonce="c"`;
    const v = auth.verify({ method: 'REGISTER', authorization, ha1: seats.get(user), realm: REALM, now });
    if (v.ok) return 200;
    await lockout.recordFailure(user, ip, now);
    const r = responseFor(v.reason, 'REGISTER');
    return r.status;
  }

  it('answers the same statuses, and locks after the same count, for a real and an unknown seat', async () => {
    const seen: Record<string, number[]> = { '1001': [], ghost: [] };
    for (const user of ['1001', 'ghost'] as const) {
      for (let i = 0; i < 7; i++) seen[user]!.push(await attempt(user, `10.1.${user.length}.${i}`, T0 + i * 1000));
    }
    expect(seen['1001']).toEqual(seen.ghost);
    expect(await lockout.check('ghost', '10.200.0.1', T0 + 10_000)).toMatchObject({ locked: true, scope: 'user' });
    expect(await lockout.check('1001', '10.200.0.1', T0 + 10_000)).toMatchObject({ locked: true, scope: 'user' });
  });
});
