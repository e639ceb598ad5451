// Crash recovery (issue 4 §6): orphaned reservations are settled exactly once, by the rule in
// src/ledger/recovery.ts, even with several instances recovering at once and across a Redis restart.
import { accountKeys } from '../../src/ledger/keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { billableMsOf, type RateFn } from '../../src/ledger/recovery.js';

const HB = 10_000;
const T0 = 1_741_572_000_000;
// 0.13 yuan per started minute (004 §1), enough of a rating function for these tests.
const minuteCost = (ms: number): number => Math.ceil(ms / 60_000) * 1_300;
const perMinute: RateFn = (_call, ms) => minuteCost(ms);

let redis: RedisInstance;
let clients: Redis[];
let app: Ledger; // the instance that "dies"
let others: Ledger[];

beforeAll(async () => {
  redis = await startRedis();
  clients = Array.from({ length: 4 }, () => redis.client());
  app = new Ledger(clients[0]!, { instanceId: 'dead', heartbeatMs: HB });
  others = clients.slice(1).map((c, i) => new Ledger(c, { instanceId: `rec${i}`, heartbeatMs: HB }));
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

async function funded(acct: string, amount = 100_000): Promise<void> {
  await app.createAccount(acct, { tenant: 't' });
  await app.topUp(acct, 'open', amount);
}

describe('orphan recovery', () => {
  it('bills answered orphans to last heartbeat + one interval, releases unanswered ones, leaves live calls', async () => {
    await funded('r1');
    await app.reserve('r1', 'answered', { min: 1_300, max: 6_500 }, T0, 'tariff=a');
    await app.heartbeat('r1', 'answered', T0 + 30_000, T0 + 5_000);
    await app.heartbeat('r1', 'answered', T0 + 130_000);
    await app.reserve('r1', 'ringing', { min: 1_300, max: 6_500 }, T0);
    await app.heartbeat('r1', 'ringing', T0 + 20_000);
    const now = T0 + 300_000;
    await app.reserve('r1', 'live', { min: 1_300, max: 6_500 }, now - 5_000);

    const seen: Array<[string, number]> = [];
    const out = await others[0]!.recoverOrphans(now, (call, ms) => { seen.push([call.meta, ms]); return perMinute(call, ms); });
    const by = Object.fromEntries(out.map((o) => [o.callId, o]));
    expect(Object.keys(by).sort()).toEqual(['answered', 'ringing']);
    // answered at +5 s, last heartbeat +130 s → billed to +140 s: 135 s → 3 minutes
    expect(by.answered).toMatchObject({ outcome: 'settled', billableMs: 135_000, cost: 3_900 });
    expect(by.answered!.settlement).toMatchObject({ debited: 3_900, released: 2_600, recovered: true, kind: 'recovered', cdrRef: 'recovered:rec0' });
    expect(by.ringing).toMatchObject({ outcome: 'released', billableMs: 0, cost: 0 });
    expect(seen).toEqual([['tariff=a', 135_000]]);
    expect(await app.getAccount('r1')).toMatchObject({ balance: 100_000 - 3_900, reserved: 6_500 });

    // the "dead" instance comes back: its heartbeat and settle learn the call was recovered
    expect(await app.heartbeat('r1', 'answered', now + 1)).toMatchObject({ ok: false, reason: 'NO_RESERVATION' });
    expect(await app.settle('r1', 'answered', 1_300, 'late-cdr')).toMatchObject({ alreadySettled: true, recovered: true, debited: 3_900 });
    expect(await others[1]!.recoverOrphans(now + 1, perMinute)).toEqual([]);
    expect((await app.getAccount('r1'))!.balance).toBe(100_000 - 3_900);
    await app.release('r1', 'live');
  });

  it('caps the bill by the reservation', async () => {
    await funded('r2');
    await app.reserve('r2', 'c', { min: 1_300, max: 1_300 }, T0);
    await app.heartbeat('r2', 'c', T0 + 600_000, T0);
    const [o] = await others[0]!.recoverOrphans(T0 + 10 * 60_000 + 31_000, perMinute);
    expect(o).toMatchObject({ outcome: 'settled', cost: 14_300 });
    expect(o!.settlement).toMatchObject({ debited: 1_300, shortfall: 13_000 });
  });

  it('a claimed call refuses heartbeats and extensions', async () => {
    await funded('r3');
    await app.reserve('r3', 'c', { min: 1_300, max: 1_300 }, T0);
    await app.heartbeat('r3', 'c', T0 + 1_000, T0 + 500);
    // a recovery that has claimed the call but is still rating it: the live app is told at once
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const now = T0 + 1_000 + 3 * HB + 1;
    const running = others[0]!.recoverOrphans(now, async () => { await gate; return 1_300; });
    await new Promise((r) => setTimeout(r, 50));
    expect(await app.heartbeat('r3', 'c', now)).toEqual({ ok: false, reason: 'RECOVERED' });
    expect(await app.extend('r3', 'c', { min: 1, max: 1 }, now)).toMatchObject({ ok: false, reason: 'RECOVERED' });
    // another instance leaves the claimed call alone (the refused heartbeat moved its index score)
    expect(await others[1]!.recoverOrphans(now + 3 * HB + 1, perMinute)).toEqual([{ account: 'r3', callId: 'c', outcome: 'claimed' }]);
    release();
    expect(await running).toMatchObject([{ callId: 'c', outcome: 'settled', cost: 1_300 }]);
  });

  it('three instances recovering 60 orphans at once settle each exactly once', async () => {
    await funded('r4', 10_000_000);
    for (let i = 0; i < 60; i++) {
      await app.reserve('r4', `c${i}`, { min: 1_300, max: 13_000 }, T0);
      await app.heartbeat('r4', `c${i}`, T0 + 60_000 + i * 1000, T0 + 1_000);
    }
    const now = T0 + 600_000;
    const rated: string[] = [];
    const rate: RateFn = async (call, ms) => { rated.push(call.callId); await new Promise((r) => setTimeout(r, 1)); return minuteCost(ms); };
    const runs = await Promise.all(others.flatMap((l) => [l.recoverOrphans(now, rate), l.recoverOrphans(now, rate)]));
    const settled = runs.flat().filter((o) => o.outcome === 'settled');
    expect(settled.map((o) => o.callId).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `c${i}`).sort());
    expect(new Set(rated).size).toBe(60);
    const expected = Array.from({ length: 60 }, (_, i) => minuteCost(billableMsOf({ answeredAt: T0 + 1_000, lastHeartbeat: T0 + 60_000 + i * 1000 }, HB, now)))
      .reduce((x, y) => x + y, 0);
    expect(settled.reduce((x, o) => x + o.settlement!.debited, 0)).toBe(expected);
    expect(await app.getAccount('r4')).toMatchObject({ balance: 10_000_000 - expected, reserved: 0 });
    expect((await app.history('r4', 1000)).filter((e) => e.type === 'call')).toHaveLength(60);
  });

  it('drops index entries whose reservation never happened', async () => {
    await funded('r5');
    await clients[0]!.sadd(app.liveAccountsKey, 'r5');
    await clients[0]!.zadd(accountKeys('r5').live, T0, 'ghost');
    expect(await others[0]!.recoverOrphans(T0 + 100_000, perMinute)).toEqual([{ account: 'r5', callId: 'ghost', outcome: 'gone' }]);
    expect((await app.liveIndex('r5')).size).toBe(0);
  });

  it('settles a call indexed by an earlier version (global index) and drops its entry', async () => {
    await funded('r6');
    await app.reserve('r6', 'old', { min: 1_000, max: 1_000 }, T0);
    await app.heartbeat('r6', 'old', T0 + 30_000, T0 + 1_000);
    // as an earlier version indexed it: only in the global index
    await clients[0]!.zrem(accountKeys('r6').live, 'old');
    await clients[0]!.srem(app.liveAccountsKey, 'r6');
    await clients[0]!.zadd(app.liveIndexKey, T0 + 30_000, JSON.stringify(['r6', 'old']));
    const out = await others[0]!.recoverOrphans(T0 + 600_000, perMinute);
    expect(out).toMatchObject([{ account: 'r6', callId: 'old', outcome: 'settled' }]);
    expect(await clients[0]!.zscore(app.liveIndexKey, JSON.stringify(['r6', 'old']))).toBeNull();
    expect(await app.getAccount('r6')).toMatchObject({ reserved: 0 });
  });
});

describe('kill -9', () => {
  it('redis with AOF killed and restarted, app restarted: recovery reconciles, nothing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dialgate-aof-'));
    try {
      const r1 = await startRedis({ appendOnly: true, dir });
      const c1 = r1.client();
      const a = new Ledger(c1, { instanceId: 'before', heartbeatMs: HB });
      await a.createAccount('k', { tenant: 't' });
      await a.topUp('k', 'pay-1', 50_000);
      await a.reserve('k', 'up', { min: 1_300, max: 13_000 }, T0);
      await a.heartbeat('k', 'up', T0 + 100_000, T0 + 10_000);
      await a.reserve('k', 'done', { min: 1_300, max: 13_000 }, T0);
      await a.settle('k', 'done', 2_600, 'cdr-done', T0 + 50_000);
      const pid = Number(/process_id:(\d+)/.exec(await c1.info('server'))![1]);
      c1.disconnect(); // the app dies too
      process.kill(pid, 'SIGKILL');
      await r1.stop(); // waits for the exit

      const r2 = await startRedis({ appendOnly: true, dir });
      const c2 = r2.client();
      try {
        const b = new Ledger(c2, { instanceId: 'after', heartbeatMs: HB });
        expect(await b.getAccount('k')).toMatchObject({ balance: 50_000 - 2_600, reserved: 13_000 });
        const out = await b.recoverOrphans(T0 + 200_000, perMinute);
        expect(out).toHaveLength(1);
        expect(out[0]).toMatchObject({ callId: 'up', outcome: 'settled', billableMs: 100_000, cost: 2_600 });
        // retries after the restart change nothing
        expect(await b.topUp('k', 'pay-1', 50_000)).toMatchObject({ duplicate: true });
        expect(await b.settle('k', 'done', 9_999, 'retry')).toMatchObject({ alreadySettled: true, debited: 2_600 });
        expect(await b.settle('k', 'up', 9_999, 'retry')).toMatchObject({ alreadySettled: true, debited: 2_600 });
        expect(await b.recoverOrphans(T0 + 300_000, perMinute)).toEqual([]);
        const acc = (await b.getAccount('k'))!;
        expect(acc).toMatchObject({ balance: 50_000 - 5_200, reserved: 0, credits: 50_000, debits: 5_200 });
        expect((await b.history('k')).map((e) => e.id)).toEqual(['call:up', 'call:done', 'pay-1']);
      } finally {
        c2.disconnect();
        await r2.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
