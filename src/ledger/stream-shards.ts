// A stream spread over N keys, so on Redis Cluster its writes land on several masters instead of
// all on the one that owns a single key's slot (one busy tenant's CDRs would otherwise load one
// shard). An entry goes to the shard its id hashes to, so a retried write of the same CDR meets the
// same de-duplication marker. N = 1 is the plain key of a single-server deployment, unchanged.
// Readers (tests, ops tools) read every shard and merge by stream id, which starts with the time.
import type { RedisClient } from './lua/script.js';

export const MAX_STREAM_SHARDS = 64;

export class ShardedStream {
  /** Every shard's key: `base` alone for one shard, else `base:{base:i}` (each its own slot). */
  readonly keys: readonly string[];

  constructor(readonly base: string, readonly shards = 1) {
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_STREAM_SHARDS) throw new Error(`stream shards must be 1..${MAX_STREAM_SHARDS}: ${shards}`);
    this.keys = shards === 1 ? [base] : Array.from({ length: shards }, (_, i) => `${base}:{${base}:${i}}`);
  }

  /** The shard an entry with this id is written to (FNV-1a: cheap, stable across processes). */
  keyFor(id: string): string {
    if (this.keys.length === 1) return this.keys[0]!;
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
    return this.keys[h % this.keys.length]!;
  }

  /** Entries across all shards, oldest first (merged by stream id: ms-seq of each shard's clock). */
  async range(redis: RedisClient, count = 10_000): Promise<{ key: string; id: string; fields: Record<string, string> }[]> {
    const all = await Promise.all(this.keys.map(async (key) =>
      (await redis.xrange(key, '-', '+', 'COUNT', count)).map(([id, kv]) => ({ key, id, fields: pairs(kv) }))));
    return all.flat().sort((a, b) => compareIds(a.id, b.id));
  }

  /** Entries in all shards together. */
  async length(redis: RedisClient): Promise<number> {
    const lens = await Promise.all(this.keys.map((k) => redis.xlen(k)));
    return lens.reduce((a, b) => a + b, 0);
  }
}

function pairs(kv: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < kv.length; i += 2) f[kv[i]!] = kv[i + 1]!;
  return f;
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}
