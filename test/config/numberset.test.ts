// CompactNumberSet, the list-file normaliser, and text/CSV list files up to a million numbers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadListFile } from '../../src/config/listfile.js';
import { toNationalNumber } from '../../src/config/national.js';
import { CompactNumberSet, encodeNumber, NumberSetBuilder } from '../../src/config/numberset.js';
import { edit, exampleCopy, load, removeTempDirs, tempDir } from './fixture.js';

afterAll(removeTempDirs);

describe('CompactNumberSet', () => {
  it('keeps leading zeros apart and dedupes', async () => {
    const s = await CompactNumberSet.of(['01012345678', '1012345678', '13800138000', '13800138000', '110', '1234567890123456789']);
    expect(s.size).toBe(5);
    expect(s.has('01012345678')).toBe(true);
    expect(s.has('1012345678')).toBe(true);
    expect(s.has('001012345678')).toBe(false);
    expect(s.has('110')).toBe(true);
    expect(s.has('1234567890123456789')).toBe(true); // too long for the table: fallback set
    expect(s.has('13800138001')).toBe(false);
    expect(s.has('')).toBe(false);
    expect(s.has('abc')).toBe(false);
    expect(CompactNumberSet.EMPTY.has('110')).toBe(false);
    expect(encodeNumber('0')).toBe(10);
    expect(encodeNumber('999999999999999')).toBeLessThan(2 ** 53);
    expect(encodeNumber('1234567890123456')).toBeNaN();
  });

  it('fingerprint depends on content, not order', async () => {
    const a = await CompactNumberSet.of(['1', '2', '3']);
    const b = await CompactNumberSet.of(['3', '2', '1', '2']);
    const c = await CompactNumberSet.of(['1', '2', '4']);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
  });
});

describe('toNationalNumber', () => {
  it.each([
    ['13800138000', '13800138000'],
    ['+86 138 0013 8000', '13800138000'],
    ['0086-13800138000', '13800138000'],
    ['8613800138000', '13800138000'],
    ['010-12345678', '01012345678'],
    ['+86 10 12345678', '01012345678'],
    ['+86 (21) 6123-4567', '02161234567'],
    ['+86 400 123 4567', '4001234567'],
    ['+1 212 555 0100', '0012125550100'],
    ['110', '110'],
    ['+86 10086', '10086'],
  ])('%s → %s', (raw, want) => expect(toNationalNumber(raw)).toBe(want));

  it.each(['', 'abc', '12', '+', '138001380001380013800138', '1380013800x'])('rejects %j', (raw) => {
    expect(toNationalNumber(raw)).toBeNull();
  });
});

describe('list files', () => {
  it('text: comments, blanks, prefixes, CRLF; bad lines counted with the first line number', async () => {
    const dir = await tempDir();
    const file = join(dir, 'l.txt');
    await writeFile(file, '# header comment\r\n13800138000\r\n\r\n+86 139 0000 1111  # complained\r\nnot-a-number\r\n010-12345678');
    const b = new NumberSetBuilder();
    const r = await loadListFile(file, { path: 'l.txt' }, b);
    expect(r).toMatchObject({ numbers: 3, invalid: 1, firstInvalid: { line: 5, text: 'not-a-number' } });
    const s = await b.build();
    expect(['13800138000', '13900001111', '01012345678'].every((n) => s.has(n))).toBe(true);
  });

  it('CSV: BOM, header row, named column (Chinese header), quoted fields', async () => {
    const dir = await tempDir();
    const file = join(dir, 'complaints.csv');
    await writeFile(file, '\ufeff日期,"客户, 备注",号码\n2024-05-01,"张三, 投诉",13800138000\n2024-05-02,李四,"+86 139 0000 2222"\n');
    const b = new NumberSetBuilder();
    expect(await loadListFile(file, { path: 'complaints.csv', column: '号码' }, b)).toMatchObject({ numbers: 2, invalid: 0 });
    const s = await b.build();
    expect(s.has('13800138000') && s.has('13900002222')).toBe(true);

    const first = join(dir, 'first.csv');
    await writeFile(first, 'phone,name\n13800138000,a\n13800138001,b\n');
    const b2 = new NumberSetBuilder();
    expect(await loadListFile(first, { path: 'first.csv' }, b2)).toMatchObject({ numbers: 2, invalid: 0 }); // header skipped
    await expect(loadListFile(first, { path: 'first.csv', column: 'mobile' }, new NumberSetBuilder())).rejects.toThrow(/column "mobile" is not in the header/);
  });

  it('a list file referenced by the config: missing file is an error at the reference', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'blacklist.yaml', ['- lists/global.txt', '- lists/globl.txt']);
    const r = await load(dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toMatchObject([{ file: 'blacklist.yaml', field: 'blacklist.files[0]', message: 'cannot read list file lists/globl.txt (ENOENT)' }]);
  });

  it('1,000,000 numbers load in a few seconds and are enforced through the config', async () => {
    const dir = await exampleCopy();
    const lines: string[] = ['# generated'];
    for (let i = 0; i < 1_000_000; i++) lines.push(String(13_000_000_000 + i * 7));
    await writeFile(join(dir, 'lists', 'big.txt'), `${lines.join('\n')}\n`);
    await edit(dir, 'blacklist.yaml', ['- lists/global.txt', '- lists/global.txt\n    - lists/big.txt']);
    const t0 = performance.now();
    const r = await load(dir);
    const ms = performance.now() - t0;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const bl = r.snapshot.blacklist.exact;
    expect(bl.size).toBe(1_000_000 + 4);
    expect(ms).toBeLessThan(5000);
    expect(bl.has('13000000000')).toBe(true);
    expect(bl.has(String(13_000_000_000 + 999_999 * 7))).toBe(true);
    expect(bl.has('13000000001')).toBe(false);
    expect(bl.has('13800138002')).toBe(true); // from global.txt, written with +86
    console.log(`1M-number config load: ${ms.toFixed(0)} ms`);
  });
});
