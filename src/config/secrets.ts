// Secrets in config: inline, `{ env: NAME }` (optionally `default:` for demos) or `{ file: path }`.
// Resolved at load; plain seat passwords are turned into HA1 and dropped. Logs and explain output
// go through redactSecrets() / SECRET_LOG_PATHS so no secret value is ever printed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Parsed } from './money.js';

export type SecretSpec = string | { env: string; default?: string } | { file: string };

export interface ResolvedSecret {
  value: string;
  /** Where it came from, for messages (never the value). */
  source: string;
  /** The env variable was unset and the config's demo default was used. */
  usedDefault: boolean;
}

/** Field names whose values are secrets wherever they appear. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'sentinelPassword', 'secret', 'ha1', 'ha1Sha256', 'token', 'seatTokenKey']);

export { REDACTED } from './redact-url.js';
import { REDACTED, redactUrl } from './redact-url.js';

/** Shape check for the schema keyword; never echoes the value. */
export function checkSecretSpec(value: unknown): { reason: string; hint?: string } | null {
  if (typeof value === 'string') return value === '' ? { reason: 'secret is empty' } : null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      reason: 'expected a secret: a string, { env: NAME } or { file: path }',
      ...(typeof value === 'number' ? { hint: 'put the value in quotes: YAML reads bare digits as a number' } : {}),
    };
  }
  const keys = Object.keys(value);
  const obj = value as Record<string, unknown>;
  if ('env' in obj) {
    const extra = keys.filter((k) => k !== 'env' && k !== 'default');
    if (extra.length) return { reason: `unknown key \`${extra[0]}\` in an env secret`, hint: 'an env secret has `env` and an optional `default`' };
    if (typeof obj.env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(obj.env)) {
      return { reason: '`env` must name an environment variable', hint: 'e.g. { env: DIALGATE_TRUNK_A_PASSWORD }' };
    }
    if ('default' in obj && typeof obj.default !== 'string') return { reason: '`default` must be a string' };
    return null;
  }
  if ('file' in obj) {
    const extra = keys.filter((k) => k !== 'file');
    if (extra.length) return { reason: `unknown key \`${extra[0]}\` in a file secret`, hint: 'a file secret has only `file`' };
    if (typeof obj.file !== 'string' || obj.file === '') return { reason: '`file` must be a path' };
    return null;
  }
  const typo = keys.find((k) => /^(evn|enviro|environment|envvar|var|path|filename)$/i.test(k));
  return {
    reason: `a secret object needs \`env\` or \`file\`${keys.length ? `, not \`${keys.join('`, `')}\`` : ''}`,
    hint: typo ? `did you mean \`${/path|file/i.test(typo) ? 'file' : 'env'}\`?` : 'e.g. { env: NAME } or { file: /run/secrets/name }',
  };
}

export async function resolveSecret(
  spec: SecretSpec,
  ctx: { dir: string; env: Readonly<Record<string, string | undefined>> },
): Promise<Parsed<ResolvedSecret>> {
  if (typeof spec === 'string') return { ok: true, value: { value: spec, source: 'inline', usedDefault: false } };
  if ('env' in spec) {
    const v = ctx.env[spec.env];
    if (v !== undefined && v !== '') return { ok: true, value: { value: v, source: `env ${spec.env}`, usedDefault: false } };
    if (spec.default !== undefined) {
      return { ok: true, value: { value: spec.default, source: `default for env ${spec.env}`, usedDefault: true } };
    }
    return { ok: false, reason: `environment variable ${spec.env} is not set`, hint: `export ${spec.env}=... before starting dialgate` };
  }
  const path = isAbsolute(spec.file) ? spec.file : resolve(ctx.dir, spec.file);
  try {
    // One trailing newline is what editors and `echo` add; it is not part of the secret.
    const v = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
    if (v === '') return { ok: false, reason: `secret file ${spec.file} is empty` };
    return { ok: true, value: { value: v, source: `file ${spec.file}`, usedDefault: false } };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: `cannot read secret file ${spec.file} (${code ?? 'error'})`, hint: code === 'ENOENT' ? `paths are relative to the config directory` : undefined };
  }
}

/** SIP digest HA1 = MD5(username:realm:password), lower-case hex (RFC 2617 §3.2.2.2). */
export function computeHa1(username: string, realm: string, password: string, algorithm: 'MD5' | 'SHA-256' = 'MD5'): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(`${username}:${realm}:${password}`, 'utf8').digest('hex');
}

/**
 * A copy of `value` with every secret replaced by "[redacted]": fields named password, secret,
 * ha1, ha1Sha256 or token at any depth, and the password part of URLs (redis://:pw@host). Maps become objects.
 */
export function redactSecrets<T>(value: T): T {
  return redact(value, new WeakSet()) as T;
}

function redact(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, seen));
  if (value instanceof Map) return redact(Object.fromEntries(value), seen);
  if (value instanceof Set || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.has(k) && v !== undefined && v !== null ? REDACTED : redact(v, seen);
  }
  return out;
}

export { redactUrl } from './redact-url.js';

/**
 * pino `redact` paths covering secrets in the shapes dialgate logs: a config (server settings,
 * trunks, seats) at the top level or one or two levels down.
 */
export const SECRET_LOG_PATHS: readonly string[] = (() => {
  const paths: string[] = [];
  for (const k of SECRET_KEYS) {
    paths.push(k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`);
  }
  paths.push('redis.url', 'server.redis.url', '*.server.redis.url');
  // http.tokens[i].token sits deeper than the wildcards above reach.
  paths.push('tokens[*].token', '*.tokens[*].token', '*.*.tokens[*].token', '*.*.*.tokens[*].token');
  return paths;
})();
