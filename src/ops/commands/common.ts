// Shared plumbing of the admin commands: user errors as one-liners, config and Redis access.
import { Redis } from 'ioredis';
import { formatErrors } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { redactUrl } from '../../config/secrets.js';
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

export function redisUrlOf(opt: string | undefined, required = true): string | undefined {
  const url = opt ?? process.env.DIALGATE_REDIS_URL;
  if (!url && required) throw new UserError('no Redis: pass --redis URL or set DIALGATE_REDIS_URL');
  return url;
}

/** Connects (failing fast, no endless retries), runs fn, disconnects. */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  let redis: Redis;
  try {
    redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000, retryStrategy: () => null, enableOfflineQueue: true });
  } catch (e) {
    throw new UserError(`bad Redis URL ${redactUrl(url)}: ${(e as Error).message}`);
  }
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => { lastError = e; }); // reported by connect() or the command below
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    const why = (lastError as NodeJS.ErrnoException | undefined)?.code ?? lastError?.message ?? (e as Error).message;
    throw new UserError(`cannot connect to Redis at ${redactUrl(url)} (${why})`, EXIT.failure);
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
