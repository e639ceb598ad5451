// Floods from one address against dialgate (issue 16): 5,000 wrong REGISTERs and 10,000
// unauthenticated INVITEs from attackers on other loopback addresses, while an honest seat
// places calls. Prints what the attackers got, the honest calls' setup latency (dialgate's
// INVITE → answer, from the CDRs) during the flood against a quiet run, and dialgate's heap
// growth after GC. Stand-ins run in their own process; bounded, loopback only.
// Run: node --expose-gc --import tsx test/benchmarks/flood.bench.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { shiftedClock } from '../../src/calls/clock.js';
import { ConfigStore } from '../../src/config/index.js';
import { startApp } from '../../src/ops/app.js';
import { freeUdpPort, runSipp } from '../bench/sipp.js';
import { readCdrsIn, SEATS, startTrunk, writeFixtureConfig } from '../e2e/harness.js';
import { injection, seatCall } from '../e2e/scenarios.js';
import { UdpSipClient } from '../e2e/udp-sip.js';
import { startRedis } from '../helpers/redis.js';
import { startStandIns } from './standins-child.js';

const HONEST_CALLS = Number(process.env.HONEST_CALLS ?? 40);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heapMb = (): number => { gc(); gc(); return process.memoryUsage().heapUsed / 1024 / 1024; };

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-flood-'));
  const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  writeFixtureConfig(dir, { trunkPorts, media: 'direct', recording: false, maxConcurrent: 500, trunkMaxConcurrent: 500 });
  const redis = await startRedis();
  const standIns = await startStandIns();
  const store = await ConfigStore.open(dir);
  const app = await startApp({
    config: () => store.current(),
    redisUrl: redis.url,
    drachtio: { host: '127.0.0.1', port: standIns.ports.adminPort, secret: 'cymru' },
    freeswitch: null,
    cdrDir: join(dir, 'cdr'),
    recordingsDir: join(dir, 'rec'),
    clock: shiftedClock(Date.parse('2026-11-23T10:00:00+08:00')),
    logger: pino({ level: 'silent' }),
  });
  await app.ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 100_000_000 });
  await app.ledger.topUp('telesales', 'bench', 100_000_000, 'bench deposit');
  const trunk = await startTrunk(trunkPorts[0], { answer: 200, ringMs: 0 });
  const target = { host: '127.0.0.1', port: standIns.ports.sipPort };
  const honest = async (): Promise<number[]> => {
    const before = readCdrsIn(dir).length;
    const r = await runSipp({
      scenario: seatCall({ expect: 200, holdMs: 200 }), target: `127.0.0.1:${target.port}`, calls: HONEST_CALLS, rate: 10, concurrency: 50,
      timeoutMs: 60_000, injectionFile: injection(Array.from({ length: HONEST_CALLS }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@127.0.0.1:${target.port}` },
    });
    await new Promise((res) => setTimeout(res, 500));
    if (r.exitCode !== 0) console.log(`honest calls: sipp exit ${r.exitCode}, ${r.successful} ok / ${r.failed} failed`);
    return readCdrsIn(dir).slice(before).filter((c) => c.answerAt).map((c) => c.answerAt! - c.inviteAt).sort((a, b) => a - b);
  };
  try {
    await honest(); // warm-up
    const quiet = await honest();
    const heap0 = heapMb();
    const statuses = new Map<string, number>();
    const count = (rs: { status: number }[]) => { const s = String(rs.at(-1)?.status ?? 'none'); statuses.set(s, (statuses.get(s) ?? 0) + 1); };
    const reg = new UdpSipClient('127.0.0.3', target);
    const inv = new UdpSipClient('127.0.0.4', target);
    await reg.open();
    await inv.open();
    const bogus = `Digest username="1001", realm="dialgate.test", nonce="${'A'.repeat(43)}", uri="sip:127.0.0.1:${target.port}", response="${'0'.repeat(32)}", qop=auth, nc=00000001, cnonce="x"`;
    const floodStart = Date.now();
    const flood = (async () => {
      for (let b = 0; b < 50; b++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => reg.request({ method: 'REGISTER', uri: `sip:127.0.0.1:${target.port}`, from: '1001', to: '1001', callId: `r${b}-${i}`, headers: { Authorization: bogus } }, 2000).then(count)));
      }
      for (let b = 0; b < 100; b++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => inv.request({ method: 'INVITE', uri: `sip:13812345678@127.0.0.1:${target.port}`, from: 'x', to: '13812345678', callId: `i${b}-${i}` }, 2000).then(count)));
      }
    })();
    const during = await honest();
    await flood;
    const floodMs = Date.now() - floodStart;
    reg.close();
    inv.close();
    const heap1 = heapMb();
    const t = await trunk.stop();
    const fmt = (xs: number[]) => `n=${xs.length} p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms`;
    console.log(`flood: 5,000 REGISTER + 10,000 INVITE from two addresses in ${(floodMs / 1000).toFixed(1)} s; answers ${JSON.stringify(Object.fromEntries(statuses))}`);
    console.log(`honest seat setup, quiet:        ${fmt(quiet)}`);
    console.log(`honest seat setup, during flood: ${fmt(during)}`);
    console.log(`carrier saw ${t.successful} calls (= the honest ones); CDRs ${readCdrsIn(dir).length} (= honest calls only)`);
    console.log(`dialgate heap after GC: ${heap0.toFixed(1)} MB → ${heap1.toFixed(1)} MB (${(heap1 - heap0 >= 0 ? '+' : '')}${(heap1 - heap0).toFixed(1)} MB), RSS ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB`);
  } finally {
    await app.stop();
    store.close();
    await standIns.stop();
    await redis.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
