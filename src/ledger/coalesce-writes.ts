// Commands issued in one turn of the event loop leave in one write(2). ioredis writes every command
// to its socket at once, and a call sends several together (the ledger view, the auth checks, the
// settlement): a syscall each cost more CPU than the rest of the command. Corking the socket for
// the rest of the turn makes them one writev; nothing waits longer than the current tick.
// (Corking until the loop's check phase, setImmediate, was tried for more batching under load:
// ioredis Cluster then never reached a promoted replica in test/ledger/cluster-safety's failover
// test. Not understood yet; the tick it stays.)
import type { Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';

const PATCHED = Symbol('dialgate.coalesced');

export function coalesceWrites(redis: Redis | Cluster): void {
  // Cluster: each node has its own socket; patch every node ioredis connects to (now and later).
  if ((redis as { isCluster?: boolean }).isCluster) {
    const cluster = redis as Cluster;
    cluster.on('+node', (node: Redis) => coalesceWrites(node));
    for (const node of cluster.nodes('all')) coalesceWrites(node);
    return;
  }
  const single = redis as Redis;
  const patch = (): void => {
    const stream = (single as unknown as { stream?: Socket }).stream;
    if (stream) corkPerTick(stream);
  };
  // A new socket on every (re)connect.
  single.on('connect', patch);
  patch();
}

/**
 * Corks `stream` at its first write in a turn of the event loop and uncorks it on the next tick:
 * everything written meanwhile leaves in one writev. Idempotent per stream.
 */
export function corkPerTick(stream: Socket & { [PATCHED]?: true }): void {
  if (stream[PATCHED] || typeof stream.cork !== 'function') return;
  stream[PATCHED] = true;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Socket['write'];
}
