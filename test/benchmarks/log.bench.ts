// A call's logging as dialgate does it (a child logger with the call's bindings, "outbound call
// allowed" and "cdr" lines), with pino's `redact` path list (the previous configuration) and with
// the one-walk redaction (src/ops/log.ts), to a sink that drops the lines.
// Run: npx tsx test/benchmarks/log.bench.ts   (env N=200000)
import { Writable } from 'node:stream';
import pino from 'pino';
import { createRedactingLogger, LOG_CENSOR } from '../../src/ops/log.js';

const FIELDS = ['password', 'sentinelPassword', 'secret', 'ha1', 'ha1Sha256', 'token', 'seatTokenKey', 'authorization', 'proxyAuthorization', 'Authorization', '"Proxy-Authorization"'];
const OLD_PATHS = [
  ...FIELDS, ...FIELDS.map((f) => `*.${f}`), ...FIELDS.map((f) => `*.*.${f}`),
  'headers.authorization', 'headers["proxy-authorization"]',
  'tokens[*].token', '*.tokens[*].token', '*.*.tokens[*].token', '*.*.*.tokens[*].token',
];
const N = Number(process.env.N ?? 200_000);
const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });

function call(log: pino.Logger, i: number): void {
  const c = log.child({ callId: `call-${i}@10.0.0.1`, seat: '8001', tenant: 'telesales' });
  c.info({ callee: '02150001234', route: 'local', trunks: ['ct-sh', 'cu-sh'] }, 'outbound call allowed');
  c.info({ cdr: { id: `cdr-${i}`, decision: 'allow', reason: undefined, status: 200, seat: '8001', billable: 42, cost: 7 } }, 'cdr');
}

function run(name: string, log: pino.Logger): number {
  for (let i = 0; i < N / 4; i++) call(log, i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) call(log, i);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / N;
  console.log(`${name}: ${us.toFixed(2)} µs per call (child + 2 lines)`);
  return us;
}

const none = run('no redaction     ', pino({}, sink()));
const old = run('pino redact paths', pino({ redact: { paths: OLD_PATHS, censor: LOG_CENSOR } }, sink()));
const walk = run('one walk         ', createRedactingLogger({}, sink()));
console.log(`redaction cost per call: paths ${(old - none).toFixed(2)} µs, walk ${(walk - none).toFixed(2)} µs`);
