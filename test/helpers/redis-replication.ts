// "The replica has every write so far", checked the only way Redis offers: a write, then WAIT on
// the same connection. A replica reported `state=online` is not enough: after a diskless full sync
// Redis 7 holds the command stream back until the replica's first REPLCONF ACK (up to a second
// later), so a master killed in that second takes every write since the sync with it. A failover
// test that means "the replica had the data" must say so with this, not with a sleep.
import type { Redis } from 'ioredis';
import { probeClient } from './redis.js';

/**
 * Resolves once `replicas` replicas of the master on `port` have acknowledged a write made now
 * (and so everything before it); throws after timeoutMs. On Cluster the probe key is one of the
 * master's own slots.
 */
export async function confirmReplication(port: number, o: { cluster?: boolean; replicas?: number; timeoutMs?: number } = {}): Promise<void> {
  const { replicas = 1, timeoutMs = 10_000 } = o;
  const r = probeClient(port);
  try {
    await r.connect();
    const key = o.cluster ? await keyOwnedBy(r) : 'dialgate-test:replication-probe';
    // A write, removed again: the probe leaves no key behind for tests that count or scan keys.
    await r.set(key, '1');
    await r.del(key);
    const acked = Number(await r.call('WAIT', replicas, timeoutMs));
    if (acked < replicas) throw new Error(`redis ${port}: ${acked} of ${replicas} replicas acknowledged a write within ${timeoutMs} ms`);
  } finally {
    r.disconnect();
  }
}

/** A key in one of the slots the connected cluster node serves. */
async function keyOwnedBy(r: Redis): Promise<string> {
  const id = (await r.call('CLUSTER', 'MYID')) as string;
  const ranges = ((await r.call('CLUSTER', 'SLOTS')) as [number, number, ...[string, number, string][]][])
    .filter((s) => s[2]?.[2] === id).map(([a, b]) => [a, b] as const);
  if (!ranges.length) throw new Error(`redis ${r.options.port}: serves no slot`);
  for (let i = 0; ; i++) {
    const key = `dialgate-test:replication-probe:${i}`;
    const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
    if (ranges.some(([a, b]) => slot >= a && slot <= b)) return key;
  }
}
