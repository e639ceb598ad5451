import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDigestAuth, responseFor } from '../../src/auth/digest.js';
import { createLockout, type Lockout, type LockState } from '../../src/auth/lockout.js';
import { createReplayGuard } from '../../src/auth/replay.js';
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
  lockout = createLockout(redis, {
    maxFailuresPerUserSource: 5, maxFailuresPerSource: 8, maxFailuresPerUser: 12,
    windowMs: 10 * MIN, lockMs: 15 * MIN, maxLockMs: 60 * MIN, trustMs: 24 * 60 * MIN,
  });
});

async function fail(times: number, user: (i: number) => string, ip: (i: number) => string, at = T0): Promise<LockState[]> {
  const out: LockState[] = [];
  for (let i = 0; i < times; i++) out.push(await lockout.recordFailure(user(i), ip(i), at + i * 1000));
  return out;
}

describe('lockout', () => {
  it('locks a seat from the guessing source after 5 failures; the agent on another source is not locked out', async () => {
    const states = await fail(5, () => '1001', () => '203.0.113.7');
    expect(states.slice(0, 4).every((s) => !s.locked)).toBe(true);
    expect(states[4]).toMatchObject({ locked: true, scope: 'user-source', retryAfterSeconds: 15 * 60 });
    expect(await lockout.check('1001', '203.0.113.7', T0 + MIN)).toMatchObject({ locked: true, scope: 'user-source' });
    expect(await lockout.check('1001', '10.9.9.9', T0 + MIN)).toMatchObject({ locked: false });
    const until = (states[4] as { until: number }).until;
    expect(await lockout.check('1001', '203.0.113.7', until - 1)).toMatchObject({ locked: true });
    expect(await lockout.check('1001', '203.0.113.7', until)).toMatchObject({ locked: false });
  });

  it('locks a source after its limit across many usernames, each new lock twice as long (backoff)', async () => {
    const states = await fail(8, (i) => `user${i}`, () => '203.0.113.7');
    expect(states[6]?.locked).toBe(false);
    expect(states[7]).toMatchObject({ locked: true, scope: 'source', retryAfterSeconds: 15 * 60 });
    expect(await lockout.check('1001', '203.0.113.7', T0 + MIN)).toMatchObject({ locked: true, scope: 'source' });
    expect(await lockout.check('1001', '203.0.113.8', T0 + MIN)).toMatchObject({ locked: false });
    // Back after the first lock and guessing again: 30 minutes, then 60 (the cap).
    const again = await fail(8, (i) => `other${i}`, () => '203.0.113.7', T0 + 20 * MIN);
    expect(again[7]).toMatchObject({ locked: true, scope: 'source', retryAfterSeconds: 30 * 60 });
    const third = await fail(8, (i) => `more${i}`, () => '203.0.113.7', T0 + 60 * MIN);
    expect(third[7]).toMatchObject({ locked: true, scope: 'source', retryAfterSeconds: 60 * 60 });
  });

  it('counts failures in a sliding window', async () => {
    await fail(4, () => '1001', () => '10.0.0.1', T0);
    // The first four have left the 10-minute window by now.
    const s = await fail(4, () => '1001', () => '10.0.0.1', T0 + 11 * MIN);
    expect(s.every((x) => !x.locked)).toBe(true);
    expect(await lockout.recordFailure('1001', '10.0.0.1', T0 + 11 * MIN + 5000)).toMatchObject({ locked: true });
  });

  it('locks a seat everywhere only far above a few packets, and never for a source it recently logged in from', async () => {
    await lockout.recordSuccess('1001', '10.0.0.50', T0 - MIN); // the agent's own phone
    // 12 failures from 12 different addresses (a distributed guess).
    const states = await fail(12, () => '1001', (i) => `198.51.100.${i}`);
    expect(states.slice(0, 11).every((s) => !s.locked)).toBe(true);
    expect(states[11]).toMatchObject({ locked: true, scope: 'user' });
    expect(await lockout.check('1001', '198.51.100.200', T0 + MIN)).toMatchObject({ locked: true, scope: 'user' });
    expect(await lockout.check('1001', '10.0.0.50', T0 + MIN)).toMatchObject({ locked: false });
  });

  it('clears the seat-and-source counter on success but not the source counter', async () => {
    await fail(4, () => '1001', () => '10.0.0.1');
    await lockout.recordSuccess('1001', '10.0.0.1', T0 + 5000);
    const s = await fail(3, () => '1001', () => '10.0.0.1', T0 + 10_000);
    expect(s.every((x) => !x.locked)).toBe(true);
    // 4 + 3 source failures so far; the 8th locks the source.
    expect(await lockout.recordFailure('1002', '10.0.0.1', T0 + 20_000)).toMatchObject({ locked: true, scope: 'source' });
  });

  it('tells check() whether failures are pending, and a success reported with that hint clears exactly them', async () => {
    expect(await lockout.check('1001', '10.0.0.1', T0)).toEqual({ locked: false, failuresPending: false });
    await fail(4, () => '1001', () => '10.0.0.1');
    const before = await lockout.check('1001', '10.0.0.1', T0 + 5000);
    expect(before).toEqual({ locked: false, failuresPending: true });
    await lockout.recordSuccess('1001', '10.0.0.1', T0 + 5000, before.locked ? true : before.failuresPending);
    expect(await lockout.check('1001', '10.0.0.1', T0 + 6000)).toEqual({ locked: false, failuresPending: false });
    // The counter really restarted: three more failures (7 in all, limit 5) do not lock the seat.
    const s = await fail(3, () => '1001', () => '10.0.0.1', T0 + 10_000);
    expect(s.every((x) => !x.locked)).toBe(true);
  });

  it('does not extend a lock with failures during it', async () => {
    const states = await fail(5, () => '1001', () => '10.0.0.1');
    const until = (states[4] as { until: number }).until;
    expect(await lockout.recordFailure('1001', '10.0.0.1', T0 + MIN)).toMatchObject({ locked: true, until });
  });

  it('keeps only TTL-bounded keys, safe for hostile usernames', async () => {
    await lockout.recordFailure('{evil}\r\nname', '::1', T0);
    await lockout.recordFailure('x'.repeat(5000), '::1', T0);
    await lockout.recordSuccess('{evil}', '::1', T0);
    const keys = await redis.keys('*');
    expect(keys.length).toBe(8); // per subject: failures; per seat-from-source also its pending marker; trust;
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
    expect(seen.ghost).toEqual([403, 403, 403, 403, 403, 403, 403]);
    // Same count, same lock, whether the seat exists or not.
    for (const user of ['1001', 'ghost']) {
      for (let i = 0; i < 5; i++) await attempt(user, `10.250.${user.length}.1`, T0 + 20_000 + i);
      expect(await lockout.check(user, `10.250.${user.length}.1`, T0 + 30_000)).toMatchObject({ locked: true, scope: 'user-source' });
    }
  });
});

