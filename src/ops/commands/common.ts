// Shared plumbing of the admin commands: user errors as one-liners, config and Redis access.
import { formatErrors } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { describeTarget, redisTargetFromEnv, type RedisTarget } from '../../config/redis-target.js';
import { createRedisClient } from '../../ledger/redis-client.js';
import type { RedisClient } from '../../ledger/lua/script.js';
import type { ConfigSnapshot } from '../../config/types.js';
import { ExplainInputError } from '../explain.js';

/** A mistake of the person at the keyboard: printed as one line (plus details), no stack. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2, readonly details?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Exit codes: 0 ok, 1 the command ran but the answer is bad (invalid config, unhealthy), 2 user error, 3 failure. */
export const EXIT = { ok: 0, negative: 1, usage: 2, failure: 3 } as const;

export function defaultConfigDir(): string {
  return process.env.DIALGATE_CONFIG ?? 'config';
}

export async function loadSnapshot(dir: string, what = 'config'): Promise<ConfigSnapshot> {
  const r = await loadConfig(dir);
  if (!r.ok) {
    const first = r.errors[0];
    const where = first ? `${first.file}${first.line ? `:${first.line}` : ''}${first.field ? ` ${first.field}` : ''}: ${first.message}` : 'invalid';
    throw new UserError(`${what} ${dir} is invalid (${r.errors.length} error(s)); first: ${where}`, EXIT.negative,
      `${formatErrors(r.errors.slice(0, 20))}\nrun \`dialgate config check ${dir}\` for the full list`);
  }
  return r.snapshot;
}

/**
 * Where the command's Redis is: --redis (a URL, or host:port,host:port… for Redis Cluster seed
 * nodes), else DIALGATE_REDIS_CLUSTER / DIALGATE_REDIS_URL.
 */
export function redisUrlOf(opt: string | undefined, required = true): RedisTarget | undefined {
  try {
    if (opt !== undefined && opt !== '') {
      return /^[a-z][a-z0-9+.-]*:\/\//i.test(opt) ? { kind: 'url', url: opt } : redisTargetFromEnv({ DIALGATE_REDIS_CLUSTER: opt, DIALGATE_REDIS_PASSWORD: process.env.DIALGATE_REDIS_PASSWORD }, { kind: 'url', url: '' });
    }
    const t = redisTargetFromEnv(process.env, { kind: 'url', url: '' });
    if (t.kind === 'url' && t.url === '') {
      if (required) throw new UserError('no Redis: pass --redis URL (or host:port,... of a cluster) or set DIALGATE_REDIS_URL / DIALGATE_REDIS_CLUSTER');
      return undefined;
    }
    return t;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

/** Connects (failing fast, no endless retries), runs fn, disconnects. */
export async function withRedis<T>(target: RedisTarget | string, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const t: RedisTarget = typeof target === 'string' ? { kind: 'url', url: target } : target;
  const where = describeTarget(t);
  let redis: RedisClient;
  try {
    redis = createRedisClient(t, { mode: 'cli' });
  } catch (e) {
    throw new UserError(`bad Redis URL ${where}: ${(e as Error).message}`);
  }
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => { lastError = e; }); // reported by connect() or the command below
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    const why = (lastError as NodeJS.ErrnoException | undefined)?.code ?? lastError?.message ?? (e as Error).message;
    throw new UserError(`cannot connect to Redis at ${where} (${why})`, EXIT.failure);
  }
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function intArg(text: string, what: string, min = 0): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UserError(`${what} must be a whole number ≥ ${min}: ${text}`);
  return Number(text);
}

/** Turns input errors of the pure modules into user errors; lets anything else through. */
export function asUserError(e: unknown): unknown {
  if (e instanceof ExplainInputError) return new UserError(e.message);
  return e;
}
