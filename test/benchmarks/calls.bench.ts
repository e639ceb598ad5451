// Complete calls per second through dialgate with sipp as seats and carrier, and call-setup
// latency (INVITE accepted → seat answered, measured by dialgate: policy, Redis reservation and
// slots, media endpoints, trunk dial, bridge). The drachtio and FreeSWITCH stand-ins run in a
// child process, so the app has its own event loop; sipp and redis-server are processes too.
// Run: npx tsx test/benchmarks/calls.bench.ts   (env CALLS=400 RATE=40 HOLD_MS=1000 MEDIA=direct,anchored)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { shiftedClock } from '../../src/calls/clock.js';
import { ConfigStore } from '../../src/config/index.js';
import { startApp } from '../../src/ops/app.js';
import { freeUdpPort, runSipp } from '../bench/sipp.js';
import { readCdrsIn, SEATS, startTrunk, writeFixtureConfig } from '../e2e/harness.js';
import { injection, seatCall } from '../e2e/scenarios.js';
import { startRedis } from '../helpers/redis.js';
import { startStandIns } from './standins-child.js';

const CALLS = Number(process.env.CALLS ?? 400);
const RATE = Number(process.env.RATE ?? 40);
const HOLD_MS = Number(process.env.HOLD_MS ?? 1000);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function run(media: 'anchored' | 'direct'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-bench-'));
  const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  writeFixtureConfig(dir, { trunkPorts, media, recording: false, maxConcurrent: 5000, trunkMaxConcurrent: 5000 });
  const redis = await startRedis();
  const standIns = await startStandIns();
  const store = await ConfigStore.open(dir);
  const app = await startApp({
    config: () => store.current(),
    redisUrl: redis.url,
    drachtio: { host: '127.0.0.1', port: standIns.ports.adminPort, secret: 'cymru' },
    freeswitch: media === 'anchored' ? { host: '127.0.0.1', port: standIns.ports.eslPort, secret: standIns.ports.password } : null,
    cdrDir: join(dir, 'cdr'),
    recordingsDir: join(dir, 'rec'),
    clock: shiftedClock(Date.parse('2026-11-23T10:00:00+08:00')),
    logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }),
  });
  await app.ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 100_000_000 });
  await app.ledger.topUp('telesales', 'bench', 100_000_000, 'bench deposit');
  const trunk = await startTrunk(trunkPorts[0], { answer: 200, ringMs: 0 });
  try {
    const started = Date.now();
    const r = await runSipp({
      scenario: seatCall({ expect: 200, holdMs: HOLD_MS }), target: `127.0.0.1:${standIns.ports.sipPort}`,
      calls: CALLS, rate: RATE, concurrency: 5000, timeoutMs: Number(process.env.SIPP_TIMEOUT_MS ?? 600_000),
      injectionFile: injection(Array.from({ length: CALLS }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@127.0.0.1:${standIns.ports.sipPort}` },
    });
    const cdrDir = dir; // readCdrsIn reads <config dir>/cdr
    const deadline = Date.now() + 10_000;
    while (readCdrsIn(cdrDir).length < CALLS && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const elapsed = (Date.now() - started) / 1000;
    if (app.live.size > 0) {
      const live = [...app.live.values()];
      process.stdout.write(`still live after sipp ended: ${live.length} (answered ${live.filter((c) => c.answeredAt !== null).length})\n`);
    }
    const cdrs = readCdrsIn(cdrDir);
    const answered = cdrs.filter((c) => c.sipStatus === 200 && c.answerAt !== null);
    const failures = new Map<string, number>();
    for (const c of cdrs) {
      if (c.sipStatus === 200) continue;
      const k = `${c.sipStatus}/${c.denyReason ?? c.hangupCause}`;
      failures.set(k, (failures.get(k) ?? 0) + 1);
      if (process.env.BENCH_LOG) process.stdout.write(`failed call ${c.callId}: ${JSON.stringify({ trunks: c.trunks, invite: c.inviteAt, end: c.endAt, cause: c.hangupCause })}\n`);
    }
    const setup = answered.map((c) => c.answerAt! - c.inviteAt).sort((a, b) => a - b);
    process.stdout.write(
      `${media.padEnd(8)} calls ${CALLS} offered at ${RATE}/s, hold ${HOLD_MS} ms: sipp ok ${r.successful} failed ${r.failed}; ` +
      `CDRs ${cdrs.length}, answered ${answered.length}; ${(answered.length / elapsed).toFixed(1)} complete calls/s over ${elapsed.toFixed(1)} s; ` +
      `setup p50 ${pct(setup, 50)} ms p99 ${pct(setup, 99)} ms max ${setup.at(-1)} ms` +
      `${failures.size ? `; failures ${JSON.stringify(Object.fromEntries(failures))}` : ''}\n`,
    );
  } finally {
    await trunk.stop();
    await app.stop();
    store.close();
    await standIns.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const modes = (process.env.MEDIA ?? 'direct,anchored').split(',') as Array<'direct' | 'anchored'>;
for (const m of modes) await run(m);
process.exit(0);
