import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { closeMonth, monthlyMinimum, planMonthClose, NUMBER_RENT_PER_MONTH } from '../../src/billing/close-month.js';
import { deductComplaint, COMPLAINT_DEDUCTION } from '../../src/billing/complaint.js';

const YUAN = 10_000;
let redis: RedisInstance;
let client: Redis;
let ledger: Ledger;

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  ledger = new Ledger(client, { instanceId: 'b' });
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('planMonthClose (pure)', () => {
  const pkg = { account: 'x', total: 11_000 * YUAN, months: 12, startMonth: '2025-01' };

  it('minimum = package total / months, in whole units', () => {
    expect(monthlyMinimum(pkg)).toBe(9_166_666); // 916.6666 yuan
    expect(monthlyMinimum({ total: 12_000 * YUAN, months: 12 })).toBe(1_000 * YUAN);
  });

  it('charges rent per number (003 §1) and the minimum shortfall after the exempt first month (002 §2.4)', () => {
    const inputs = { numbers: [{ tenant: 't', account: 'x', numbers: ['4001', '4002', '4001'] }], packages: [pkg] };
    expect(planMonthClose('2025-01', { ...inputs, usage: { x: 0 } }).map((c) => [c.entryId, c.amount])).toEqual([
      ['rent:2025-01:4001', NUMBER_RENT_PER_MONTH], ['rent:2025-01:4002', NUMBER_RENT_PER_MONTH],
    ]);
    expect(planMonthClose('2025-02', { ...inputs, usage: { x: 1_000_000 } }).filter((c) => c.type === 'minimum'))
      .toEqual([expect.objectContaining({ entryId: 'minimum:2025-02', amount: 9_166_666 - 1_000_000 })]);
    expect(planMonthClose('2025-02', { ...inputs, usage: { x: 9_166_666 } }).filter((c) => c.type === 'minimum')).toEqual([]);
    expect(planMonthClose('2025-12', { ...inputs, usage: {} }).filter((c) => c.type === 'minimum')).toHaveLength(1);
    expect(planMonthClose('2026-01', { ...inputs, usage: {} }).filter((c) => c.type === 'minimum')).toEqual([]); // package over
    expect(planMonthClose('2024-12', { ...inputs, usage: {} }).filter((c) => c.type === 'minimum')).toEqual([]);
    expect(() => planMonthClose('2025-13', { ...inputs, usage: {} })).toThrow(/YYYY-MM/);
  });
});

describe('closeMonth', () => {
  it('is idempotent, first month exempt, usage from the settle counter, never overdraws', async () => {
    const acct = 'cm1';
    await ledger.createAccount(acct, { tenant: 't400' });
    await ledger.topUp(acct, 'pkg', 11_000 * YUAN);
    // a call settled on 2025-02-10 Beijing time counts towards February
    const feb = Date.UTC(2025, 1, 10, 3);
    await ledger.reserve(acct, 'call1', { min: 1, max: 100 * YUAN }, feb);
    await ledger.settle(acct, 'call1', 50 * YUAN, 'cdr1', feb);
    const inputs = {
      numbers: [{ tenant: 't400', account: acct, numbers: ['4008001234'] }],
      packages: [{ account: acct, total: 11_000 * YUAN, months: 12, startMonth: '2025-01' }],
    };
    const jan = await closeMonth(ledger, '2025-01', inputs);
    expect(jan.map((c) => [c.type, c.amount, c.result.duplicate])).toEqual([['rent', 420 * YUAN, false]]);
    const febClose = await closeMonth(ledger, '2025-02', inputs);
    expect(febClose.map((c) => [c.type, c.amount])).toEqual([['rent', 420 * YUAN], ['minimum', 9_166_666 - 50 * YUAN]]);
    const before = (await ledger.getAccount(acct))!;
    expect(before.balance).toBe(11_000 * YUAN - 50 * YUAN - 2 * 420 * YUAN - (9_166_666 - 50 * YUAN));
    // re-running (a retry, or a second instance) charges nothing more
    const again = await Promise.all([closeMonth(ledger, '2025-02', inputs), closeMonth(ledger, '2025-02', inputs)]);
    expect(again.flat().every((c) => c.result.duplicate)).toBe(true);
    expect((await ledger.getAccount(acct))!.balance).toBe(before.balance);
    // a month the balance can't pay: what is there is taken, the rest is arrears
    const poor = 'cm2';
    await ledger.createAccount(poor, { tenant: 'p' });
    await ledger.topUp(poor, 'p', 100 * YUAN);
    const [r] = await closeMonth(ledger, '2025-03', { numbers: [{ tenant: 'p', account: poor, numbers: ['01088886666'] }], packages: [] });
    expect(r!.result).toMatchObject({ paid: -100 * YUAN, arrears: 320 * YUAN, balanceAfter: 0 });
    expect(await ledger.getAccount(poor)).toMatchObject({ balance: 0, arrears: 320 * YUAN });
    expect((await ledger.history(poor, 1))[0]).toMatchObject({ id: 'rent:2025-03:01088886666', type: 'rent', amount: -100 * YUAN, arrears: 320 * YUAN });
  });
});

describe('complaint deduction (004 §10.3)', () => {
  it('deducts 1000 yuan once per complaint and returns the number for the blacklist', async () => {
    const acct = 'cp1';
    await ledger.createAccount(acct, { tenant: 'tele' });
    await ledger.topUp(acct, 'p', 1_500 * YUAN);
    const c = { complaintId: '12321-2025-0001', account: acct, tenant: 'tele', number: '13800138000' };
    const first = await deductComplaint(ledger, c);
    expect(first).toMatchObject({ result: { amount: -COMPLAINT_DEDUCTION, paid: -1_000 * YUAN, balanceAfter: 500 * YUAN, duplicate: false },
      blacklist: { tenant: 'tele', number: '13800138000' } });
    expect((await deductComplaint(ledger, c)).result).toMatchObject({ duplicate: true, balanceAfter: 500 * YUAN });
    const second = await deductComplaint(ledger, { ...c, complaintId: '12321-2025-0002' });
    expect(second.result).toMatchObject({ paid: -500 * YUAN, arrears: 500 * YUAN, balanceAfter: 0 });
  });
});