describe('lockout read with the nonce-count', () => {
  it('accepts a nonce-count once in the same read, as the replay guard alone does, and still reports locks', async () => {
    const replay = createReplayGuard(redis);
    const use = (nc: number) => replay.use!('nonce-A', nc, 60_000)!;
    expect(await lockout.check('1001', '10.0.0.1', T0, use(1))).toEqual({ locked: false, failuresPending: false, nonceFresh: true });
    // The same count again (a captured header replayed) is not fresh, through either path.
    expect((await lockout.check('1001', '10.0.0.1', T0, use(1))).nonceFresh).toBe(false);
    expect(await replay.accept('nonce-A', 1, 60_000)).toBe(false);
    expect((await lockout.check('1001', '10.0.0.1', T0, use(2))).nonceFresh).toBe(true);
    expect(await replay.accept('nonce-A', 3, 60_000)).toBe(true);
    expect((await lockout.check('1001', '10.0.0.1', T0, use(3))).nonceFresh).toBe(false);
    expect(replay.use!('nonce-A', 0, 60_000)).toBeNull();
    // A locked seat is reported locked with the nonce read along.
    await fail(5, () => '1001', () => '10.0.0.1');
    expect(await lockout.check('1001', '10.0.0.1', T0 + MIN, use(9))).toMatchObject({ locked: true, scope: 'user-source', nonceFresh: true });
    // Without a nonce the answer has no nonceFresh (MGET alone).
    expect(await lockout.check('1002', '10.0.0.1', T0)).toEqual({ locked: false, failuresPending: false });
  });
});
