// How fast the console's API answers on a busy day: 100k CDRs in one daily file (20 tenants, a
// third of them inbound to five 400 numbers). Times each request the console makes, through the
// real HTTP server and CDR reader. Run: npm run bench:console (CDRS=… to change the size)
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportCsv, queryCdrs } from '../../src/cdr/query.js';
import { AccessTable } from '../../src/ops/access.js';
import { startOpsHttp } from '../../src/ops/http.js';
import type { ConfigSnapshot } from '../../src/config/types.js';
import { analyseDay } from '../../src/stats/caller-analysis-day.js';
import { readTrunksDay } from '../../src/stats/trunk-day-read.js';
import { sampleCdr } from '../cdr/fixtures.js';

const N = Number(process.env.CDRS ?? 100_000);
const DAY_START = Date.parse('2026-11-23T00:00:00+08:00');
const TOKEN = 'bench-admin-token';
const REGIONS = ['北京市', '广东省广州市', '上海市', '浙江省杭州市', '四川省成都市', null];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-console-bench-'));
  mkdirSync(join(dir, 'cdr'));
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const inbound = i % 3 === 0;
    const at = DAY_START + Math.floor((i / N) * 86_000_000);
    const answered = i % 5 !== 0;
    lines.push(JSON.stringify(sampleCdr({
      cdrId: `cdr-${i}`, callId: `call-${i}@bench`, tenant: `t${i % 20}`, direction: inbound ? 'inbound' : 'outbound',
      callerRaw: inbound ? `138${String(i).padStart(8, '0')}` : '1001', calleeRaw: inbound ? `400800000${i % 5}` : `139${String(i).padStart(8, '0')}`,
      calleeNormalised: inbound ? `400800000${i % 5}` : `139${String(i).padStart(8, '0')}`, region: REGIONS[i % REGIONS.length]!,
      inviteAt: at, ringAt: at + 1500, answerAt: answered ? at + 6000 : null, endAt: at + 66_000,
    })));
  }
  const file = join(dir, 'cdr', 'cdr-2026-11-23.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const srv = await startOpsHttp({
    host: '127.0.0.1', port: 0, access: () => new AccessTable([{ name: 'bench', role: 'admin', token: TOKEN }]),
    status: () => ({ drachtioConnected: true, config: { version: 'bench', lastError: null }, liveCalls: 0, registeredSeats: 0 }),
    cdrs: { query: (q) => queryCdrs(join(dir, 'cdr'), q), csv: (q, out) => exportCsv(join(dir, 'cdr'), q, out) },
    console: {
      assetsDir: () => dir, tenants: () => [], numbers400: () => [{ number: '4008000001', owner: 't1' }],
      hangup: () => null, topUp: async () => null, statement: async () => { throw new Error('not benched'); },
      callerAnalysis: (n, d) => analyseDay(join(dir, 'cdr'), n, d), explain: async () => { throw new Error('not benched'); },
      // The sample CDRs' two trunks (a 503, then b answers); only trunks and routes are read.
      trunks: (d) => readTrunksDay(join(dir, 'cdr'), { trunks: new Map(), routes: [] } as unknown as ConfigSnapshot, d, async () => 0),
    },
  });
  const time = async (name: string, path: string): Promise<void> => {
    const runs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const res = await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      bytes = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      runs.push(performance.now() - t0);
    }
    runs.sort((a, b) => a - b);
    process.stdout.write(`${name.padEnd(44)} median ${runs[1]!.toFixed(0).padStart(5)} ms  (${(bytes / 1024).toFixed(0)} KiB)\n`);
  };
  process.stdout.write(`${N} CDRs in one day, ${(statSync(file).size / 1e6).toFixed(0)} MB\n`);
  const day = 'from=2026-11-23&to=2026-11-23';
  await time('CDR page 1 (50)', `/cdrs?${day}&limit=50`);
  await time('CDR page at offset 50,000', `/cdrs?${day}&limit=50&offset=50000`);
  await time('CDR last page', `/cdrs?${day}&limit=50&offset=${N - 50}`);
  await time('one tenant, page 1', `/cdrs?${day}&tenant=t7&limit=50`);
  await time('one tenant, last page', `/cdrs?${day}&tenant=t7&limit=50&offset=${N / 20 - 50}`);
  await time('number search (one match, full scan)', `/cdrs?${day}&number=13900000042&limit=50`);
  await time('400 caller analysis of the day', '/stats/callers?number=4008000001&date=2026-11-23');
  await time('trunks page of the day', '/trunks?date=2026-11-23');
  await time('CSV export of the whole day', `/cdrs?${day}&format=csv`);
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
