// Throughput and latency of the pure outbound pipeline (issue 3 acceptance: "policy decisions per
// second of the pure pipeline, with p50/p99"). Run: npx tsx test/benchmarks/policy.bench.ts
// A realistic snapshot: 21 tenants, the main one with a 100k-number do-not-call list (the
// production CompactNumberSet) and the 004 window with statutory holidays; 200 seats; 6 trunks;
// region, service and weighted catch-all routes; 200k calls of mixed outcomes.
import { CompactNumberSet } from '../../src/config/numberset.js';
import type { Blacklist, Route, Tenant } from '../../src/config/types.js';
import { preloadRegions } from '../../src/numbers/region.js';
import { decideOutbound } from '../../src/policy/decideOutbound.js';
import type { LedgerView, OutboundCall } from '../../src/policy/types.js';
import { beijing, rate, seat, snapshot, tenant, trunk, window } from '../policy/fixtures.js';

const CALLS = Number(process.env.CALLS ?? 200_000);

let state = 42;
const rand = (): number => {
  state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
  return state / 4_294_967_296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
const mobile = (): string => `1${pick(['38', '39', '58', '86', '99', '77', '50', '35'])}${digits(8)}`;
const landline = (): string => `0${pick(['10', '21', '20', '755', '571', '25', '28', '27', '951'])}${pick(['6', '8', '5'])}${digits(7)}`;

async function list(numbers: string[], prefixes: string[]): Promise<Blacklist> {
  return { exact: await CompactNumberSet.of(numbers), prefixes, files: ['bench.txt'] };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  preloadRegions();
  const dnc = Array.from({ length: 100_000 }, () => (rand() < 0.8 ? mobile() : landline()));
  const pool = Array.from({ length: 20 }, () => `01088${digits(6)}`);
  const day = [{ start: '08:00', end: '19:30' }];
  const acme = tenant({
    window: window({ weekly: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day }, holidays: 'cn-statutory' }),
    blacklist: await list(dnc, Array.from({ length: 50 }, () => `1${digits(4)}`)),
    callerIdPool: pool,
    callerIdPolicy: 'replace',
    maxConcurrent: 500,
  });
  const others: Tenant[] = Array.from({ length: 20 }, (_, i) => tenant({ id: `t${i}`, callerIdPool: [`0218888${String(i).padStart(4, '0')}`] }));
  const seats = Array.from({ length: 200 }, (_, i) => seat({ id: `s${i}`, tenant: 'acme', callerId: pool[i % pool.length] }));
  const trunks = ['ct-a', 'ct-b', 'cu-a', 'cu-b', 'cm-a', 'gd'].map((id) => trunk({ id, maxConcurrent: 300, prefix: id === 'gd' ? '0086' : '', strip: id === 'gd' ? 1 : 0 }));
  const routes: Route[] = [
    { id: 'guangdong', priority: 10, match: { regions: ['Guangdong'] }, trunks: [{ trunk: 'gd', weight: 1 }, { trunk: 'ct-a', weight: 1 }], media: 'direct' },
    { id: 'service', priority: 20, match: { classes: ['service', 'tollfree400', 'tollfree800'] }, trunks: [{ trunk: 'cu-a', weight: 1 }], media: 'anchored' },
    { id: 'beijing-landline', priority: 30, match: { prefixes: ['010'], classes: ['landline'] }, trunks: [{ trunk: 'cu-b', weight: 1 }, { trunk: 'ct-b', weight: 1 }], media: 'anchored' },
    { id: 'emergency', priority: 1, match: { classes: ['emergency'] }, trunks: [{ trunk: 'ct-a', weight: 1 }, { trunk: 'cm-a', weight: 1 }], media: 'anchored' },
    {
      id: 'default', priority: 100, match: {}, media: 'anchored',
      trunks: [
        { trunk: 'ct-a', weight: 5, priority: 1 }, { trunk: 'cu-a', weight: 3, priority: 1 }, { trunk: 'cm-a', weight: 2, priority: 1 },
        { trunk: 'ct-b', weight: 1, priority: 2 },
      ],
    },
  ];
  const tariffRates = [
    rate(), rate({ class: 'landline', ratePerMinute: 1000 }), rate({ prefix: '010', ratePerMinute: 900 }),
    rate({ class: 'tollfree400', ratePerMinute: 0 }), rate({ class: 'service', ratePerMinute: 500, initialIncrement: 6, subsequentIncrement: 6 }),
    ...Array.from({ length: 20 }, () => rate({ prefix: `1${digits(3)}`, ratePerMinute: 1200, initialIncrement: 30, subsequentIncrement: 6 })),
  ];
  const cfg = snapshot({
    tenants: [acme, ...others],
    seats,
    trunks,
    routes,
    tariffs: [{ id: 'telesales', rates: tariffRates }],
    blacklist: await list(Array.from({ length: 10_000 }, mobile), ['0106666']),
  });
  console.log(`snapshot built in ${(performance.now() - t0).toFixed(0)} ms (blacklist ${acme.blacklist.exact.size} numbers)`);

  const workdays = ['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13', '2026-09-20' /* 调休 Sunday */];
  const closed = ['2026-03-15' /* Sunday */, '2026-10-01' /* National Day */];
  const calls: OutboundCall[] = [];
  const ledgers: LedgerView[] = [];
  const times: number[] = [];
  const trunkLoad = new Map([['ct-a', 120], ['cu-a', 300], ['cm-a', 10]]);
  for (let i = 0; i < CALLS; i++) {
    const r = rand();
    const to = r < 0.6 ? pick(['', '+86 ', '0086', '86']) + mobile()
      : r < 0.75 ? landline()
        : r < 0.8 ? pick(dnc)
          : r < 0.83 ? pick(['138123', '12345678', 'abc', '+1234'])
            : r < 0.85 ? pick(['16812345678', '+44 20 7946 0958'])
              : r < 0.9 ? `400${digits(7)}`
                : r < 0.92 ? pick(['110', '119', '120', '122'])
                  : r < 0.95 ? pick(['95588', '10086', '12345'])
                    : `sip:${mobile()}@pbx.example;user=phone`;
    const s = pick(seats);
    calls.push({ callId: `${i}-${digits(8)}@10.0.0.${i % 250}`, seatId: s.id, tenantId: 'acme', from: rand() < 0.05 ? mobile() : s.id, to });
    ledgers.push({ available: rand() < 0.03 ? 1000 : 5_000_000, tenantActiveCalls: Math.floor(rand() * 510), trunkActiveCalls: trunkLoad });
    times.push(beijing(`${rand() < 0.9 ? pick(workdays) : pick(closed)}T${rand() < 0.85 ? pick(['09', '11', '14', '17']) : pick(['07', '20', '22'])}:${String(Math.floor(rand() * 60)).padStart(2, '0')}`)
      + Math.floor(rand() * 60_000));
  }

  const warm = Math.min(20_000, CALLS);
  for (let i = 0; i < warm; i++) decideOutbound(calls[i]!, cfg, ledgers[i]!, times[i]!);

  // Throughput: one tight loop.
  const outcomes = new Map<string, number>();
  let start = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const d = decideOutbound(calls[i]!, cfg, ledgers[i]!, times[i]!);
    const key = d.kind === 'allow' ? (d.emergency ? 'allow (emergency)' : 'allow') : `deny ${d.sipStatus} ${d.reason}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  const seconds = (performance.now() - start) / 1000;

  // Latency: each decision timed on its own.
  const latency = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    start = performance.now();
    decideOutbound(calls[i]!, cfg, ledgers[i]!, times[i]!);
    latency[i] = performance.now() - start;
  }
  latency.sort();
  const q = (p: number): string => `${(latency[Math.min(CALLS - 1, Math.floor(CALLS * p))]! * 1000).toFixed(1)} µs`;

  console.log(`decideOutbound: ${CALLS} calls in ${seconds.toFixed(2)} s = ${Math.round(CALLS / seconds).toLocaleString('en')} decisions/s (one core)`);
  console.log(`latency p50 ${q(0.5)}  p99 ${q(0.99)}  p99.9 ${q(0.999)}  max ${q(1)}`);
  for (const [key, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(7)}  ${key}`);
}

await main();
