// The one-walk log redaction (src/ops/log.ts) against the pino `redact` path list it replaced: every
// shape the paths covered prints the same line, and what they missed (deeper, arrays of arrays,
// error serializer output) is caught too.
import { Writable } from 'node:stream';
import pino, { type LoggerOptions } from 'pino';
import { describe, expect, it } from 'vitest';
import { createRedactingLogger, LOG_CENSOR, redactForLog } from '../../src/ops/log.js';

// The previous configuration (pino redact paths), kept as the reference for equal output.
const FIELDS = ['password', 'sentinelPassword', 'secret', 'ha1', 'ha1Sha256', 'token', 'seatTokenKey', 'authorization', 'proxyAuthorization', 'Authorization', '"Proxy-Authorization"'];
const OLD_PATHS = [
  ...FIELDS, ...FIELDS.map((f) => `*.${f}`), ...FIELDS.map((f) => `*.*.${f}`),
  'headers.authorization', 'headers["proxy-authorization"]',
  'tokens[*].token', '*.tokens[*].token', '*.*.tokens[*].token', '*.*.*.tokens[*].token',
];

function logger(make: (opts: LoggerOptions, sink: Writable) => pino.Logger): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } });
  return { log: make({ base: null, timestamp: false }, sink), lines };
}
const oldLogger = () => logger((opts, sink) => pino({ ...opts, redact: { paths: OLD_PATHS, censor: LOG_CENSOR } }, sink));
const newLogger = () => logger((opts, sink) => createRedactingLogger(opts, sink));

const SECRETS = /s3cr3t/;

