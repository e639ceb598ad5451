// Which errors mean "Redis is not there right now" (connection closed, offline queue disabled,
// command timeout) as opposed to a script saying no: the first fail closed with a 503 and are
// retried later; the second are answers. On Cluster, a slot whose master is gone and not yet
// replaced shows as CLUSTERDOWN or as redirections that run out (MOVED to the dead node).
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return /Stream isn't writeable|enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|MaxRetriesPerRequest|CLUSTERDOWN|LOADING|TRYAGAIN|Too many Cluster redirections|Cluster isn't ready|Failed to refresh slots cache/i.test(m)
    || (err as { name?: string }).name === 'MaxRetriesPerRequestError';
}
