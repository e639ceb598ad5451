// Memory of `dialgate serve` (issue 12): 10,000 answered calls held at once — app heap and RSS per
// call — then a soak of continuous calls, heap sampled every minute, and its slope.
// The app runs as its own process (dist/ when built), every policy on, seats authenticating with
// digest; sipp seats call through the drachtio stand-in (or the real drachtio-server with
// DIALGATE_REAL_SERVERS=realstack) to a sipp trunk, over loopback.
// Heap figures are live heap: the app runs with --expose-gc, SIGUSR2 makes it collect, then its
// /health is read.
// Run: npx tsx test/benchmarks/held-calls.bench.ts   (env HELD=10000 RATE=400 SOAK_MINUTES=10 SOAK_CPS=100)
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import { freeUdpPort, runSipp, startSipp } from '../bench/sipp.js';
import { SEATS, writeFixtureConfig } from '../e2e/harness.js';
import { realServers } from '../e2e/real-servers.js';
import { injection, seatCall, trunkUas } from '../e2e/scenarios.js';
import { startRedis } from '../helpers/redis.js';
import { startChild, stop } from './processes.js';
import { startStandIns } from './standins-child.js';

const HELD = Number(process.env.HELD ?? 10_000);
const RATE = Number(process.env.RATE ?? 400);
const SOAK_MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const SOAK_CPS = Number(process.env.SOAK_CPS ?? 100);