describe('log redaction', () => {
  it('prints the same lines as the path list for the shapes the paths covered', () => {
    const shapes: object[] = [
      { password: 's3cr3t-1', user: 'alice' },
      { token: 's3cr3t-2', n: 1, ok: true, none: null },
      { server: { redis: { url: 'redis://x', password: 's3cr3t-3', sentinelPassword: 's3cr3t-4' }, name: 'a' } },
      { seat: { id: '8001', ha1: 's3cr3t-5', ha1Sha256: 's3cr3t-6', tenant: 't' } },
      { headers: { authorization: 'Bearer s3cr3t-7', 'proxy-authorization': 'Digest s3cr3t-8', accept: '*/*' } },
      { req: { headers: { Authorization: 'Digest s3cr3t-9' } } },
      { http: { tokens: [{ name: 'noc', token: 's3cr3t-b' }, { name: 'p', token: 's3cr3t-c' }] } },
      { tokens: [{ name: 'noc', role: 'admin', token: 's3cr3t-d' }] },
      { list: [{ secret: 's3cr3t-e' }, { other: 1 }], seatTokenKey: 's3cr3t-f' },
      { a: { proxyAuthorization: 's3cr3t-g', b: { secret: 's3cr3t-h', keep: 'v' } } },
      { callId: 'c1', seat: '8001', status: 200, at: [1, 2, 3], nested: { deep: { deeper: 'plain' } } },
    ];
    const before = oldLogger();
    const after = newLogger();
    for (const s of shapes) {
      before.log.info(s, 'line');
      after.log.info(s, 'line');
    }
    expect(after.lines).toEqual(before.lines);
    expect(JSON.stringify(after.lines)).not.toMatch(SECRETS);
    expect(JSON.stringify(after.lines)).toContain('"user":"alice"');
  });

  it('catches secrets at any depth, in arrays of arrays and behind a cycle, where the paths stopped', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    cyclic.deep = { a: { b: { password: 's3cr3t-1' } } };
    const shapes: object[] = [
      { config: { server: { redis: { cluster: { password: 's3cr3t-2' } } } } },
      { rows: [[{ token: 's3cr3t-3' }]] },
      { a: { b: { c: { headers: { authorization: 's3cr3t-4', 'proxy-authorization': 's3cr3t-5' } } } } },
      { cyclic },
      // The quoted path "Proxy-Authorization" matched nowhere.
      { req: { headers: { 'Proxy-Authorization': 'Digest s3cr3t-6' } }, 'Proxy-Authorization': 'Digest s3cr3t-7' },
    ];
    const before = oldLogger();
    const after = newLogger();
    for (const s of shapes) {
      before.log.info(s, 'line');
      after.log.info(s, 'line');
    }
    // The old list leaked these; the walk does not.
    expect(JSON.stringify(before.lines)).toMatch(SECRETS);
    expect(JSON.stringify(after.lines)).not.toMatch(SECRETS);
    expect(after.lines[0]).toEqual({ level: 30, msg: 'line', config: { server: { redis: { cluster: { password: LOG_CENSOR } } } } });
    expect(after.lines[1]).toMatchObject({ rows: [[{ token: LOG_CENSOR }]] });
    expect(after.lines[4]).toMatchObject({ req: { headers: { 'Proxy-Authorization': LOG_CENSOR } }, 'Proxy-Authorization': LOG_CENSOR });
    expect(after.lines[3]).toMatchObject({ cyclic: { name: 'loop', self: '[Circular]', deep: { a: { b: { password: LOG_CENSOR } } } } });
  });

  it('redacts error objects as pino serializes them: own fields, nested errors and AggregateError members', () => {
    class RedisError extends Error {
      constructor(msg: string, readonly options: object) { super(msg); }
    }
    const err = new RedisError('auth failed', { host: 'r1', password: 's3cr3t-1' });
    const inner = Object.assign(new Error('inner'), { token: 's3cr3t-2' });
    const agg = new AggregateError([inner, new Error('plain')], 'all failed');
    const after = newLogger();
    after.log.error({ err }, 'redis');
    after.log.error(err, 'redis as first argument');
    after.log.error({ err: agg }, 'aggregate');
    after.log.warn({ what: 'x', error: Object.assign(new Error('e'), { secret: 's3cr3t-3' }) }, 'other key');
    expect(JSON.stringify(after.lines)).not.toMatch(SECRETS);
    const [one, two, three, four] = after.lines as [Record<string, any>, Record<string, any>, Record<string, any>, Record<string, any>];
    // Still an error to pino's serializer: type, message and stack as before.
    expect(one.err).toMatchObject({ type: 'RedisError', message: 'auth failed', options: { host: 'r1', password: LOG_CENSOR } });
    expect(one.err.stack).toContain('auth failed');
    expect(two.err).toMatchObject({ type: 'RedisError', options: { password: LOG_CENSOR } });
    expect(three.err.aggregateErrors).toEqual([
      expect.objectContaining({ message: 'inner', token: LOG_CENSOR }), expect.objectContaining({ message: 'plain' }),
    ]);
    expect(four.error).toEqual({ secret: LOG_CENSOR });
    // The caller's objects are untouched.
    expect((err.options as { password: string }).password).toBe('s3cr3t-1');
    expect((inner as unknown as { token: string }).token).toBe('s3cr3t-2');
  });

  it('redacts child loggers\' bindings, their children\'s, and lines logged through them', () => {
    const after = newLogger();
    const child = after.log.child({ callId: 'c1', auth: { user: '8001', password: 's3cr3t-1' } });
    const grandchild = child.child({ leg: 'b', trunk: { id: 'ct', secret: 's3cr3t-2' } });
    child.info({ seat: { ha1: 's3cr3t-3' } }, 'one');
    grandchild.info('two');
    expect(JSON.stringify(after.lines)).not.toMatch(SECRETS);
    expect(after.lines[0]).toEqual({ level: 30, msg: 'one', callId: 'c1', auth: { user: '8001', password: LOG_CENSOR }, seat: { ha1: LOG_CENSOR } });
    expect(after.lines[1]).toMatchObject({ msg: 'two', leg: 'b', trunk: { id: 'ct', secret: LOG_CENSOR } });
  });

  it('copies only when a secret is present, and never changes the logged object', () => {
    const clean = { callId: 'c1', seat: { id: '8001', tenant: 't' }, trunks: [{ trunk: 'ct', sipStatus: 200 }] };
    expect(redactForLog(clean)).toBe(clean);
    const dirty = { callId: 'c1', seat: { id: '8001', ha1: 's3cr3t' }, trunks: clean.trunks };
    const out = redactForLog(dirty);
    expect(out).toEqual({ callId: 'c1', seat: { id: '8001', ha1: LOG_CENSOR }, trunks: clean.trunks });
    expect(out.trunks).toBe(clean.trunks); // the untouched branch is shared, not copied
    expect(dirty.seat.ha1).toBe('s3cr3t');
    // An undefined secret field prints nothing, as before.
    expect(redactForLog({ password: undefined, a: 1 })).toEqual({ password: undefined, a: 1 });
  });
});
