// The Redis adapter on a real redis-server: the transition table through the Lua script, two
// clients (two app instances) sharing one seat's state, one round trip per change.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { agentState } from '../../src/agents/agent-state.js';
import { AgentStore, agentKeys } from '../../src/agents/agent-store.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { at, TABLE, type Check } from './transitions.js';

let redis: RedisInstance;
let a: Redis;
let b: Redis;

beforeAll(async () => {
  redis = await startRedis();
  a = redis.client();
  b = redis.client();
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await redis.stop();
});
beforeEach(async () => { await a.flushall(); });

async function play(store: AgentStore, seat: string, events: (typeof TABLE)[number]['events'], check: (c: Check) => Promise<void>): Promise<void> {
  for (const e of events) {
    if (Array.isArray(e)) await check(e);
    else if (e.kind === 'call-start') await store.onCallStart(seat, e.callId, e.at, e.until);
    else if (e.kind === 'call-end') await store.onCallEnd(seat, e.callId, e.at, e.talked);
    else if (e.kind === 'away') await store.setAway(seat, e.at);
    else await store.setAvailable(seat, e.at);
  }
}

describe('AgentStore', () => {
  for (const row of TABLE) {
    it(`Lua walks the table like the pure core: ${row.name}`, async () => {
      const store = new AgentStore(a);
      const check = async ([t, state, since]: Check) => {
        const v = agentState((await store.records(['1001'])).get('1001')!, row.wrapUp, at(t));
        expect([t, v.state, v.since === null ? null : (v.since - at(0)) / 1000]).toEqual([t, state, since]);
      };
      await play(store, '1001', row.events, check);
      for (const c of row.expect) await check(c);
    });
  }

  it('two instances share a seat: a call started on one and ended on the other; away set on one is seen by both', async () => {
    const one = new AgentStore(a);
    const two = new AgentStore(b);
    await one.onCallStart('1001', 'call-1', at(0), at(3600));
    expect(agentState((await two.records(['1001'])).get('1001')!, 10, at(1)).state).toBe('on-call');
    await two.onCallEnd('1001', 'call-1', at(30), true);
    expect(agentState((await one.records(['1001'])).get('1001')!, 10, at(31)).state).toBe('wrap-up');
    await one.setAway('1002', at(40));
    const all = await two.all();
    expect([...all.keys()].sort()).toEqual(['1001', '1002']);
    expect(agentState(all.get('1002')!, 0, at(41))).toMatchObject({ state: 'away', since: at(40) });
    // Unknown seats read as fresh (available), in the same single HMGET.
    expect(agentState((await one.records(['1003'])).get('1003')!, 0, at(50)).state).toBe('available');
  });

  it('concurrent starts and ends of one seat from two clients lose nothing (the script is atomic)', async () => {
    const one = new AgentStore(a);
    const two = new AgentStore(b);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? one : two).onCallStart('1001', `c${i}`, at(i), at(3600))));
    expect(agentState((await one.records(['1001'])).get('1001')!, 0, at(100)).calls).toBe(40);
    await Promise.all(Array.from({ length: 39 }, (_, i) => (i % 2 ? two : one).onCallEnd('1001', `c${i}`, at(200), true)));
    expect(agentState((await one.records(['1001'])).get('1001')!, 0, at(201))).toMatchObject({ state: 'on-call', calls: 1, since: at(39) });
  });

  it('one command per change and per read, all keys under one hash tag', async () => {
    const monitor = await redis.client().monitor();
    const seen: string[][] = [];
    // what the client sent (MONITOR also shows the commands a script runs, with source "lua")
    monitor.on('monitor', (_t: string, args: string[], source: string) => { if (source !== 'lua') seen.push(args); });
    const store = new AgentStore(a);
    await store.onCallStart('1001', 'x', at(0), at(3600));
    await store.onCallEnd('1001', 'x', at(10), true);
    await store.records(['1001', '1002']);
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    // EVALSHA fails with NOSCRIPT once per script (then EVAL); later calls are one EVALSHA each.
    const calls = seen.filter((c) => /^evalsha$/i.test(c[0]!));
    expect(calls).toHaveLength(3);
    expect(seen.filter((c) => !/^(evalsha|eval)$/i.test(c[0]!))).toEqual([]);
    const keys = calls.flatMap((c) => c.slice(3, 3 + Number(c[2])));
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.every((k) => k.includes('{agents}'))).toBe(true);
  });

  it('a seat with thousands of calls open: each start and end is small work, the record stays small, the counts stay exact', async () => {
    // A dialer behind one seat account: its open calls used to live in the record's JSON, so each
    // start or end decoded and re-encoded all of them (~10 ms of Redis per event at 10,000).
    const store = new AgentStore(a);
    const n = 3000;
    await Promise.all(Array.from({ length: n }, (_, i) => store.onCallStart('1001', `c${i}`, at(i / 100), at(3600))));
    expect((await a.hget(agentKeys.records, '1001'))!.length).toBeLessThan(200);
    expect(agentState((await store.records(['1001'])).get('1001')!, 0, at(100))).toMatchObject({ state: 'on-call', calls: n, since: at(0) });
    await Promise.all(Array.from({ length: n - 1 }, (_, i) => store.onCallEnd('1001', `c${i}`, at(200), true)));
    expect(agentState((await store.records(['1001'])).get('1001')!, 0, at(201))).toMatchObject({ state: 'on-call', calls: 1, since: at((n - 1) / 100) });
    // Calls past their expiry are dropped at the next start, as in the pure core.
    await store.onCallStart('1001', 'late', at(7200), at(9000));
    expect(Object.keys((await store.records(['1001'])).get('1001')!.calls)).toEqual(['late']);
    expect(await a.zcard(agentKeys.calls('1001'))).toBe(1);
    expect(await a.hlen(agentKeys.starts('1001'))).toBe(1);
  });

  it('a record written with its calls inside (before they moved out) reads the same, and its calls move out at its next event', async () => {
    await a.hset(agentKeys.records, '1001', JSON.stringify({ calls: { old1: [at(0), at(3600)], old2: [at(5), at(3600)] }, lastEnd: null, talked: false, away: null, readyAt: null }));
    const store = new AgentStore(a);
    expect(agentState((await store.records(['1001'])).get('1001')!, 0, at(10))).toMatchObject({ state: 'on-call', calls: 2, since: at(0) });
    await store.onCallEnd('1001', 'old1', at(20), true);
    expect(JSON.parse((await a.hget(agentKeys.records, '1001'))!)).not.toHaveProperty('calls');
    expect(agentState((await store.records(['1001'])).get('1001')!, 0, at(21))).toMatchObject({ state: 'on-call', calls: 1, since: at(5) });
    await store.onCallEnd('1001', 'old2', at(30), true);
    expect(agentState((await store.records(['1001'])).get('1001')!, 10, at(31))).toMatchObject({ state: 'wrap-up', calls: 0 });
    expect([...(await store.all()).keys()]).toEqual(['1001']);
  });
});
