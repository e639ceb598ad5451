// "The replica has every write so far", checked the only way Redis offers: a write, then WAIT on
// the same connection. A replica reported `state=online` is not enough: after a diskless full sync
// Redis 7 holds the command stream back until the replica's first REPLCONF ACK (up to a second
// later), so a master killed in that second takes every write since the sync with it. A failover
// test that means "the replica had the data" must say so with this, not with a sleep.
import { Redis } from 'ioredis';

/**
 * Resolves once `replicas` replicas of the master on `port` have acknowledged a write made now
 * (and so everything before it); throws after timeoutMs. `key` must be a key the master may write:
 * on Cluster one of its own slots (see keyOwnedBy).
 */
export async function confirmReplication(port: number, key: string, replicas = 1, timeoutMs = 10_000): Promise<void> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    // A write, removed again: the probe leaves no key behind for tests that count or scan keys.
    await r.set(key, '1');
    await r.del(key);
    const acked = Number(await r.call('WAIT', replicas, timeoutMs));
    if (acked < replicas) throw new Error(`redis ${port}: ${acked} of ${replicas} replicas acknowledged a write within ${timeoutMs} ms`);
  } finally {
    r.disconnect();
  }
}

/** A key in one of the slots the cluster node on `port` serves (asked of the node itself). */
export async function keyOwnedBy(port: number): Promise<string> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    const id = (await r.call('CLUSTER', 'MYID')) as string;
    const ranges = ((await r.call('CLUSTER', 'SLOTS')) as [number, number, ...[string, number, string][]][])
      .filter((s) => s[2]?.[2] === id).map(([a, b]) => [a, b] as const);
    for (let i = 0; i < 10_000; i++) {
      const key = `dialgate-test:replication-probe:${i}`;
      const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
      if (ranges.some(([a, b]) => slot >= a && slot <= b)) return key;
    }
    throw new Error(`redis ${port} serves no slot`);
  } finally {
    r.disconnect();
  }
}
