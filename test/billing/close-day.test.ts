// The daily close against a real redis-server with an injected clock (001 §6): a late fee for
// every day in arrears, the same day closed twice charges once, closure on day 30, each step
// alerted once, payments lift the suspension and stop the fees, and a payment landing between the
// reading and the charging of a fee makes the fee be reckoned again.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDay, DayNotOverError, endOfDay } from '../../src/billing/close-day.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { ArrearsAlert, EntryResult, Money } from '../../src/ledger/types.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const ZONE = 'Asia/Shanghai';
const SINCE = Date.parse('2026-12-01T00:10:00+08:00');
const RENT: Money = 2_520_000; // six numbers at 420 yuan
const FEE: Money = 7_560; // 3‰ of 2520 yuan
const DAY_MS = 86_400_000;

/** 2026-12-01 + (n − 1) days, and the moment just after it ends (when the cron would run). */
const dayN = (n: number): string => new Date(Date.UTC(2026, 11, n)).toISOString().slice(0, 10);
const after = (day: string): number => endOfDay(day, ZONE) + 5 * 60_000;

let redis: RedisInstance;
let client: Redis;
let ledger: Ledger;
const alerts: ArrearsAlert[] = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  ledger = new Ledger(client, { instanceId: 'close-day', onArrears: (a) => alerts.push(a) });
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

async function indebted(acct: string, tenant: string, balance: Money = 0): Promise<void> {
  await ledger.createAccount(acct, { tenant });
  if (balance) await ledger.topUp(acct, 'deposit', balance, '', SINCE - DAY_MS);
  await ledger.charge(acct, 'rent:2026-11', 'rent', RENT + balance, 'rent 2026-11', SINCE);
}

