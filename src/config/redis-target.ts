// Where Redis is, as configured (dialgate.yaml `redis`, DIALGATE_REDIS_* or the CLI's --redis):
// pure data and parsing, no client; src/ledger/redis-client.ts turns it into one.
import { redactUrl } from './redact-url.js';

export interface HostPort { host: string; port: number }

export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'cluster'; nodes: HostPort[]; password?: string }
  | { kind: 'sentinel'; name: string; sentinels: HostPort[]; password?: string; sentinelPassword?: string };

/** "host:port" or "[v6]:port" → HostPort; null when it is neither. */
export function parseHostPort(text: string): HostPort | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

/** A comma list of host:port (DIALGATE_REDIS_CLUSTER, `--redis h:p,h:p`); throws on a bad entry. */
export function parseNodeList(text: string, what: string): HostPort[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`${what} is empty: expected host:port[,host:port...]`);
  return parts.map((p) => {
    const hp = parseHostPort(p);
    if (!hp) throw new Error(`${what}: ${JSON.stringify(p)} is not host:port`);
    return hp;
  });
}

/** For logs and messages: where, never a password. */
export function describeTarget(t: RedisTarget): string {
  const list = (n: HostPort[]) => n.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',');
  if (t.kind === 'url') return redactUrl(t.url);
  if (t.kind === 'cluster') return `cluster ${list(t.nodes)}`;
  return `sentinel ${t.name}@${list(t.sentinels)}`;
}

/**
 * Container overrides over the configured target: DIALGATE_REDIS_CLUSTER (comma list of seed
 * nodes; password from DIALGATE_REDIS_PASSWORD or the configured cluster's) or DIALGATE_REDIS_URL.
 * Both at once is a mistake, not a preference order.
 */
export function redisTargetFromEnv(env: Readonly<Record<string, string | undefined>>, configured: RedisTarget): RedisTarget {
  const v = (n: string) => (env[n] === undefined || env[n] === '' ? undefined : env[n]);
  const cluster = v('DIALGATE_REDIS_CLUSTER');
  const url = v('DIALGATE_REDIS_URL');
  if (cluster !== undefined && url !== undefined) throw new Error('set DIALGATE_REDIS_URL or DIALGATE_REDIS_CLUSTER, not both');
  if (cluster !== undefined) {
    const password = v('DIALGATE_REDIS_PASSWORD') ?? (configured.kind === 'cluster' ? configured.password : undefined);
    return { kind: 'cluster', nodes: parseNodeList(cluster, 'DIALGATE_REDIS_CLUSTER'), ...(password !== undefined ? { password } : {}) };
  }
  if (url !== undefined) return { kind: 'url', url };
  return configured;
}
