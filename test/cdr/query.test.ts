import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/cdr/csv.js';
import { exportCsv, queryCdrs } from '../../src/cdr/query.js';
import { CdrWriter } from '../../src/cdr/writer.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { parseCsv, sampleCdr } from './fixtures.js';

let server: RedisInstance;
let redis: Redis;
let dir: string;

// Midnight 2 March Beijing.
const MIDNIGHT = Date.UTC(2025, 2, 1, 16, 0, 0);
const H = 3_600_000;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
  dir = mkdtempSync(join(tmpdir(), 'dialgate-cdrq-'));
  const w = new CdrWriter({ redis, dir });
  const rows: [string, string, string, number][] = [
    ['a1', 'acme', '13800138000', MIDNIGHT - 10 * H], // 1 March 14:00
    ['b1', 'beta', '13900139000', MIDNIGHT - 2 * H],
    ['a2', 'acme', '02161234567', MIDNIGHT - 1], // 23:59:59.999 1 March
    ['a3', 'acme', '13800138000', MIDNIGHT], // 00:00 2 March
    ['b2', 'beta', '13800138000', MIDNIGHT + 5 * H],
    ['a4', 'acme', '4008001234', MIDNIGHT + 30 * H], // 3 March
  ];
  for (const [cdrId, tenant, callee, at] of rows) {
    await w.write(sampleCdr({
      cdrId, tenant, calleeRaw: callee, calleeNormalised: callee, inviteAt: at, ringAt: null, answerAt: null, endAt: at + 1000,
    }));
  }
  appendFileSync(join(dir, 'cdr-2025-03-02.jsonl'), '{"torn": tr\n\n');
  appendFileSync(join(dir, 'notes.txt'), 'not a cdr file\n');
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ids = async (q: Parameters<typeof queryCdrs>[1]) => (await queryCdrs(dir, q)).map((c) => c.cdrId);

describe('queryCdrs', () => {
  it('returns everything in day order, skipping torn lines and foreign files', async () => {
    expect(await ids({})).toEqual(['a1', 'b1', 'a2', 'a3', 'b2', 'a4']);
  });

  it('filters by tenant', async () => {
    expect(await ids({ tenant: 'acme' })).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(await ids({ tenant: 'nobody' })).toEqual([]);
  });

  it('filters by number in raw, national or +86 form', async () => {
    expect(await ids({ number: '13800138000' })).toEqual(['a1', 'a3', 'b2']);
    expect(await ids({ number: '+86 138-0013-8000' })).toEqual(['a1', 'a3', 'b2']);
    expect(await ids({ number: '008613800138000', tenant: 'beta' })).toEqual(['b2']);
    expect(await ids({ number: '400800' })).toEqual(['a4']);
  });

  it('filters by invite time across the Beijing-midnight file boundary', async () => {
    expect(await ids({ from: MIDNIGHT - 1, to: MIDNIGHT + 1 })).toEqual(['a2', 'a3']);
    expect(await ids({ from: MIDNIGHT })).toEqual(['a3', 'b2', 'a4']);
    expect(await ids({ to: MIDNIGHT })).toEqual(['a1', 'b1', 'a2']);
  });

  it('honours the limit', async () => {
    expect(await ids({ limit: 2 })).toEqual(['a1', 'b1']);
    expect(await ids({ tenant: 'acme', from: MIDNIGHT, limit: 1 })).toEqual(['a3']);
  });

  it('reads nothing from a missing directory', async () => {
    expect(await queryCdrs(join(dir, 'missing'), {})).toEqual([]);
  });
});

describe('exportCsv', () => {
  it('streams the matching CDRs as CSV with a header', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (b: Buffer) => chunks.push(b));
    const n = await exportCsv(dir, { tenant: 'acme', number: '13800138000' }, out, { bom: true });
    out.end();
    expect(n).toBe(2);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.startsWith('\ufeff')).toBe(true);
    const rows = parseCsv(text.slice(1));
    expect(rows[0]).toEqual(CSV_COLUMNS);
    expect(rows.slice(1).map((r) => r[0])).toEqual(['a1', 'a3']);
  });
});

describe('pages and line hints', () => {
  it('offset skips matches, and the unparsed-line shortcut finds exactly what the filters find', async () => {
    const all = (await queryCdrs(dir, {})).map((c) => c.cdrId);
    expect((await queryCdrs(dir, { offset: 2, limit: 3 })).map((c) => c.cdrId)).toEqual(all.slice(2, 5));
    expect((await queryCdrs(dir, { tenant: 'acme', offset: 1 })).map((c) => c.cdrId)).toEqual(['a2', 'a3', 'a4']);
    expect((await queryCdrs(dir, { lineHint: '"calleeNormalised":"4008001234"' })).map((c) => c.cdrId)).toEqual(['a4']);
    // A hint narrows, never widens: the tenant filter still applies.
    expect(await queryCdrs(dir, { tenant: 'beta', lineHint: '"calleeNormalised":"4008001234"' })).toEqual([]);
    // A tenant id that JSON escapes is still found by the shortcut (the writer encodes it the same way).
    const dir2 = mkdtempSync(join(tmpdir(), 'dialgate-cdrq2-'));
    try {
      const w = new CdrWriter({ redis, dir: dir2 });
      await w.write(sampleCdr({ cdrId: 'q1', tenant: 'quote"d\\/租户', inviteAt: MIDNIGHT, ringAt: null, answerAt: null, endAt: MIDNIGHT + 1000 }));
      await w.write(sampleCdr({ cdrId: 'q2', tenant: 'quote', inviteAt: MIDNIGHT, ringAt: null, answerAt: null, endAt: MIDNIGHT + 1000 }));
      expect((await queryCdrs(dir2, { tenant: 'quote"d\\/租户' })).map((c) => c.cdrId)).toEqual(['q1']);
      expect((await queryCdrs(dir2, { tenant: 'quote' })).map((c) => c.cdrId)).toEqual(['q2']);
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
