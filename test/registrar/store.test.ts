import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRegistrarStore, grantExpires, parseRegister, type RegisterInput, type RegistrarStore,
} from '../../src/registrar/store.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const T0 = Date.UTC(2025, 2, 1, 2, 0, 0);

let server: RedisInstance;
let redis: Redis;
let store: RegistrarStore;

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
  store = createRegistrarStore(redis);
});

const reg = (over: Partial<RegisterInput> = {}): RegisterInput => ({
  aor: '1001', contact: 'sip:1001@192.168.1.20:5062', source: '203.0.113.9:40123', transport: 'udp',
  expires: 3600, callId: 'reg-1@phone', cseq: 1, userAgent: 'Yealink T46U', ...over,
});

describe('grantExpires', () => {
  it('clamps to the max, refuses below the min, keeps 0 as removal', () => {
    expect(grantExpires(7200)).toBe(3600);
    expect(grantExpires(60)).toBe(60);
    expect(grantExpires(59)).toBe('too-brief');
    expect(grantExpires(0)).toBe(0);
    expect(grantExpires(Number.NaN)).toBe(3600);
  });
});

describe('registrar store', () => {
  it('stores a binding with its expiry and a matching key TTL', async () => {
    const d = await store.register(reg({ expires: 7200 }), T0);
    expect(d).toMatchObject({ kind: 'ok', expires: 3600 });
    const [b] = await store.lookup('1001', T0 + 1000);
    expect(b).toMatchObject({
      aor: '1001', contact: 'sip:1001@192.168.1.20:5062', source: '203.0.113.9:40123', transport: 'udp',
      callId: 'reg-1@phone', cseq: 1, userAgent: 'Yealink T46U', registeredAt: T0, expiresAt: T0 + 3_600_000, expires: 3599,
    });
    const keys = await redis.keys('dialgate:reg:{1001}:*');
    expect(keys.sort()).toEqual(['dialgate:reg:{1001}:b', 'dialgate:reg:{1001}:x']);
    for (const k of keys) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(3_590_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
    }
  });

  it('answers 423 below the minimum and stores nothing', async () => {
    expect(await store.register(reg({ expires: 30 }), T0)).toEqual({ kind: 'interval-too-brief', minExpires: 60 });
    expect(await store.lookup('1001', T0)).toEqual([]);
    expect(await redis.dbsize()).toBe(0);
  });

  it('keeps several contacts, each with its own expiry', async () => {
    await store.register(reg({ contact: 'sip:1001@desk', expires: 120 }), T0);
    await store.register(reg({ contact: 'sip:1001@softphone', expires: 600, callId: 'reg-2', q: 0.5 }), T0 + 1000);
    expect((await store.lookup('1001', T0 + 2000)).map((b) => b.contact)).toEqual(['sip:1001@desk', 'sip:1001@softphone']);
    // The desk phone's 120 s lapse; the softphone's binding lives on.
    const later = await store.lookup('1001', T0 + 121_000);
    expect(later.map((b) => [b.contact, b.expires])).toEqual([['sip:1001@softphone', 480]]);
    // The key TTL follows the latest contact.
    expect(await redis.pttl('dialgate:reg:{1001}:b')).toBeGreaterThan(590_000);
    // A later write prunes the lapsed contact from Redis too.
    const d = await store.register(reg({ contact: 'sip:1001@softphone', expires: 600, callId: 'reg-2', cseq: 2 }), T0 + 121_000);
    expect(d.kind === 'ok' && d.bindings.map((b) => b.contact)).toEqual(['sip:1001@softphone']);
    expect(await redis.hkeys('dialgate:reg:{1001}:b')).toEqual(['sip:1001@softphone']);
  });

  it('lets the Redis key expire with the registration', async () => {
    const short = createRegistrarStore(redis, { minExpires: 1 });
    await short.register(reg({ expires: 1 }), Date.now());
    const ttl = await redis.pttl('dialgate:reg:{1001}:b');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  it('refreshes a binding and rejects out-of-order CSeqs of the same Call-ID', async () => {
    await store.register(reg({ cseq: 5, expires: 300 }), T0);
    expect(await store.register(reg({ cseq: 5 }), T0 + 1000)).toEqual({ kind: 'out-of-order' });
    expect(await store.register(reg({ cseq: 4 }), T0 + 1000)).toEqual({ kind: 'out-of-order' });
    expect(await store.register(reg({ cseq: 6, expires: 900 }), T0 + 1000)).toMatchObject({ kind: 'ok', expires: 900 });
    // A rebooted phone starts a new Call-ID with a low CSeq: accepted.
    expect(await store.register(reg({ callId: 'new@phone', cseq: 1 }), T0 + 2000)).toMatchObject({ kind: 'ok' });
    expect(await store.lookup('1001', T0 + 2000)).toHaveLength(1);
  });

  it('unregisters one contact with expires 0 and all with *', async () => {
    await store.register(reg({ contact: 'sip:a@h' }), T0);
    await store.register(reg({ contact: 'sip:b@h' }), T0);
    await store.register(reg({ contact: 'sip:c@h' }), T0);
    const d = await store.register(reg({ contact: 'sip:a@h', expires: 0, cseq: 2 }), T0 + 1000);
    expect(d).toMatchObject({ kind: 'ok', expires: 0 });
    expect((await store.lookup('1001', T0 + 1000)).map((b) => b.contact).sort()).toEqual(['sip:b@h', 'sip:c@h']);
    expect(await store.unregister('1001', 'sip:b@h', T0 + 1000)).toMatchObject({ kind: 'ok' });
    expect(await store.unregister('1001', '*', T0 + 2000, { callId: 'other', cseq: 1 })).toEqual({ kind: 'ok', expires: 0, bindings: [] });
    expect(await store.lookup('1001', T0 + 2000)).toEqual([]);
    expect(await redis.keys('dialgate:reg:{1001}:*')).toEqual([]);
    expect(await store.count(T0 + 2000)).toEqual({ aors: 0, contacts: 0 });
  });

  it('applies a parsed REGISTER all-or-nothing on the 423 check', async () => {
    const p = parseRegister({ contact: '<sip:1001@a>;expires=30, <sip:1001@b>', expires: '300' });
    if (p.kind !== 'contacts') throw new Error(p.kind);
    const meta = { source: '203.0.113.9:5060', transport: 'tcp', callId: 'c1', cseq: 1 };
    expect(await store.registerContacts('1001', p.contacts, meta, T0)).toEqual({ kind: 'interval-too-brief', minExpires: 60 });
    expect(await store.lookup('1001', T0)).toEqual([]);
    const ok = parseRegister({ contact: '<sip:1001@a>;expires=90, <sip:1001@b>', expires: '300' });
    if (ok.kind !== 'contacts') throw new Error(ok.kind);
    const d = await store.registerContacts('1001', ok.contacts, meta, T0);
    expect(d.kind === 'ok' && d.bindings.map((b) => [b.contact, b.expires]).sort()).toEqual([['sip:1001@a', 90], ['sip:1001@b', 300]]);
  });

  it('drops the soonest-expiring other contacts beyond the per-AOR limit', async () => {
    const small = createRegistrarStore(redis, { maxContactsPerAor: 2 });
    await small.register(reg({ contact: 'sip:x@1', expires: 600 }), T0);
    await small.register(reg({ contact: 'sip:x@2', expires: 900 }), T0);
    await small.register(reg({ contact: 'sip:x@3', expires: 60 }), T0);
    expect((await small.lookup('1001', T0)).map((b) => b.contact).sort()).toEqual(['sip:x@2', 'sip:x@3']);
    expect(await small.count(T0)).toEqual({ aors: 1, contacts: 2 });
  });

  it('counts registered seats and live contacts', async () => {
    await store.register(reg({ aor: '1001', contact: 'sip:1001@a', expires: 60 }), T0);
    await store.register(reg({ aor: '1001', contact: 'sip:1001@b', expires: 600 }), T0);
    await store.register(reg({ aor: '1002', contact: 'sip:1002@a', expires: 120 }), T0);
    expect(await store.count(T0)).toEqual({ aors: 2, contacts: 3 });
    expect(await store.count(T0 + 61_000)).toEqual({ aors: 2, contacts: 2 });
    expect(await store.count(T0 + 121_000)).toEqual({ aors: 1, contacts: 1 });
    expect(await store.count(T0 + 601_000)).toEqual({ aors: 0, contacts: 0 });
  });
});
