import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { ConcurrencySlots, slotKey } from '../../src/ledger/concurrency.js';
import { Ledger } from '../../src/ledger/ledger.js';

let redis: RedisInstance;
let clients: Redis[];
let slots: ConcurrencySlots[];

beforeAll(async () => {
  redis = await startRedis();
  clients = Array.from({ length: 3 }, () => redis.client());
  slots = clients.map((c) => new ConcurrencySlots(c));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

describe('concurrency slots across instances', () => {
  it('never admits more than the limit, even all at once from several connections', async () => {
    const key = slotKey('tenant', 'acme');
    const res = await Promise.all(Array.from({ length: 50 }, (_, i) => slots[i % 3]!.acquire(key, `c${i}`, 5, 60_000)));
    expect(res.filter((r) => r.ok)).toHaveLength(5);
    expect(res.filter((r) => !r.ok).every((r) => r.count === 5)).toBe(true);
    expect(await slots[0]!.count(key)).toBe(5);
    const holder = res.findIndex((r) => r.ok);
    // idempotent: the holder asking again keeps its one slot
    expect(await slots[1]!.acquire(key, `c${holder}`, 5, 60_000)).toEqual({ ok: true, count: 5 });
    expect(await slots[2]!.release(key, `c${holder}`)).toBe(true);
    expect(await slots[2]!.release(key, `c${holder}`)).toBe(false);
    expect(await slots[0]!.acquire(key, 'late', 5, 60_000)).toEqual({ ok: true, count: 5 });
    expect(await slots[0]!.acquire(key, 'later', 5, 60_000)).toEqual({ ok: false, count: 5 });
  });

  it('stale slots expire (crashed instance), refreshed ones stay', async () => {
    const key = slotKey('trunk', 'ct-1');
    expect((await slots[0]!.acquire(key, 'a', 2, 150)).ok).toBe(true);
    expect((await slots[0]!.acquire(key, 'b', 2, 150)).ok).toBe(true);
    expect((await slots[1]!.acquire(key, 'c', 2, 150)).ok).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(await slots[0]!.refresh(key, 'a', 300)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await slots[1]!.count(key)).toBe(1);
    // Several sets in one read, expired slots dropped in each, as count does; an unknown set is 0.
    const other = slotKey('tenant', 'ct-1');
    expect((await slots[2]!.acquire(other, 'x', 5, 60_000)).ok).toBe(true);
    expect(await slots[2]!.countMany([other, key, slotKey('trunk', 'none')])).toEqual([1, 1, 0]);
    // A call's slots freed together; an absent member is no error.
    await slots[0]!.releaseMany([{ key: other, member: 'x' }, { key, member: 'a' }, { key, member: 'gone' }]);
    expect(await slots[1]!.countMany([other, key])).toEqual([0, 0]);
    expect((await slots[0]!.acquire(key, 'a', 2, 150)).ok).toBe(true);
    expect(await slots[1]!.refresh(key, 'b', 300)).toBe(false);
    expect(await slots[1]!.acquire(key, 'c', 2, 150)).toEqual({ ok: true, count: 2 });
  });
});

describe('the outbound decision\'s read', () => {
  it('gives the account and each slot set\'s live count in one script call, as getAccount and countMany do', async () => {
    const ledger = new Ledger(clients[0]!, { instanceId: 'view' });
    await ledger.createAccount('acct-v', { tenant: 'tv', prepaidTotal: 0 });
    await ledger.topUp('acct-v', 'dep-1', 5000, 'deposit');
    const tenant = slotKey('tenant', 'tv');
    const trunk = slotKey('trunk', 'tv-a');
    await slots[0]!.acquire(tenant, 'live', 5, 60_000);
    await slots[0]!.acquire(tenant, 'stale', 5, 50);
    await slots[0]!.acquire(trunk, 'live', 5, 60_000);
    await new Promise((r) => setTimeout(r, 80));
    const [acct, counts] = await ledger.accountAndSlotCounts('acct-v', slots[1]!, [tenant, trunk, slotKey('trunk', 'none')]);
    expect(acct).toEqual(await ledger.getAccount('acct-v'));
    expect(acct).toMatchObject({ balance: 5000, available: 5000, tenant: 'tv' });
    expect(counts).toEqual([1, 1, 0]); // the expired slot no longer counts
    expect(await ledger.accountAndSlotCounts('no-such-acct', slots[1]!, [tenant])).toEqual([null, [1]]);
  });
});
