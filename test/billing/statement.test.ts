// Monthly statement: the pure builder and its renderers, and the ledger adapter against a real
// redis-server (month boundaries by the entries' own times, history read back in pages).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatement, emptyCallTotals, type AccountSource, type StatementSource } from '../../src/billing/statement.js';
import { minutesOf, statementCsv, statementHtml, statementText } from '../../src/billing/statement-render.js';
import { monthRange, readAccountMonth } from '../../src/billing/statement-source.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { HistoryEntry } from '../../src/ledger/types.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const ZONE = 'Asia/Shanghai';
const DEC = monthRange('2026-12', ZONE);

let n = 0;
function entry(type: string, amount: number, balanceAfter: number, time: number, arrears?: number): HistoryEntry {
  return { streamId: `${++n}-0`, id: `${type}:${n}`, type, amount, balanceAfter, time, note: `${type} note`, ...(arrears ? { arrears } : {}) };
}

function source(accounts: AccountSource[], o: Partial<StatementSource> = {}): StatementSource {
  return {
    tenant: { id: 'telesales', name: '电销<公司>' }, month: '2026-12', zone: ZONE, ...DEC, generatedAt: DEC.to + 1,
    calls: { outbound: { attempts: 3, answered: 2, billableSeconds: 95, billedSeconds: 180, cost: 3_900 }, inbound: emptyCallTotals() },
    cdrCostByAccount: { telesales: 3_900 }, accounts, ...o,
  };
}

