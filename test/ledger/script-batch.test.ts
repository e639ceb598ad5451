// Script batching on a real redis-server: the scripts of one turn leave as one EVALSHA, and each
// caller still gets its own reply or error, in the order the calls were made.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { LuaScript } from '../../src/ledger/lua/script.js';
import { MAX_BATCH, batchScripts } from '../../src/ledger/lua/script-batch.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const INCR = new LuaScript('test-incr', `return redis.call('INCRBY', KEYS[1], ARGV[1])`);
const SHAPES = new LuaScript('test-shapes', `
if ARGV[1] == 'nil' then return nil end
if ARGV[1] == 'false' then return false end
if ARGV[1] == 'table' then return {1, 'two', {3}} end
if ARGV[1] == 'status' then return redis.status_reply('FINE') end
return ARGV[1] .. ':' .. #KEYS .. ':' .. #ARGV`);
const FAIL = new LuaScript('test-fail', `
if ARGV[1] == 'reply' then return redis.error_reply('REFUSED because ' .. KEYS[1]) end
if ARGV[1] == 'call' then return redis.call('INCR', KEYS[1]) end
return nil + 1`);

let redis: RedisInstance;
let client: Redis;
let watcher: Redis;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  batchScripts(client);
  watcher = redis.client();
});
afterAll(async () => {
  client.disconnect();
  watcher.disconnect();
  await redis.stop();
});
beforeEach(async () => { await watcher.flushall(); });

/** The commands the server received from clients (not from inside scripts) while fn ran. */
async function sent(fn: () => Promise<unknown>): Promise<string[][]> {
  const monitor = await watcher.duplicate().monitor();
  const seen: string[][] = [];
  monitor.on('monitor', (_t: string, args: string[], source: string) => { if (!source.includes('lua')) seen.push(args); });
  await new Promise((r) => setTimeout(r, 50));
  await fn();
  await new Promise((r) => setTimeout(r, 50));
  monitor.disconnect();
  return seen;
}

describe('script batching', () => {
  it('sends the scripts of one turn as one EVALSHA; each caller gets its own reply', async () => {
    let replies: unknown[] = [];
    const cmds = await sent(async () => {
      replies = await Promise.all([
        INCR.run(client, ['n'], [5]),
        SHAPES.run(client, ['a', 'b'], ['x', 'y']),
        INCR.run(client, ['n'], [2]),
        SHAPES.run(client, [], ['nil']),
        SHAPES.run(client, [], ['false']),
        SHAPES.run(client, ['k'], ['table']),
        SHAPES.run(client, [], ['status']),
      ]);
    });
    expect(replies).toEqual([5, 'x:2:2', 7, null, null, [1, 'two', [3]], 'FINE']);
    expect(cmds.filter((c) => /^evalsha$/i.test(c[0]!))).toHaveLength(1);
    expect(await watcher.get('n')).toBe('7');
  });

  it('splits a turn of many scripts into batches of at most MAX_BATCH, in order', async () => {
    const n = MAX_BATCH * 2 + 5;
    let replies: unknown[] = [];
    const cmds = await sent(async () => { replies = await Promise.all(Array.from({ length: n }, () => INCR.run(client, ['n'], [1]))); });
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // EVALSHA sha numkeys ...keys count ...: the batch's size is its first ARGV.
    expect(cmds.filter((c) => /^evalsha$/i.test(c[0]!)).map((c) => Number(c[3 + Number(c[2])]))).toEqual([MAX_BATCH, MAX_BATCH, 5]);
  });

  it('a lone script is a plain EVALSHA of itself', async () => {
    await INCR.run(client, ['n'], [3]); // loaded (EVAL after NOSCRIPT) the first time
    const cmds = await sent(() => INCR.run(client, ['n'], [3]));
    expect(cmds.map((c) => c.slice(0, 2))).toEqual([['evalsha', INCR.sha]]);
  });

  it('a failing script rejects its own caller only, with its error', async () => {
    await watcher.set('str', 'not a number');
    const out = await Promise.allSettled([
      INCR.run(client, ['n'], [1]),
      FAIL.run(client, ['acct'], ['reply']),
      FAIL.run(client, ['str'], ['call']),
      FAIL.run(client, [], ['runtime']),
      INCR.run(client, ['n'], [1]),
    ]);
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason.message).toBe('REFUSED because acct');
    expect((out[2] as PromiseRejectedResult).reason.message).toMatch(/not an integer/);
    expect((out[3] as PromiseRejectedResult).reason.message).toMatch(/arithmetic/);
    expect((out[4] as PromiseFulfilledResult<unknown>).value).toBe(2);
  });

  it('keeps the order of the connection: a plain command sends the scripts called before it', async () => {
    const first = INCR.run(client, ['n'], [10]);
    const plain = client.incrby('n', 100);
    const second = INCR.run(client, ['n'], [1000]);
    expect(await Promise.all([first, plain, second])).toEqual([10, 110, 1110]);
    const tx = INCR.run(client, ['n'], [1]);
    const multi = client.multi().get('n').incr('n').exec();
    expect(await tx).toBe(1111);
    expect(await multi).toEqual([[null, '1111'], [null, 1112]]);
  });

  it('loads the library again after the server lost its scripts (SCRIPT FLUSH, a restart)', async () => {
    await Promise.all([INCR.run(client, ['n'], [1]), INCR.run(client, ['n'], [1])]);
    await watcher.script('FLUSH');
    expect(await Promise.all([INCR.run(client, ['n'], [1]), SHAPES.run(client, [], ['z']), INCR.run(client, ['n'], [1])]))
      .toEqual([3, 'z:0:1', 4]);
  });

  it('rejects every caller of the batch when the connection is gone', async () => {
    const lost = redis.client();
    batchScripts(lost);
    await lost.ping();
    lost.disconnect();
    const out = await Promise.allSettled([INCR.run(lost, ['n'], [1]), INCR.run(lost, ['n'], [1])]);
    expect(out.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
