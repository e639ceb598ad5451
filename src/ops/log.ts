// Log redaction: secrets never reach a log line, whatever object a caller logs by mistake.
// Field names follow config/secrets.ts SECRET_KEYS (password, secret, ha1, ha1Sha256, token) plus the SIP
// and HTTP headers that carry credentials.
//
// One walk per log call instead of pino's `redact` paths (~45 wildcard paths evaluated on every
// line cost more than the rest of a line's formatting): any depth, arrays and error objects
// included; nothing is copied unless a secret key is present, and then only the objects on the way
// to it, so the caller's object is never changed.
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const LOG_CENSOR = '[redacted]';

const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password', 'sentinelPassword', 'secret', 'ha1', 'ha1Sha256', 'token', 'seatTokenKey',
  'authorization', 'proxyAuthorization', 'Authorization', 'Proxy-Authorization', 'proxy-authorization',
]);

// A cycle is cut where it closes, and an object deeper than MAX_DEPTH is not printed, with the
// markers pino's fallback serializer uses: a copy made above must not lead back to the original.
const MAX_DEPTH = 64;
const CIRCULAR = '[Circular]';
const TOO_DEEP = '[Object]';

/** `value` with every secret field's value replaced by LOG_CENSOR; `value` itself when it has none. */
export function redactForLog<T>(value: T): T {
  return scrub(value, [], 0) as T;
}

function scrub(value: unknown, ancestors: object[], depth: number): unknown {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (ancestors.includes(value)) return CIRCULAR;
  if (depth > MAX_DEPTH) return TOO_DEEP;
  ancestors.push(value);
  let out: object | undefined;
  if (Array.isArray(value)) {
    let arr: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = scrub(v, ancestors, depth + 1);
      if (c !== v) (arr ??= value.slice())[i] = c;
    }
    out = arr;
  } else {
    const o = value as Record<string, unknown>;
    // for-in, as JSON and pino's error serializer see it (inherited enumerable keys included).
    for (const k in o) {
      const v = o[k];
      const c = SECRET_FIELDS.has(k) ? (v === undefined ? v : LOG_CENSOR) : scrub(v, ancestors, depth + 1);
      if (c !== v) setField((out ??= copyOf(o)) as Record<string, unknown>, k, c);
    }
    // AggregateError's errors are not enumerable, but pino's error serializer prints them.
    if (value instanceof Error && Array.isArray(o.errors) && !Object.prototype.propertyIsEnumerable.call(o, 'errors')) {
      const c = scrub(o.errors, ancestors, depth + 1);
      if (c !== o.errors) Object.defineProperty((out ??= copyOf(o)), 'errors', { value: c, enumerable: false, writable: true, configurable: true });
    }
  }
  ancestors.pop();
  return out ?? value;
}

/** A shallow copy that serializes like the original: same prototype (an Error stays one), same keys in the same order. */
function copyOf(o: Record<string, unknown>): Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) return { ...o };
  return Object.create(proto as object | null, Object.getOwnPropertyDescriptors(o)) as Record<string, unknown>;
}

function setField(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * A pino logger whose lines and child loggers' bindings go through redactForLog. pino runs a
 * `formatters.bindings` only on the root's base, not on a child's bindings, so `child` is wrapped
 * on the root (children inherit it).
 */
export function createRedactingLogger(options: LoggerOptions = {}, stream: DestinationStream = bufferedStdout()): Logger {
  const opts: LoggerOptions = { ...options, formatters: { ...options.formatters, log: (obj) => redactForLog(obj) } };
  const log = pino(opts, stream);
  const child = log.child as unknown as (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;
  log.child = function (this: Logger, bindings: Bindings, childOptions?: ChildLoggerOptions): Logger {
    return child.call(this, redactForLog(bindings), childOptions);
  } as unknown as typeof log.child;
  return log;
}

/**
 * stdout, written in chunks of 4 KB or every 100 ms, whichever comes first. pino's default writes
 * each line on its own through the libuv thread pool: a hand-off to a worker, a write(2) and a
 * wake-up of the loop per line, which cost a busy server more than formatting the line. pino
 * flushes what is buffered when the process exits (its own exit hook, as for the default).
 */
function bufferedStdout(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 });
}