interface Health { liveCalls: number; memory: { heapUsedBytes: number; rssBytes: number } }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const real = realServers();
  const redis = await startRedis();
  const standIns = real ? null : await startStandIns();
  const adminPort = real ? real.drachtio.port : standIns!.ports.adminPort;
  const target = real ? real.sip : `127.0.0.1:${standIns!.ports.sipPort}`;
  const secret = real?.drachtio.secret ?? 'cymru';
  const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  // Calls hang up after every call has had time to come up (setup can run behind the offered rate).
  const holdMs = Math.ceil((HELD / RATE) * 1000) * 2 + 40_000;
  const soakMs = SOAK_MINUTES * 60_000;
  // The trunk answers and waits for the caller's BYE, for as long as the whole run takes.
  const trunk = await startSipp({ scenario: trunkUas({ answer: 200, ringMs: 0 }), localPort: trunkPorts[0], concurrency: 50_000, timeoutMs: holdMs + soakMs + 300_000 });
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-held-'));
  writeFixtureConfig(dir, { trunkPorts, media: 'direct', recording: false, window: '00:00-24:00', maxConcurrent: 100_000, trunkMaxConcurrent: 100_000 });
  const client = redis.client();
  const ledger = new Ledger(client, { instanceId: 'bench' });
  await ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 1_000_000_000 });
  await ledger.topUp('telesales', 'bench', 1_000_000_000, 'bench deposit');

  const dist = join(import.meta.dirname, '../../dist/cli.js');
  const entry = existsSync(dist) && !process.env.DIALGATE_BENCH_SOURCES ? dist : join(import.meta.dirname, '../../src/dialgate.js');
  let opsUrl = '';
  const app = await startChild(['--expose-gc', entry, 'serve', '--config', dir], {
    ...process.env, DIALGATE_DRACHTIO_PORT: String(adminPort), DIALGATE_DRACHTIO_SECRET: secret,
    DIALGATE_REDIS_URL: redis.url, DIALGATE_LOG_LEVEL: 'info', DIALGATE_ESL_PORT: '1',
  }, /ops http listening/, (line) => { opsUrl ||= /"url":"([^"]+)"/.exec(line)?.[1] ?? ''; });
  const health = async (): Promise<Health> => (await fetch(`${opsUrl}/health`)).json() as Promise<Health>;
  /** Live heap: a full collection in the app (SIGUSR2), then its /health. */
  const liveHeap = async (): Promise<{ heap: number; rss: number; live: number }> => {
    app.kill('SIGUSR2');
    await sleep(1000);
    const h = await health();
    return { heap: h.memory.heapUsedBytes, rss: h.memory.rssBytes, live: h.liveCalls };
  };
  const seatRun = (calls: number, rate: number, hold: number) => runSipp({
    scenario: seatCall({ expect: 200, holdMs: hold }), target, calls, rate, concurrency: 15_000, timeoutMs: hold + (calls / rate) * 1000 + 120_000,
    injectionFile: injection(Array.from({ length: Math.min(calls, 1000) }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
    auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${target}` },
    extraArgs: ['-max_socket', '1000'],
  });

  try {
    // Warm up (JIT, pools), then the empty baseline.
    await seatRun(200, 100, 500);
    await sleep(3000);
    const base = await liveHeap();
    console.log(`${real ? 'real drachtio-server' : 'drachtio stand-in'}; app ${entry.endsWith('.js') && entry.includes('dist') ? 'dist/' : 'sources'}`);
    console.log(`idle: heap ${mb(base.heap)} MB, RSS ${mb(base.rss)} MB`);

    // HELD calls up at once.
    const t0 = Date.now();
    const held = seatRun(HELD, RATE, holdMs);
    let up = 0;
    while (Date.now() - t0 < holdMs - 5000) {
      up = (await health()).liveCalls;
      if (up >= HELD) break;
      await sleep(500);
    }
    const full = await liveHeap();
    const perCall = (full.heap - base.heap) / Math.max(1, full.live);
    console.log(`${full.live} calls held (answered, all up after ${((Date.now() - t0) / 1000).toFixed(0)} s): heap ${mb(full.heap)} MB, RSS ${mb(full.rss)} MB`
      + ` → heap ${(perCall / 1024).toFixed(1)} KB per call, RSS ${(((full.rss - base.rss) / Math.max(1, full.live)) / 1024).toFixed(1)} KB per call`);
    const r = await held;
    console.log(`held run: ${r.successful} ok / ${r.failed} failed`);
    if (r.failed > 0 && process.env.BENCH_LOG) console.error(r.errors.slice(0, 3000));
    await sleep(5000);
    const after = await liveHeap();
    console.log(`all hung up: ${after.live} live, heap ${mb(after.heap)} MB (idle was ${mb(base.heap)} MB)`);

    if (SOAK_MINUTES > 0) {
      // Continuous calls for SOAK_MINUTES; heap sampled each minute.
      const calls = SOAK_CPS * SOAK_MINUTES * 60;
      const soak = seatRun(calls, SOAK_CPS, 3000);
      const samples: { min: number; heap: number }[] = [];
      for (let m = 1; m <= SOAK_MINUTES; m++) {
        await sleep(60_000 - 1000);
        samples.push({ min: m, heap: (await liveHeap()).heap });
        console.log(`soak minute ${m}: heap ${mb(samples.at(-1)!.heap)} MB`);
      }
      const s = await soak;
      // Least-squares slope over minutes 2..N (minute 1 still fills pools and caches).
      const pts = samples.slice(1);
      const mx = pts.reduce((a, p) => a + p.min, 0) / pts.length;
      const my = pts.reduce((a, p) => a + p.heap, 0) / pts.length;
      const slope = pts.reduce((a, p) => a + (p.min - mx) * (p.heap - my), 0) / Math.max(1e-9, pts.reduce((a, p) => a + (p.min - mx) ** 2, 0));
      console.log(`soak: ${s.successful} ok / ${s.failed} failed at ${SOAK_CPS} cps for ${SOAK_MINUTES} min; heap slope ${(slope / 1024).toFixed(0)} KB/min `
        + `(${((slope * SOAK_MINUTES) / 1024 / 1024).toFixed(2)} MB over the soak) from ${mb(samples[0]!.heap)} to ${mb(samples.at(-1)!.heap)} MB`);
    }
  } finally {
    await stop(app);
    await trunk.stop();
    await standIns?.stop();
    client.disconnect();
    await redis.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
