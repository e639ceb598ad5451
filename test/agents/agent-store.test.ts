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

  it('one command per change, all on one hash-tagged key', async () => {
    const monitor = await redis.client().monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_t: string, args: string[]) => seen.push(args.join(' ')));
    const store = new AgentStore(a);
    await store.onCallStart('1001', 'x', at(0), at(3600));
    await store.onCallEnd('1001', 'x', at(10), true);
    await store.setAway('1001', at(20));
    await store.records(['1001', '1002']);
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    // EVALSHA fails with NOSCRIPT once (then EVAL); later calls are one EVALSHA each.
    const top = seen.filter((c) => /^(evalsha|eval|hmget)/i.test(c));
    expect(top.filter((c) => /^evalsha/i.test(c))).toHaveLength(3);
    expect(top.filter((c) => /^hmget/i.test(c))).toHaveLength(1);
    expect(top.every((c) => c.includes(agentKeys.records))).toBe(true);
    expect(agentKeys.records).toMatch(/\{agents\}/);
  });
});