describe('closeDay', () => {
  it('walks 30 days in arrears: a fee a day (a re-run charges nothing), closure on day 30, each step alerted once', async () => {
    await indebted('walk', 'tw');
    await ledger.createAccount('clean', { tenant: 'tc' });
    const accounts = [{ tenant: 'tw', account: 'walk' }, { tenant: 'tc', account: 'clean' }, { tenant: 'tx', account: 'missing' }];
    expect(alerts.filter((a) => a.account === 'walk').map((a) => a.type)).toEqual(['tenant-suspended']);

    await expect(closeDay(ledger, '2026-12-01', accounts, { now: Date.parse('2026-12-01T23:59:00+08:00'), zone: ZONE })).rejects.toBeInstanceOf(DayNotOverError);
    const before = await closeDay(ledger, '2026-11-30', accounts, { now: after('2026-11-30'), zone: ZONE });
    expect(before.map((o) => [o.account, o.dayOfArrears, o.lateFee, o.missingAccount])).toEqual([
      ['walk', null, null, false], ['clean', null, null, false], ['missing', null, null, true]]);

    for (let n = 1; n <= 29; n++) {
      const [walk, clean] = await closeDay(ledger, dayN(n), accounts, { now: after(dayN(n)), zone: ZONE });
      expect(walk).toMatchObject({ dayOfArrears: n, lateFee: { entryId: `latefee:${dayN(n)}`, amount: FEE }, closed: false });
      expect(walk!.lateFeeResult).toMatchObject({ duplicate: false, arrears: FEE });
      expect(clean).toMatchObject({ dayOfArrears: null, lateFee: null });
      if (n === 3) {
        // the cron ran twice (or two admins did): nothing more is charged, no alert again
        const again = await closeDay(ledger, dayN(3), accounts, { now: after(dayN(3)) + 60_000, zone: ZONE });
        expect(again[0]!.lateFeeResult).toMatchObject({ duplicate: true });
        expect(again[0]!.alerts).toEqual([]);
      }
    }
    expect(await ledger.getAccount('walk')).toMatchObject({ status: 'active', arrears: RENT + 29 * FEE, lateFeeArrears: 29 * FEE, lateFees: 29 });

    const [day30] = await closeDay(ledger, dayN(30), accounts, { now: after(dayN(30)), zone: ZONE });
    expect(day30).toMatchObject({ dayOfArrears: 30, lateFee: { amount: FEE }, closed: true, closedNow: true });
    expect(day30!.alerts.map((a) => a.type)).toEqual(['tenant-closed']);
    const rerun = await closeDay(ledger, dayN(30), accounts, { now: after(dayN(30)) + 1, zone: ZONE });
    expect(rerun[0]).toMatchObject({ closed: true, closedNow: false, lateFee: null, alerts: [] });
    const day31 = await closeDay(ledger, dayN(31), accounts, { now: after(dayN(31)), zone: ZONE });
    expect(day31[0]).toMatchObject({ lateFee: null, detail: 'closed: no late fee' });

    const acct = await ledger.getAccount('walk');
    expect(acct).toMatchObject({ status: 'closed', arrears: RENT + 30 * FEE, balance: 0, closedAt: after(dayN(30)) });
    const hist = await ledger.history('walk', 100);
    expect(hist.filter((e) => e.type === 'latefee')).toHaveLength(30);
    expect(hist.filter((e) => e.type === 'latefee').every((e) => e.arrears === FEE && e.amount === 0)).toBe(true);
    expect(hist[0]).toMatchObject({ type: 'closure', id: `closure:${SINCE}` });
    expect(alerts.filter((a) => a.account === 'walk').map((a) => a.type)).toEqual(['tenant-suspended', 'late-fee', 'tenant-closed']);
    // ...and the same three on the alert stream, once each
    const stream = await client.xrange(ledger.alertStreamKey, '-', '+');
    const types = stream.map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])))
      .filter((f) => f.account === 'walk').map((f) => f.type);
    expect(types).toEqual(['tenant-suspended', 'late-fee', 'tenant-closed']);
  });

  it('a partial payment lowers the next fee; paying everything ends the fees', async () => {
    await indebted('payer', 'tp', 1_000_000);
    const acc = [{ tenant: 'tp', account: 'payer' }];
    expect((await ledger.getAccount('payer'))!.arrears).toBe(RENT);
    await closeDay(ledger, dayN(1), acc, { now: after(dayN(1)), zone: ZONE });
    await ledger.topUp('payer', 'part', 1_000_000, '', after(dayN(1)) + 1);
    const [d2] = await closeDay(ledger, dayN(2), acc, { now: after(dayN(2)), zone: ZONE });
    expect(d2!.lateFee).toMatchObject({ principal: RENT - 1_000_000, amount: 4_560 });
    await ledger.topUp('payer', 'rest', 2_000_000, '', after(dayN(2)) + 1);
    expect(await ledger.getAccount('payer')).toMatchObject({ arrears: 0, arrearsSince: null, balance: 2_000_000 - (RENT - 1_000_000) - FEE - 4_560 });
    const [d3] = await closeDay(ledger, dayN(3), acc, { now: after(dayN(3)), zone: ZONE });
    expect(d3).toMatchObject({ dayOfArrears: null, lateFee: null, detail: 'no arrears' });
  });

  it('reckons the fee again when a payment lands between reading the arrears and charging the fee', async () => {
    await indebted('racer', 'tr');
    const other = new Ledger(redis.client(), { instanceId: 'payer' });
    let paid = false;
    // The other instance's payment arrives right before this instance's charge reaches Redis.
    class RacedLedger extends Ledger {
      override async chargeLateFee(...args: Parameters<Ledger['chargeLateFee']>): ReturnType<Ledger['chargeLateFee']> {
        if (!paid) {
          paid = true;
          await other.topUp('racer', 'mid-close', 520_000, 'paid during the close', args[5]);
        }
        return super.chargeLateFee(...args);
      }
    }
    const raced = new RacedLedger(client, { instanceId: 'close-day-2' });
    const [r] = await closeDay(raced, dayN(1), [{ tenant: 'tr', account: 'racer' }], { now: after(dayN(1)), zone: ZONE });
    expect(r!.lateFee).toMatchObject({ principal: 2_000_000, amount: 6_000 });
    expect((r!.lateFeeResult as EntryResult).arrears).toBe(6_000);
    expect((await raced.getAccount('racer'))!.arrears).toBe(2_006_000);
    (other.redis as Redis).disconnect();
  });
});
