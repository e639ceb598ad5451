// The one place a Redis client is made: a single server (URL), Redis Cluster (seed nodes) or a
// Sentinel-watched master. The app and the CLI both build theirs here, so all three deployments get
// the same failure behaviour. Everything else takes a RedisClient (Redis | Cluster) and keeps to
// one hash slot per script or multi-key command (src/ledger/README.md lists the key families).
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config/redis-target.js';
import type { RedisClient } from './lua/script.js';

export { describeTarget, parseHostPort, parseNodeList, type HostPort, type RedisTarget } from '../config/redis-target.js';

export interface ClientProfile {
  /** app: fail fast and closed (no offline queue, 1 s command timeout, no retries per request),
   *  reconnect forever. cli: connect once (lazy), retry nothing, give up after connectTimeoutMs. */
  mode: 'app' | 'cli';
  connectTimeoutMs?: number;
}

// A command waits at most this long: a seat hears 503 within a second instead of hanging on a
// dead server, whether it is a single Redis, a master being failed over, or a sentinel switch.
const APP: RedisOptions = { enableOfflineQueue: false, commandTimeout: 1000, maxRetriesPerRequest: 0 };

export function createRedisClient(t: RedisTarget, profile: ClientProfile = { mode: 'app' }): RedisClient {
  const cli = profile.mode === 'cli';
  const base: RedisOptions = cli
    ? { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: profile.connectTimeoutMs ?? 5_000, retryStrategy: () => null, enableOfflineQueue: true }
    : APP;
  if (t.kind === 'url') return new Redis(t.url, base);
  if (t.kind === 'sentinel') {
    return new Redis({
      ...base,
      sentinels: t.sentinels,
      name: t.name,
      ...(t.password !== undefined ? { password: t.password } : {}),
      ...(t.sentinelPassword !== undefined ? { sentinelPassword: t.sentinelPassword } : {}),
      // A failover closes the old master's connection; ioredis asks the sentinels again at once.
      ...(cli ? { sentinelRetryStrategy: () => null } : {}),
    });
  }
  const { enableOfflineQueue: _q, retryStrategy: _r, lazyConnect: _l, ...perNode } = base;
  const opts: ClusterOptions = {
    enableOfflineQueue: base.enableOfflineQueue ?? false,
    redisOptions: { ...perNode, ...(t.password !== undefined ? { password: t.password } : {}) },
    // Redirections (MOVED after a failover) are followed at once. A command whose connection
    // closed under it (ioredis replaces node connections when the slot map changes) is retried
    // after 20 ms, at most 6 times, not every 100 ms up to 16 times (1.6 s, ioredis' default); a
    // cluster that is down until a replica is promoted fails the command now. Either way the call
    // path answers 503 well within a second, as with a single Redis away; a deferred settlement
    // retries on its own.
    retryDelayOnFailover: cli ? 100 : 20,
    retryDelayOnClusterDown: cli ? 100 : 0,
    retryDelayOnTryAgain: 100,
    maxRedirections: 6,
    slotsRefreshTimeout: 1000,
    // Pick up a promoted replica within seconds even if no command hits the moved slots.
    slotsRefreshInterval: 2000,
    ...(cli ? { lazyConnect: true, clusterRetryStrategy: () => null } : {}),
  };
  return new Cluster(t.nodes, opts);
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/** Every master of a cluster (SCAN-like walks must visit each), or the one server. */
export function masters(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}
