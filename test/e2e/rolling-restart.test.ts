// Graceful drain and rolling restarts (issue 15): two `dialgate serve` processes share one
// drachtio-server (stand-in; it spreads new INVITEs over the connected apps like the real one) and
// one Redis. Under a steady sipp load each instance in turn gets SIGTERM, drains (drachtio stops
// sending it new calls; its live calls finish), exits, and is started again. No answered call may
// be dropped and no CDR lost. A second test drains with a short limit through `dialgate drain`:
// the call still up at the limit is ended by us, settled, and its CDR says so.
//
// Child processes cannot take an injected clock, so the tenant's window is open all day.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../src/cdr/model.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { startDrachtio, type DrachtioStandIn } from '../bench/drachtio/standin.js';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { freeTcpPort, startRedis, type RedisInstance } from '../helpers/redis.js';
import { readCdrDir, SEATS, startTrunk, writeFixtureConfig } from './harness.js';
import { until } from '../calls/fakes.js';
import { injection, seatCall } from './scenarios.js';
import { children, startServe, type ServeChild } from './serve-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACCT = 'telesales';
const INITIAL = 10_000_000; // 1000 yuan
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rolling restart of two instances under load', () => {
  let dir: string;
  let redis: RedisInstance;
  let drachtio: DrachtioStandIn;
  let client: Redis;
  let ledger: Ledger;
  let env: Record<string, string>;
  const sipps: SippProcess[] = [];
  let target: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dialgate-rolling-'));
    const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    writeFixtureConfig(dir, { trunkPorts, window: '00:00-24:00', media: 'direct', recording: false, maxConcurrent: 500, trunkMaxConcurrent: 500 });
    const yamlPath = join(dir, 'dialgate.yaml');
    writeFileSync(yamlPath, `${readFileSync(yamlPath, 'utf8')}drain: { seconds: 20 }\n`);
    redis = await startRedis();
    drachtio = await startDrachtio({ recordFrames: false });
    target = `127.0.0.1:${drachtio.sipPort}`;
    env = {
      DIALGATE_REDIS_URL: redis.url,
      DIALGATE_DRACHTIO_HOST: '127.0.0.1',
      DIALGATE_DRACHTIO_PORT: String(drachtio.adminPort),
      DIALGATE_DRACHTIO_SECRET: 'cymru',
      DIALGATE_ESL_PORT: '1', // no media server: direct media only
      DIALGATE_LOG_LEVEL: 'info',
    };
    client = redis.client();
    ledger = new Ledger(client, { instanceId: 'test-observer' });
    await ledger.createAccount(ACCT, { tenant: 'telesales', prepaidTotal: INITIAL });
    await ledger.topUp(ACCT, 'initial', INITIAL, 'test deposit');
    sipps.push(await startTrunk(trunkPorts[0], { answer: 200, hangup: 'wait' }));
  });

  afterAll(async () => {
    await Promise.all([...children].map((c) => c.kill('SIGKILL')));
    await Promise.all(sipps.map((s) => s.stop()));
    client?.disconnect();
    await drachtio?.stop();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const instance = async (name: string): Promise<ServeChild> =>
    startServe(dir, { ...env, DIALGATE_CDR_DIR: join(dir, `cdr-${name}`), DIALGATE_HTTP_PORT: String(await freeTcpPort()) });
  const cdrsOf = (...names: string[]): Cdr[] => names.flatMap((n) => readCdrDir(join(dir, `cdr-${n}`)));

  it('drops no answered call and loses no CDR while each instance in turn drains and restarts', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const CALLS = 200;
    const load = runSipp({
      scenario: seatCall({ expect: 200, holdMs: 2000 }), target, calls: CALLS, rate: 8, timeoutMs: 60_000,
      injectionFile: injection(Array.from({ length: CALLS }, () => ['1001', SEATS['1001'], '13812345678', '1001'] as [string, string, string, string])),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${target}` },
    });
    const before = await ledger.getAccount(ACCT);

    // Restart a, then b, while the calls keep coming (8 per second for 25 s, each held 2 s).
    await sleep(3000);
    const aStopped = Date.now();
    await a.kill('SIGTERM');
    const aDrainMs = Date.now() - aStopped;
    const a2 = await instance('a2');
    await sleep(2000);
    await b.kill('SIGTERM');
    const b2 = await instance('b2');

    const r = await load;
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(CALLS);

    // Each drained instance let its calls finish: none cut, and it exited once they had.
    for (const child of [a, b]) {
      const drained = child.logs.find((l) => l.msg === 'drained') as { cut?: number; live?: number } | undefined;
      expect(drained, JSON.stringify(child.logs.slice(-5))).toBeDefined();
      expect(drained!.cut).toBe(0);
    }
    expect(aDrainMs).toBeLessThan(10_000);
    // Every instance took calls: the restarts really happened under load.
    await sleep(1500);
    const cdrs = cdrsOf('a', 'b', 'a2', 'b2');
    for (const n of ['a', 'b', 'a2', 'b2']) expect(readCdrDir(join(dir, `cdr-${n}`)).length, `instance ${n}`).toBeGreaterThan(0);
    // One CDR per call, all answered, and the money moved by exactly their costs.
    expect(new Set(cdrs.map((c) => c.callId)).size).toBe(CALLS);
    expect(cdrs).toHaveLength(CALLS);
    expect(cdrs.every((c) => c.answerAt !== undefined && c.answerAt !== null)).toBe(true);
    console.info(`rolling restart: ${CALLS} calls, 0 failed; CDRs per instance ${['a', 'b', 'a2', 'b2'].map((n) => `${n}=${readCdrDir(join(dir, `cdr-${n}`)).length}`).join(' ')}; a drained and exited in ${aDrainMs} ms`);
    const after = await ledger.getAccount(ACCT);
    const cost = cdrs.reduce((s, c) => s + (c.cost ?? 0), 0);
    expect(cost).toBeGreaterThan(0);
    expect(before!.balance - after!.balance).toBe(cost);
    expect((await ledger.liveIndex(ACCT)).size).toBe(0);
    await a2.kill('SIGTERM');
    await b2.kill('SIGTERM');
  }, 120_000);

  it('`dialgate drain` ends a call still up at the limit and settles it; /health says draining meanwhile', async () => {
    const yamlPath = join(dir, 'dialgate.yaml');
    writeFileSync(yamlPath, readFileSync(yamlPath, 'utf8').replace('drain: { seconds: 20 }', 'drain: { seconds: 2 }'));
    const port = await freeTcpPort();
    const c = await startServe(dir, { ...env, DIALGATE_CDR_DIR: join(dir, 'cdr-c'), DIALGATE_HTTP_PORT: String(port) });
    // The seat holds the call until we hang up (hangup: remote): only the drain can end it.
    const call = runSipp({
      scenario: seatCall({ expect: 200, hangup: 'remote', remoteByeTimeoutMs: 15_000 }), target, calls: 1, timeoutMs: 30_000,
      injectionFile: injection([['1001', SEATS['1001'], '13812349999', '1001']]),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812349999@${target}` },
    });
    await until(() => c.logs.some((l) => l.msg === 'outbound call allowed'), 'the call to start', 10_000);
    await sleep(500);
    const out = await cliDrain(`http://127.0.0.1:${port}`);
    expect(out.code, out.err).toBe(0);
    expect(JSON.parse(out.out)).toMatchObject({ draining: true, liveCalls: 1, limitSeconds: 2 });
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'draining', draining: true });
    const r = await call;
    expect(r.failed, r.errors).toBe(0); // the seat got our BYE
    const exit = await c.exited;
    expect(exit.code).toBe(0);
    const [cdr] = readCdrDir(join(dir, 'cdr-c'));
    expect(cdr).toMatchObject({ hangupCause: expect.stringMatching(/shutdown/) });
    expect(cdr!.cost).toBeGreaterThan(0);
    const drained = c.logs.find((l) => l.msg === 'drained');
    expect(drained).toMatchObject({ live: 1, cut: 1 });
    expect((await ledger.liveIndex(ACCT)).size).toBe(0);
  }, 60_000);
});

function cliDrain(url: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'src/dialgate.js'), 'drain', '--url', url], { cwd: ROOT, timeout: 20_000 }, (err, out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errText });
    });
  });
}
