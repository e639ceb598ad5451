// Runs a Lua script by EVALSHA and loads it (EVAL) only when the server answers NOSCRIPT, e.g.
// after a restart or on a fresh Cluster node. Works with a single Redis and with ioredis Cluster
// (which routes by the first key; all keys of one call share a hash tag).
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { batcherOf, evalCached, registerScript, type BatchableScript } from './script-batch.js';

export type RedisClient = Redis | Cluster;

type Arg = string | number;

export class LuaScript implements BatchableScript {
  readonly sha: string;

  constructor(readonly name: string, readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
    registerScript(this);
  }

  /** On a client with script batching (script-batch.ts), with the other scripts of this turn. */
  run(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const batcher = batcherOf(redis);
    return batcher ? batcher.run(this, keys, args) : this.runAlone(redis, keys, args);
  }

  runAlone(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return evalCached(redis, this.sha, this.source, keys, args);
  }

  /** Runs a script that answers with one JSON document (all ledger scripts do). */
  async json<T>(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<T> {
    const out = await this.run(redis, keys, args);
    if (typeof out !== 'string') throw new Error(`${this.name}: unexpected script reply ${String(out)}`);
    return JSON.parse(out) as T;
  }
}
