// Blacklist benchmark: load a 1,000,000-number list (text and CSV), report load time, memory,
// the longest event-loop stall during the load (what a live call would wait), and lookups/s.
// Run: node --expose-gc --import tsx test/benchmarks/blacklist.bench.ts [count]   (or npx tsx ...)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadListFile } from '../../src/config/listfile.js';
import { NumberSetBuilder, type CompactNumberSet } from '../../src/config/numberset.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;

function numberAt(i: number): string {
  // Mobiles spread over 13x-19x, plus every 5th a landline with area code (leading 0).
  return i % 5 === 0 ? `0${String(10_00000000 + i * 13).slice(0, 10)}` : String(13_000_000_000 + i * 7919 % 6_999_999_999);
}

async function measure(label: string, path: string, spec: { path: string; column?: string }): Promise<CompactNumberSet> {
  global.gc?.();
  const before = process.memoryUsage();
  // A 1 ms interval stands in for call traffic: its largest gap is the longest stall a call sees.
  const gaps: number[] = [];
  let last = performance.now();
  const tick = setInterval(() => { const now = performance.now(); gaps.push(now - last); last = now; }, 1);
  const t0 = performance.now();
  const builder = new NumberSetBuilder();
  const r = await loadListFile(path, spec, builder);
  const t1 = performance.now();
  const set = await builder.build();
  const t2 = performance.now();
  clearInterval(tick);
  gaps.sort((a, b) => a - b);
  global.gc?.();
  const mem = process.memoryUsage();
  console.log(`${label}: ${r.numbers} rows → ${set.size} numbers in ${(t2 - t0).toFixed(0)} ms (parse ${(t1 - t0).toFixed(0)} ms, table ${(t2 - t1).toFixed(0)} ms)`);
  console.log(`  set ${mb(set.bytes)} (typed array; ${(set.bytes / set.size).toFixed(1)} B/number); after GC: heap ${mb(mem.heapUsed - before.heapUsed)}, array buffers +${mb(mem.arrayBuffers - before.arrayBuffers)}`);
  const median = gaps[Math.floor(gaps.length / 2)] ?? 0;
  console.log(`  event loop during the load: ${gaps.length} turns, median gap ${median.toFixed(1)} ms, longest stall ${(gaps[gaps.length - 1] ?? 0).toFixed(1)} ms`);
  return set;
}

const dir = await mkdtemp(join(tmpdir(), 'dialgate-bench-'));
try {
  const numbers = Array.from({ length: COUNT }, (_, i) => numberAt(i));
  const txt = join(dir, 'dnc.txt');
  const csv = join(dir, 'dnc.csv');
  await writeFile(txt, `# do-not-call\n${numbers.join('\n')}\n`);
  await writeFile(csv, `date,name,phone\n${numbers.map((n, i) => `2024-05-${String(1 + (i % 28)).padStart(2, '0')},客户${i},${n}`).join('\n')}\n`);
  console.log(`dialgate blacklist bench, ${COUNT} numbers, node ${process.version}`);
  const set = await measure('text', txt, { path: 'dnc.txt' });
  await measure('csv (named column)', csv, { path: 'dnc.csv', column: 'phone' });

  const probes = Array.from({ length: 1 << 20 }, (_, i) => (i % 2 ? numbers[(i * 7) % COUNT]! : String(14_000_000_000 + i * 3)));
  let hits = 0;
  for (let i = 0; i < probes.length; i++) if (set.has(probes[i]!)) hits++; // warm-up
  const rounds = 5;
  const t0 = performance.now();
  hits = 0;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < probes.length; i++) if (set.has(probes[i]!)) hits++;
  const secs = (performance.now() - t0) / 1000;
  const n = rounds * probes.length;
  console.log(`lookups: ${(n / secs / 1e6).toFixed(1)} M/s (${((secs / n) * 1e9).toFixed(0)} ns each; ${((hits / n) * 100).toFixed(0)}% hits)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
