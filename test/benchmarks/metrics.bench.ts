// What /metrics costs a call: the hooks one call runs (an answer, its CDR, five timed ledger and
// slot operations) and a scrape. Run: npx tsx test/benchmarks/metrics.bench.ts  (env CALLS=200000)
// Calls spread over 6 routes × 4 trunks × 8 statuses, as a busy day's label sets would.
import { buildCdr } from '../../src/cdr/model.js';
import { OpsMetrics } from '../../src/ops/metrics.js';

const CALLS = Number(process.env.CALLS ?? 200_000);
const T = Date.UTC(2026, 10, 23, 2, 0, 0);
const routes = ['domestic', 'mobile', 'landline', 'beijing', 'shanghai', 'emergency'];
const trunks = ['trunk-a', 'trunk-b', 'trunk-c', 'trunk-d'];
const statuses = [200, 200, 200, 486, 487, 480, 503, 403];

const cdrs = Array.from({ length: 1000 }, (_, i) => {
  const status = statuses[i % statuses.length]!;
  const answered = status === 200;
  return buildCdr({
    cdrId: `out-${i}`, callId: `${i}`, direction: 'outbound', tenant: 't', seat: '1001', callerRaw: '1001', calleeRaw: '13812345678',
    decision: status === 403 ? 'deny' : 'allow', denyReason: status === 403 ? 'blacklisted' : null, sipStatus: status,
    route: status === 403 ? null : routes[i % routes.length]!,
    trunks: status === 403 ? [] : [{ trunk: trunks[i % trunks.length]!, sipStatus: status, at: T + 5 }],
    inviteAt: T, ringAt: T + 900, answerAt: answered ? T + 4000 : null, endAt: T + 64_000, billableSeconds: answered ? 60 : 0, configVersion: 'v',
  });
});

const m = new OpsMetrics({ liveCalls: () => 100 });
const ops = ['reserve', 'heartbeat', 'settle', 'slot-acquire', 'slot-release'].map((op) => m.ledgerOp(op));
const run = (n: number): number => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c = cdrs[i % cdrs.length]!;
    if (c.answerAt !== null) m.callAnswered({ spec: { direction: 'outbound', inviteAt: c.inviteAt }, attempts: [{ target: c.trunks[0]!.trunk, at: c.trunks[0]!.at }], ringAt: c.ringAt, answerAt: c.answerAt });
    m.callEnded(c);
    m.cdrWritten('written');
    if (!process.env.NO_LEDGER) for (const done of ops) done(0.0012, undefined);
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
};
run(20_000); // warm-up
const perCall = run(CALLS);
const t0 = performance.now();
const text = await m.render();
const scrapeMs = performance.now() - t0;
process.stdout.write(`metrics hooks: ${perCall.toFixed(2)} µs a call (${CALLS} calls); scrape ${scrapeMs.toFixed(1)} ms, ${(text.length / 1024).toFixed(0)} KiB, ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples\n`);
