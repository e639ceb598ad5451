// Complete calls per second through dialgate + the call bench with sipp as seats and carrier,
// and call-setup latency (INVITE accepted → caller answered, measured by dialgate: policy,
// reservation, media endpoints, trunk dial, bridge). Run: npx tsx test/benchmarks/calls.bench.ts
// Options by env: CALLS (default 400), RATE calls/s (default 40), HOLD_MS (default 1000).
import { freeUdpPort } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk } from '../e2e/harness.js';

const CALLS = Number(process.env.CALLS ?? 400);
const RATE = Number(process.env.RATE ?? 40);
const HOLD_MS = Number(process.env.HOLD_MS ?? 1000);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function run(media: 'anchored' | 'direct'): Promise<void> {
  const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  const bench = await startBench({
    trunkPorts: ports, at: '2026-11-23T10:00:00+08:00', balance: 100_000_000, media,
    recording: false, maxConcurrent: 5000, trunkMaxConcurrent: 5000, withMedia: media === 'anchored',
  });
  const trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0 });
  try {
    const started = Date.now();
    const r = await seatCalls(bench, {
      callee: '13812345678', expect: 200, holdMs: HOLD_MS, calls: CALLS, concurrency: 1000, timeoutMs: 600_000, rate: RATE,
    });
    // CDRs land right after each call's teardown.
    const deadline = Date.now() + 10_000;
    while (readCdrs(bench).length < CALLS && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    const elapsed = (Date.now() - started) / 1000;
    const cdrs = readCdrs(bench);
    const answered = cdrs.filter((c) => c.sipStatus === 200 && c.answerAt !== null);
    const failures = new Map<string, number>();
    for (const c of cdrs) if (c.sipStatus !== 200) failures.set(`${c.sipStatus}/${c.denyReason ?? c.hangupCause}`, (failures.get(`${c.sipStatus}/${c.denyReason ?? c.hangupCause}`) ?? 0) + 1);
    const setup = answered.map((c) => c.answerAt! - c.inviteAt).sort((a, b) => a - b);
    process.stdout.write(
      `${media.padEnd(8)} calls ${CALLS} offered at ${RATE}/s, hold ${HOLD_MS} ms: sipp ok ${r.successful} failed ${r.failed}; ` +
      `CDRs ${cdrs.length}, answered ${answered.length}; ${(answered.length / elapsed).toFixed(1)} complete calls/s over ${elapsed.toFixed(1)} s; ` +
      `setup p50 ${pct(setup, 50)} ms p99 ${pct(setup, 99)} ms max ${setup.at(-1)} ms${failures.size ? `; failures ${JSON.stringify(Object.fromEntries(failures))}` : ''}\n`,
    );
  } finally {
    await trunk.stop();
    await bench.stop();
  }
}

await run('direct');
await run('anchored');
process.exit(0);