describe('buildStatement (pure)', () => {
  const t = (d: number) => DEC.from + d * 86_400_000;
  // Opening 100 yuan; rent 420 (100 paid, 320 arrears); a 1000-yuan top-up pays the arrears;
  // two calls; a 1000-yuan complaint takes the 679.61 left (320.39 arrears); a late fee; closure.
  const entries = [
    entry('rent', -1_000_000, 0, t(0), 3_200_000),
    entry('topup', 10_000_000, 10_000_000, t(1)),
    entry('arrears', -3_200_000, 6_800_000, t(1)),
    entry('call', -1_300, 6_798_700, t(2)),
    entry('call', -2_600, 6_796_100, t(2)),
    entry('complaint', -6_796_100, 0, t(3), 3_203_900),
    entry('latefee', 0, 0, t(4), 9_611),
    entry('closure', 0, 0, t(5)),
  ];
  const acct: AccountSource = {
    account: 'telesales', kind: 'prepaid', label: 'tenant telesales',
    before: entry('topup', 1_000_000, 1_000_000, DEC.from - 1), entries,
    after: { count: 1, amount: 50_000, arrears: -50_000 }, now: { balance: 50_000, arrears: 3_203_900 + 9_611 - 50_000 },
  };

  it('opening + credits − debits = closing, by line, with arrears incurred and paid', () => {
    const s = buildStatement(source([acct]));
    const a = s.accounts[0]!;
    expect(a).toMatchObject({ openingBalance: 1_000_000, credits: 10_000_000, debits: 11_000_000, closingBalance: 0,
      openingArrears: 0, arrearsIncurred: 3_200_000 + 3_203_900 + 9_611, arrearsPaid: 3_200_000, closingArrears: 3_213_511 });
    expect(a.creditLines.map((l) => [l.key, l.count, l.amount])).toEqual([['topup', 1, 10_000_000]]);
    expect(a.debitLines.map((l) => [l.key, l.count, l.amount, l.unpaid])).toEqual([
      ['call', 2, 3_900, 0], ['rent', 1, 1_000_000, 3_200_000], ['complaint', 1, 6_796_100, 3_203_900],
      ['latefee', 1, 0, 9_611], ['arrears', 1, 3_200_000, 0]]);
    expect(a.events).toEqual([{ time: t(5), type: 'closure', note: 'closure note' }]);
    expect(a.calls).toEqual({ ledgerEntries: 2, ledgerCost: 3_900, cdrCost: 3_900, difference: 0 });
    expect(a.checks).toEqual({ balance: true, ledger: true, arrears: true });
    expect(s).toMatchObject({ complete: true, reconciled: true, totals: { openingBalance: 1_000_000, closingBalance: 0, closingArrears: 3_213_511 } });
  });

  it('catches a history that does not add up, or that does not chain to the balance now', () => {
    const broken = { ...acct, entries: entries.map((e, i) => (i === 3 ? { ...e, amount: -1_299 } : e)) };
    const s = buildStatement(source([broken]));
    expect(s.accounts[0]!.checks.balance).toBe(false);
    expect(s.reconciled).toBe(false);
    const drift = buildStatement(source([{ ...acct, now: { ...acct.now, balance: 50_001 } }]));
    expect(drift.accounts[0]!.checks).toMatchObject({ balance: true, ledger: false });
    expect(drift.reconciled).toBe(false);
  });

  it('an account without entries in the month carries its balance; a new one opens at zero', () => {
    const quiet = buildStatement(source([{ ...acct, entries: [], after: { count: 0, amount: 0, arrears: 0 }, now: { balance: 1_000_000, arrears: 0 } }], { generatedAt: DEC.to - 1 }));
    expect(quiet.accounts[0]).toMatchObject({ openingBalance: 1_000_000, closingBalance: 1_000_000, credits: 0, debits: 0, creditLines: [], debitLines: [] });
    expect(quiet).toMatchObject({ complete: false, reconciled: true });
    const fresh = buildStatement(source([{ ...acct, before: null, entries: [entry('topup', 500, 500, DEC.from)], after: { count: 0, amount: 0, arrears: 0 }, now: { balance: 500, arrears: 0 } }]));
    expect(fresh.accounts[0]).toMatchObject({ openingBalance: 0, closingBalance: 500, checks: { balance: true, ledger: true, arrears: true } });
  });

  it('CSV: one row per figure, exact units, re-adds to the closing balance; formula text stays text', () => {
    const s = buildStatement(source([acct]));
    const csv = statementCsv(s, { bom: true });
    expect(csv.startsWith('\ufefftenant,month,account,section,item,item_zh,item_en,count,seconds,amount_yuan,unpaid_yuan,amount_units,unpaid_units\r\n')).toBe(true);
    const rows = csv.slice(1).trimEnd().split('\r\n').slice(1).map((l) => l.split(','));
    const units = (section: string) => rows.filter((r) => r[2] === 'telesales' && r[3] === section).reduce((x, r) => x + Number(r[11]), 0);
    expect(units('opening') + units('credit') - units('debit')).toBe(units('closing'));
    expect(rows.find((r) => r[3] === 'debit' && r[4] === 'rent')).toEqual(['telesales', '2026-12', 'telesales', 'debit', 'rent', '号码月租', 'Number rent', '1', '', '100.0000', '320.0000', '1000000', '3200000']);
    expect(rows.at(-1)).toEqual(['telesales', '2026-12', '', 'check', 'reconciled', '与账本一致', 'reconciled with the ledger', '', '', '', '', '', '']);
    const evil = statementCsv(buildStatement(source([{ ...acct, entries: entries.map((e) => (e.type === 'closure' ? { ...e, note: '=HYPERLINK("x")' } : e)) }])));
    expect(evil).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('HTML: Chinese first, English second, escaped, with the reconciliation line', () => {
    const html = statementHtml(buildStatement(source([acct])));
    expect(html).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
    expect(html).toContain('月度账单 <span class="en">Monthly statement</span>');
    expect(html).toContain('电销&lt;公司&gt; (telesales)');
    expect(html).not.toContain('电销<公司>');
    expect(html).toContain('100.0000 + 1000.0000 − 1100.0000 = 0.0000');
    expect(html).toContain('与账本一致，精确到 0.0001 元');
    expect(html).toContain('欠费违约金 <span class="en">Late fees</span>');
    expect(html).toContain('欠费满30日，账户终止');
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(statementText(buildStatement(source([acct])))).toMatch(/reconciled with the ledger to the unit/);
  });

  it('minutes are exact to the hundredth, by integer arithmetic', () => {
    expect(minutesOf(0)).toBe('0.00');
    expect(minutesOf(90)).toBe('1.50');
    expect(minutesOf(100)).toBe('1.67');
    expect(minutesOf(3_600)).toBe('60.00');
  });
});

describe('readAccountMonth (Redis)', () => {
  let redis: RedisInstance;
  let client: Redis;
  let ledger: Ledger;
  beforeAll(async () => {
    redis = await startRedis();
    client = redis.client();
    ledger = new Ledger(client, { instanceId: 'st' });
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('picks the month by the entries\' times, reading back in pages, and reconciles with the balance', async () => {
    await ledger.createAccount('busy', { tenant: 't' });
    const nov = DEC.from - 3_600_000;
    await ledger.topUp('busy', 'nov', 5_000_000, '', nov);
    // 2,400 entries in December: more than two pages of history
    for (let i = 0; i < 1_200; i++) {
      await ledger.topUp('busy', `d${i}`, 10, '', DEC.from + i * 1_000);
      await ledger.charge('busy', `c${i}`, 'rent', 7, '', DEC.from + i * 1_000 + 500);
    }
    // January entries come after; one stamped a moment before midnight by a slow clock is applied
    // after a January one: December runs to it (the newest entry stamped in December), so that
    // January entry is on December's statement and not on January's — consecutive statements
    // cover the history exactly once.
    await ledger.topUp('busy', 'jan1', 1_000, '', DEC.to + 10);
    await ledger.topUp('busy', 'late', 1, '', DEC.to - 5);
    await ledger.topUp('busy', 'jan2', 1_000, '', DEC.to + 20);
    const src = (await readAccountMonth(ledger, { account: 'busy', kind: 'prepaid', label: 'x' }, DEC.from, DEC.to))!;
    expect(src.before).toMatchObject({ id: 'nov', balanceAfter: 5_000_000 });
    expect(src.entries).toHaveLength(2_402);
    expect(src.entries[0]!.id).toBe('d0');
    expect(src.entries.slice(-2).map((e) => e.id)).toEqual(['jan1', 'late']);
    expect(src.after).toEqual({ count: 1, amount: 1_000, arrears: 0 });
    const s = buildStatement(source([src], { cdrCostByAccount: {} }));
    expect(s.accounts[0]).toMatchObject({ openingBalance: 5_000_000, credits: 13_001, debits: 8_400, closingBalance: 5_004_601 });
    expect(s.reconciled).toBe(true);
    expect(s.accounts[0]!.closingBalance + src.after.amount).toBe((await ledger.getAccount('busy'))!.balance);
    const jan = monthRange('2027-01', ZONE);
    const janSrc = (await readAccountMonth(ledger, { account: 'busy', kind: 'prepaid', label: 'x' }, jan.from, jan.to))!;
    expect(janSrc.before!.id).toBe('late');
    expect(janSrc.entries.map((e) => e.id)).toEqual(['jan2']);
    expect(janSrc.before!.balanceAfter).toBe(s.accounts[0]!.closingBalance);
    expect(await readAccountMonth(ledger, { account: 'nobody', kind: 'prepaid', label: 'x' }, DEC.from, DEC.to)).toBeNull();
  });
});
