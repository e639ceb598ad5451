// Ledger benchmark (issue 4 acceptance): authorisations (reserve) and settlements per second from
// one Node process against a loopback redis-server, with a fixed number of operations in flight.
// Run: npx tsx test/benchmarks/ledger.bench.ts [ops] [inFlight] [accounts]
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';

const OPS = Number(process.argv[2] ?? 50_000);
const IN_FLIGHT = Number(process.argv[3] ?? 64);
const ACCOUNTS = Number(process.argv[4] ?? 1_000);
const MINUTE = 1_300; // 0.13 yuan per 60 s (004 §1)

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function phase(name: string, n: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    for (let i = next++; i < n; i = next++) {
      const s = performance.now();
      await op(i);
      lat[i] = performance.now() - s;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort();
  console.log(`${name.padEnd(15)} ${String(n).padStart(7)} ops  ${(n / secs).toFixed(0).padStart(7)}/s  ` +
    `p50 ${pct(lat, 50).toFixed(2)} ms  p99 ${pct(lat, 99).toFixed(2)} ms`);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const client = new Redis(redis.url, { enableAutoPipelining: true });
  try {
    const ledger = new Ledger(client, { instanceId: 'bench' });
    const now = Date.now();
    await Promise.all(Array.from({ length: ACCOUNTS }, async (_, a) => {
      await ledger.createAccount(`b${a}`, { tenant: 'bench', prepaidTotal: 11_000 * 10_000 });
      await ledger.topUp(`b${a}`, 'pkg', 11_000 * 10_000);
    }));
    console.log(`ledger bench: ${OPS} calls over ${ACCOUNTS} accounts, ${IN_FLIGHT} in flight, redis ${redis.url} (Node ${process.version})`);
    const acct = (i: number): string => `b${i % ACCOUNTS}`;
    await phase('authorise', OPS, (i) => ledger.reserve(acct(i), `c${i}`, { min: MINUTE, max: 5 * MINUTE }, now));
    await phase('heartbeat', OPS, (i) => ledger.heartbeat(acct(i), `c${i}`, now + 10_000, now + 1_000));
    await phase('settle', OPS, (i) => ledger.settle(acct(i), `c${i}`, 2 * MINUTE, `cdr${i}`, now + 120_000));
    // one hot account: every call contends for the same keys
    await ledger.createAccount('hot', { tenant: 'bench' });
    await ledger.topUp('hot', 'pkg', 1e12);
    await phase('authorise hot', OPS, (i) => ledger.reserve('hot', `h${i}`, { min: MINUTE, max: 5 * MINUTE }, now));
    await phase('settle hot', OPS, (i) => ledger.settle('hot', `h${i}`, MINUTE, `cdr${i}`, now));
    const a = await ledger.getAccount('b0');
    if (!a || a.reserved !== 0 || a.balance !== 11_000 * 10_000 - (OPS / ACCOUNTS) * 2 * MINUTE) throw new Error(`reconcile failed: ${JSON.stringify(a)}`);
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

await main();
