// What timing a ledger operation (timeOperations, src/ops/metrics.ts) adds to a call of it: a store
// whose method resolves at once, called bare and through the wrapper, awaited in sequence as the
// call path does. Run: npx tsx test/benchmarks/timed-ops.bench.ts   (env N=500000)
import { OpsMetrics, timeOperations } from '../../src/ops/metrics.js';

const N = Number(process.env.N ?? 500_000);
class Store {
  n = 0;
  async reserve(a: string, b: number): Promise<number> { this.n += a.length + b; return this.n; }
}

async function time(name: string, s: Store): Promise<number> {
  for (let i = 0; i < N / 4; i++) await s.reserve('t', i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await s.reserve('t', i);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / N;
  console.log(`${name}: ${us.toFixed(3)} µs per operation`);
  return us;
}

const bare = await time('bare ', new Store());
const timed = await time('timed', timeOperations(new Store(), { reserve: 'reserve' }, new OpsMetrics()));
console.log(`timing adds ${(timed - bare).toFixed(3)} µs per operation`);
