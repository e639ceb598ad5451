import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvField } from '../../src/cdr/csv.js';
import { buildCdr, formatYuan, type Cdr } from '../../src/cdr/model.js';
import { CdrWriter, markerKey } from '../../src/cdr/writer.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { parseCsv, sampleCdr } from './fixtures.js';

let server: RedisInstance;
let redis: Redis;
let dir: string;

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  dir = mkdtempSync(join(tmpdir(), 'dialgate-cdr-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// 2025-03-01 10:00 Beijing.
const T = Date.UTC(2025, 2, 1, 2, 0, 0);

describe('CDR model', () => {
  it('stamps times in Beijing and keeps every field present', () => {
    const c = sampleCdr({ ringAt: null });
    expect(c.inviteIso).toBe('2025-03-01T10:00:00.000+08:00');
    expect(c.endIso).toBe('2025-03-01T10:01:13.000+08:00');
    expect(c.ringIso).toBeNull();
    const minimal = buildCdr({
      cdrId: 'd', callId: 'c', direction: 'outbound', callerRaw: '1001', calleeRaw: '110x', decision: 'deny',
      sipStatus: 484, inviteAt: T, endAt: T, configVersion: 'v',
    });
    expect(minimal).toMatchObject({ tenant: null, trunks: [], cost: 0, balanceAfter: null, recovered: false, trace: [] });
    expect(Object.keys(minimal).sort()).toEqual(Object.keys(c).sort());
  });

  it('refuses floating money and durations', () => {
    expect(() => sampleCdr({ cost: 0.13 })).toThrow(/cost/);
    expect(() => sampleCdr({ billableSeconds: 1.5 })).toThrow(/billableSeconds/);
  });

  it('formats 0.0001-yuan units exactly', () => {
    expect(formatYuan(1300)).toBe('0.1300');
    expect(formatYuan(0)).toBe('0.0000');
    expect(formatYuan(110_000_000)).toBe('11000.0000');
    expect(formatYuan(-5)).toBe('-0.0005');
    expect(formatYuan(123_456_789)).toBe('12345.6789');
  });
});

describe('CSV fields', () => {
  it('quotes commas, quotes, newlines and edge spaces; defuses formulas but not phone numbers', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line1\nline2')).toBe('"line1\nline2"');
    expect(csvField(' pad')).toBe('" pad"');
    expect(csvField(null)).toBe('');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+8613800138000')).toBe('+8613800138000');
    expect(csvField('-0.1300')).toBe('-0.1300');
    expect(csvField('+cmd|x')).toBe("'+cmd|x");
  });
});

describe('CdrWriter', () => {
  it('writes a CDR once even when written twice, and concurrently', async () => {
    const w = new CdrWriter({ redis, dir });
    const c = sampleCdr();
    expect(await w.write(c)).toBe('written');
    expect(await w.write(c)).toBe('duplicate');
    const again = sampleCdr({ cdrId: 'cdr-2' });
    expect((await Promise.all([w.write(again), w.write(again), w.write(again)])).sort())
      .toEqual(['duplicate', 'duplicate', 'written']);
    expect(await redis.xlen('dialgate:cdr')).toBe(2);
    const jsonl = readFileSync(join(dir, 'cdr-2025-03-01.jsonl'), 'utf8').trim().split('\n');
    expect(jsonl.map((l) => (JSON.parse(l) as Cdr).cdrId)).toEqual(['cdr-1', 'cdr-2']);
    expect(JSON.parse(jsonl[0]!)).toEqual(c);
    const rows = parseCsv(readFileSync(join(dir, 'cdr-2025-03-01.csv'), 'utf8'));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual(CSV_COLUMNS);
    // The marker lives in the stream's slot and expires.
    expect(await redis.ttl(markerKey('dialgate:cdr', 'cdr-1'))).toBeGreaterThan(29 * 86_400);
    expect(markerKey('dialgate:cdr', 'x')).toBe('{dialgate:cdr}:seen:x');
    expect(markerKey('{t1}:cdr', 'x')).toBe('{t1}:cdr:seen:x');
  });

  it('puts the whole CDR in the stream entry', async () => {
    const w = new CdrWriter({ redis, dir });
    await w.write(sampleCdr());
    const [[, fields]] = (await redis.xrange('dialgate:cdr', '-', '+')) as [[string, string[]]];
    expect(fields.slice(0, 4)).toEqual(['cdrId', 'cdr-1', 'tenant', 'acme']);
    expect(JSON.parse(fields[5]!)).toEqual(sampleCdr());
  });

  it('escapes awkward values so the CSV round-trips', async () => {
    const w = new CdrWriter({ redis, dir });
    const c = sampleCdr({
      hangupCause: 'busy, "really"\r\nbusy', region: '北京, 朝阳', callerRaw: '=cmd|calc', denyReason: ' spaced ',
    });
    await w.write(c);
    const [header, row] = parseCsv(readFileSync(join(dir, 'cdr-2025-03-01.csv'), 'utf8'));
    const rec = Object.fromEntries(header!.map((h, i) => [h, row![i]]));
    expect(rec).toMatchObject({
      hangupCause: 'busy, "really"\r\nbusy', region: '北京, 朝阳', callerRaw: "'=cmd|calc", denyReason: ' spaced ',
      cost: '2600', costYuan: '0.2600', balanceAfter: '997400', balanceAfterYuan: '99.7400',
      trunks: 'carrier-a:503;carrier-b:200', trace: 'window=pass;scope=pass(mobile)',
      inviteTime: '2025-03-01T10:00:00.000+08:00', recovered: 'false', ringTime: '2025-03-01T10:00:02.000+08:00',
    });
  });

  it('splits daily files at Beijing midnight, not UTC midnight', async () => {
    const w = new CdrWriter({ redis, dir });
    const beforeMidnight = Date.UTC(2025, 2, 1, 15, 59, 59, 999); // 23:59:59.999 Beijing, 1 March
    const afterMidnight = Date.UTC(2025, 2, 1, 16, 0, 0, 0); // 00:00 Beijing 2 March, still 1 March in UTC
    await w.write(sampleCdr({ cdrId: 'a', inviteAt: beforeMidnight, ringAt: null, answerAt: null, endAt: beforeMidnight + 5000 }));
    await w.write(sampleCdr({ cdrId: 'b', inviteAt: afterMidnight, ringAt: null, answerAt: null, endAt: afterMidnight + 5000 }));
    expect(readdirSync(dir).sort()).toEqual(['cdr-2025-03-01.csv', 'cdr-2025-03-01.jsonl', 'cdr-2025-03-02.csv', 'cdr-2025-03-02.jsonl']);
    expect(readFileSync(join(dir, 'cdr-2025-03-02.jsonl'), 'utf8')).toContain('"cdrId":"b"');
    expect(readFileSync(join(dir, 'cdr-2025-03-01.jsonl'), 'utf8')).not.toContain('"cdrId":"b"');
    expect(parseCsv(readFileSync(join(dir, 'cdr-2025-03-02.csv'), 'utf8'))[0]).toEqual(CSV_COLUMNS);
  });

  it('never interleaves concurrent appends', async () => {
    const w = new CdrWriter({ redis, dir });
    const big = 'x'.repeat(100_000); // larger than one write() chunk would need to be
    await Promise.all(Array.from({ length: 200 }, (_, i) =>
      w.write(sampleCdr({ cdrId: `c${i}`, hangupCause: i % 10 === 0 ? big : `cause ${i}, "q"\n` }))));
    const lines = readFileSync(join(dir, 'cdr-2025-03-01.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(new Set(lines.map((l) => (JSON.parse(l) as Cdr).cdrId)).size).toBe(200);
    const rows = parseCsv(readFileSync(join(dir, 'cdr-2025-03-01.csv'), 'utf8'));
    expect(rows).toHaveLength(201);
    expect(rows.every((r) => r.length === CSV_COLUMNS.length)).toBe(true);
  });

  it('repairs a torn last line and keeps a header on existing files', async () => {
    writeFileSync(join(dir, 'cdr-2025-03-01.jsonl'), '{"cdrId":"torn"');
    writeFileSync(join(dir, 'cdr-2025-03-01.csv'), `${CSV_COLUMNS.join(',')}\r\n`);
    appendFileSync(join(dir, 'cdr-2025-03-01.csv'), 'half,a,row');
    await new CdrWriter({ redis, dir }).write(sampleCdr());
    const lines = readFileSync(join(dir, 'cdr-2025-03-01.jsonl'), 'utf8').split('\n');
    expect(lines[1] && (JSON.parse(lines[1]) as Cdr).cdrId).toBe('cdr-1');
    const csv = readFileSync(join(dir, 'cdr-2025-03-01.csv'), 'utf8').split('\r\n');
    expect(csv[0]).toBe(CSV_COLUMNS.join(','));
    expect(csv[2]?.startsWith('cdr-1,')).toBe(true);
  });

  it('a daily file moved away between writes (archived) is started again at its path, with its header', async () => {
    const w = new CdrWriter({ redis, dir });
    await w.write(sampleCdr({ cdrId: 'before' }));
    renameSync(join(dir, 'cdr-2025-03-01.csv'), join(dir, 'archived.csv'));
    renameSync(join(dir, 'cdr-2025-03-01.jsonl'), join(dir, 'archived.jsonl'));
    await w.write(sampleCdr({ cdrId: 'after' }));
    const jsonl = readFileSync(join(dir, 'cdr-2025-03-01.jsonl'), 'utf8').trim().split('\n');
    expect(jsonl.map((l) => (JSON.parse(l) as Cdr).cdrId)).toEqual(['after']);
    const csv = parseCsv(readFileSync(join(dir, 'cdr-2025-03-01.csv'), 'utf8'));
    expect(csv[0]).toEqual([...CSV_COLUMNS]);
    expect(csv.slice(1).map((r) => r[0])).toEqual(['after']);
    expect(readFileSync(join(dir, 'archived.jsonl'), 'utf8')).toContain('"before"');
    await w.flush();
  });

  it('caps the stream with MAXLEN ~', async () => {
    const w = new CdrWriter({ redis, dir, maxLen: 10 });
    for (let i = 0; i < 400; i++) await w.write(sampleCdr({ cdrId: `m${i}` }));
    expect(await redis.xlen('dialgate:cdr')).toBeLessThan(250);
  });
});
