import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { LedgerError, type ArrearsAlert, type LowBalanceAlert } from '../../src/ledger/types.js';
import { accountKeys, beijingMonth } from '../../src/ledger/keys.js';

const YUAN = 10_000;
let redis: RedisInstance;
let client: Redis;
let ledger: Ledger;
const alerts: LowBalanceAlert[] = [];
let seq = 0;
const T0 = Date.UTC(2025, 2, 10, 2, 0, 0); // 2025-03-10 10:00 Beijing

async function account(opts: { balance?: number; prepaidTotal?: number; monthlyFees?: number; validUntil?: number } = {}): Promise<string> {
  const id = `t${++seq}`;
  await ledger.createAccount(id, { tenant: 'ten1', prepaidTotal: opts.prepaidTotal, monthlyFees: opts.monthlyFees, validUntil: opts.validUntil });
  if (opts.balance) await ledger.topUp(id, 'init', opts.balance, 'opening', T0);
  return id;
}

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
  ledger = new Ledger(client, { instanceId: 'i1', onAlert: (a) => alerts.push(a) });
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

describe('accounts', () => {
  it('creates once, reads back, changes status', async () => {
    const id = await account();
    expect(await ledger.createAccount(id, { tenant: 'other' })).toEqual({ created: false });
    expect(await ledger.getAccount(id)).toMatchObject({ id, tenant: 'ten1', status: 'active', balance: 0, reserved: 0 });
    await ledger.setStatus(id, 'suspended');
    expect((await ledger.getAccount(id))?.status).toBe('suspended');
    expect(await ledger.getAccount('nobody')).toBeNull();
    await expect(ledger.topUp('nobody', 'x', 1)).rejects.toMatchObject({ code: 'NO_ACCOUNT' });
  });

  it('keeps all keys of an account under one hash tag', () => {
    const k = accountKeys('42');
    for (const key of [k.account, k.reservations, k.entries, k.history, k.settlement('c'), k.usage('2025-01')]) {
      expect(key.startsWith('{acct:42}:')).toBe(true);
    }
  });
});

describe('top-up and adjust', () => {
  it('a retried top-up credits once and returns the original result', async () => {
    const id = await account();
    const first = await ledger.topUp(id, 'pay-1', 100 * YUAN, 'bank transfer', T0);
    const again = await ledger.topUp(id, 'pay-1', 100 * YUAN, 'bank transfer', T0 + 5);
    expect(first).toMatchObject({ balanceAfter: 100 * YUAN, duplicate: false });
    expect(again).toMatchObject({ balanceAfter: 100 * YUAN, duplicate: true });
    await Promise.all(Array.from({ length: 20 }, () => ledger.topUp(id, 'pay-2', 5 * YUAN)));
    expect((await ledger.getAccount(id))?.balance).toBe(105 * YUAN);
    const h = await ledger.history(id);
    expect(h.map((e) => [e.id, e.type, e.amount, e.balanceAfter])).toEqual([
      ['pay-2', 'topup', 5 * YUAN, 105 * YUAN], ['pay-1', 'topup', 100 * YUAN, 100 * YUAN],
    ]);
    expect(h[1]).toMatchObject({ note: 'bank transfer', time: T0 });
  });

  it('adjust may be negative but never below zero', async () => {
    const id = await account({ balance: 10 * YUAN });
    expect(await ledger.adjust(id, 'a1', -4 * YUAN, 'goodwill reversal')).toMatchObject({ balanceAfter: 6 * YUAN });
    const err = await ledger.adjust(id, 'a2', -7 * YUAN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerError);
    expect(err).toMatchObject({ code: 'INSUFFICIENT_BALANCE', available: 6 * YUAN });
    expect((err as Error).message).toMatch(/below zero/);
    // not recorded: the same id works once funds allow
    await ledger.topUp(id, 'p', 1 * YUAN);
    expect(await ledger.adjust(id, 'a2', -7 * YUAN)).toMatchObject({ balanceAfter: 0, duplicate: false });
    expect(await ledger.adjust(id, 'a3', 2 * YUAN)).toMatchObject({ balanceAfter: 2 * YUAN });
    // nor below what live calls hold
    await ledger.reserve(id, 'c1', { min: 1, max: 15_000 }, T0);
    await expect(ledger.adjust(id, 'a4', -10_000)).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE', available: 5_000 });
  });

  it('rejects non-integer money', async () => {
    const id = await account();
    await expect(ledger.topUp(id, 'x', 1.5)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(ledger.topUp(id, 'x', -1)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(ledger.settle(id, 'c', 0.1, 'cdr')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('reserve, extend, settle, release', () => {
  it('grants min(available, max), denies below min with the available amount, idempotent per call', async () => {
    const id = await account({ balance: 5_000 });
    expect(await ledger.reserve(id, 'c1', { min: 1_300, max: 2_600 }, T0)).toEqual({ ok: true, granted: 2_600, total: 2_600, available: 2_400, existing: false });
    expect(await ledger.reserve(id, 'c1', { min: 1_300, max: 2_600 }, T0 + 1)).toMatchObject({ ok: true, granted: 2_600, existing: true });
    expect(await ledger.reserve(id, 'c2', { min: 1_300, max: 2_600 }, T0)).toMatchObject({ ok: true, granted: 2_400 });
    expect(await ledger.reserve(id, 'c3', { min: 1_300, max: 2_600 }, T0)).toEqual({ ok: false, reason: 'INSUFFICIENT_BALANCE', available: 0 });
    const acc = await ledger.getAccount(id);
    expect(acc).toMatchObject({ balance: 5_000, reserved: 5_000, available: 0 });
    expect((await ledger.reservations(id)).map((r) => [r.callId, r.granted, r.instance]).sort()).toEqual([['c1', 2_600, 'i1'], ['c2', 2_400, 'i1']]);
    // denied calls leave no live-index entry
    const index = await ledger.liveIndex(id);
    expect(index.has('c3')).toBe(false);
    expect(index.get('c1')).toBe(T0 + 1);
    expect(await client.sismember(ledger.liveAccountsKey, id)).toBe(1);
  });

  it('extends in chunks and shares the balance between calls', async () => {
    const id = await account({ balance: 5_200 });
    await ledger.reserve(id, 'a', { min: 1_300, max: 1_300 }, T0);
    await ledger.reserve(id, 'b', { min: 1_300, max: 1_300 }, T0);
    expect(await ledger.extend(id, 'a', { min: 1_300, max: 2_600 }, T0 + 50_000)).toMatchObject({ ok: true, granted: 2_600, total: 3_900 });
    expect(await ledger.extend(id, 'b', { min: 1_300, max: 2_600 }, T0 + 50_000)).toMatchObject({ ok: false, reason: 'INSUFFICIENT_BALANCE', available: 0, total: 1_300 });
    expect(await ledger.extend(id, 'zz', { min: 1, max: 1 }, T0)).toMatchObject({ ok: false, reason: 'NO_RESERVATION' });
    const s = await ledger.settle(id, 'a', 2_600, 'cdr-a', T0);
    expect(s).toMatchObject({ debited: 2_600, balanceAfter: 2_600, released: 1_300, shortfall: 0 });
    expect(await ledger.extend(id, 'b', { min: 1_300, max: 2_600 }, T0 + 60_000)).toMatchObject({ ok: true, granted: 1_300, total: 2_600 });
  });

  it('settles exactly the cost, releases the rest; settling twice changes nothing', async () => {
    const id = await account({ balance: 10_000 });
    await ledger.reserve(id, 'c', { min: 1_300, max: 7_800 }, T0);
    const s1 = await ledger.settle(id, 'c', 2_600, 'cdr-1', T0 + 90_000);
    expect(s1).toMatchObject({ debited: 2_600, balanceAfter: 7_400, released: 5_200, shortfall: 0, alreadySettled: false, kind: 'settle' });
    const s2 = await ledger.settle(id, 'c', 5_000, 'cdr-other', T0 + 99_000);
    expect(s2).toEqual({ ...s1, alreadySettled: true });
    expect(await ledger.release(id, 'c')).toMatchObject({ debited: 2_600, alreadySettled: true });
    expect(await ledger.getAccount(id)).toMatchObject({ balance: 7_400, reserved: 0, credits: 10_000, debits: 2_600 });
    expect(await ledger.reserve(id, 'c', { min: 1, max: 10 }, T0)).toMatchObject({ ok: false, reason: 'SETTLED' });
    expect(await ledger.usage(id, beijingMonth(T0))).toBe(2_600);
    expect((await ledger.history(id, 1))[0]).toMatchObject({ id: 'call:c', type: 'call', amount: -2_600, balanceAfter: 7_400, note: 'cdr-1' });
  });

  it('a cost above the reservation debits the reservation and reports the shortfall', async () => {
    const id = await account({ balance: 2_000 });
    await ledger.reserve(id, 'c', { min: 1_300, max: 1_300 }, T0);
    expect(await ledger.settle(id, 'c', 2_600, 'cdr', T0)).toMatchObject({ debited: 1_300, shortfall: 1_300, balanceAfter: 700 });
    expect(await ledger.settle(id, 'never-reserved', 1_300, 'cdr', T0)).toMatchObject({ debited: 0, shortfall: 1_300, noReservation: true, balanceAfter: 700 });
  });

  it('release gives everything back', async () => {
    const id = await account({ balance: 2_000 });
    await ledger.reserve(id, 'c', { min: 1_300, max: 1_300 }, T0);
    expect(await ledger.release(id, 'c', T0)).toMatchObject({ debited: 0, released: 1_300, balanceAfter: 2_000, kind: 'release' });
    expect(await ledger.getAccount(id)).toMatchObject({ reserved: 0, available: 2_000 });
    expect((await ledger.liveIndex(id)).has('c')).toBe(false);
  });

  it('refuses suspended, closed, not yet valid and expired accounts inside the script', async () => {
    const id = await account({ balance: 2_000 });
    await ledger.setStatus(id, 'suspended');
    expect(await ledger.reserve(id, 'c', { min: 1, max: 1 }, T0)).toMatchObject({ ok: false, reason: 'SUSPENDED' });
    await ledger.setStatus(id, 'closed');
    expect(await ledger.reserve(id, 'c', { min: 1, max: 1 }, T0)).toMatchObject({ ok: false, reason: 'CLOSED' });
    await ledger.setStatus(id, 'active');
    await ledger.updateAccount(id, { validFrom: T0 + 1000, validUntil: T0 + 2000 });
    expect(await ledger.reserve(id, 'c', { min: 1, max: 1 }, T0)).toMatchObject({ ok: false, reason: 'NOT_YET_VALID' });
    expect(await ledger.reserve(id, 'c', { min: 1, max: 1 }, T0 + 2000)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(await ledger.reserve(id, 'c', { min: 1, max: 1 }, T0 + 1500)).toMatchObject({ ok: true });
  });

  it('heartbeat keeps the first answer time and the last-seen time', async () => {
    const id = await account({ balance: 2_000 });
    await ledger.reserve(id, 'c', { min: 1, max: 100 }, T0, 'tariff=telesales');
    expect(await ledger.heartbeat(id, 'c', T0 + 10_000, T0 + 4_000)).toMatchObject({ ok: true, answeredAt: T0 + 4_000 });
    expect(await ledger.heartbeat(id, 'c', T0 + 20_000, T0 + 9_000)).toMatchObject({ ok: true, answeredAt: T0 + 4_000 });
    expect(await ledger.heartbeat(id, 'c', T0 + 15_000)).toMatchObject({ ok: true });
    const [r] = await ledger.reservations(id);
    expect(r).toMatchObject({ answeredAt: T0 + 4_000, lastHeartbeat: T0 + 20_000, startedAt: T0, meta: 'tariff=telesales' });
    expect((await ledger.liveIndex(id)).get('c')).toBe(T0 + 20_000);
    expect(await ledger.heartbeat(id, 'nope', T0)).toEqual({ ok: false, reason: 'NO_RESERVATION' });
  });

  it('charges pay what is available and leave the rest as arrears, paid first by the next top-up', async () => {
    const id = await account({ balance: 3_000 });
    await ledger.reserve(id, 'c', { min: 1_000, max: 1_000 }, T0);
    const c = await ledger.charge(id, 'fee-1', 'rent', 5_000, 'rent');
    expect(c).toMatchObject({ paid: -2_000, arrears: 3_000, balanceAfter: 1_000, duplicate: false });
    expect(await ledger.charge(id, 'fee-1', 'rent', 5_000)).toMatchObject({ duplicate: true, arrears: 3_000 });
    await ledger.settle(id, 'c', 1_000, 'cdr', T0);
    const t = await ledger.topUp(id, 'p', 10_000);
    expect(t).toMatchObject({ arrearsPaid: 3_000, balanceAfter: 7_000 });
    expect(await ledger.getAccount(id)).toMatchObject({ balance: 7_000, arrears: 0, credits: 13_000, debits: 6_000 });
  });
});

describe('expiry (003 §7, 002 §3.11)', () => {
  it('forfeits the unused balance once; live reservations forfeit what they release', async () => {
    const until = T0 + 3600_000;
    const id = await account({ balance: 10_000, validUntil: until });
    expect(await ledger.forfeitIfExpired(id, until - 1)).toMatchObject({ expired: false, forfeited: 0 });
    await ledger.reserve(id, 'live', { min: 1_300, max: 2_600 }, until - 60_000);
    expect(await ledger.forfeitIfExpired(id, until)).toMatchObject({ expired: true, forfeited: 7_400, balanceAfter: 2_600 });
    expect(await ledger.forfeitIfExpired(id, until + 1)).toMatchObject({ expired: true, forfeited: 0, balanceAfter: 2_600, alreadyForfeited: true });
    expect(await ledger.reserve(id, 'new', { min: 1, max: 1 }, until + 5)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(await ledger.extend(id, 'live', { min: 1, max: 1 }, until + 5)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    expect(await ledger.settle(id, 'live', 1_300, 'cdr', until + 10)).toMatchObject({ debited: 1_300, balanceAfter: 0 });
    const acc = await ledger.getAccount(id);
    expect(acc).toMatchObject({ balance: 0, reserved: 0, credits: 10_000, debits: 10_000 });
    expect((await ledger.history(id)).filter((e) => e.type === 'forfeit').map((e) => e.amount)).toEqual([-1_300, -7_400]);
    // renewal: new period, new money is not touched by the old forfeit
    await ledger.updateAccount(id, { validUntil: until + 86_400_000 });
    await ledger.topUp(id, 'renew', 5_000);
    expect(await ledger.reserve(id, 'n2', { min: 1, max: 100 }, until + 10)).toMatchObject({ ok: true });
    expect(await ledger.release(id, 'n2', until + 11)).toMatchObject({ balanceAfter: 5_000 });
  });
});

describe('low-balance alert (003 §2.2)', () => {
  it('fires once per crossing below 10% of the prepaid total, re-armed by a top-up', async () => {
    const id = await account({ balance: 10_000, prepaidTotal: 10_000 });
    alerts.length = 0;
    const stream0 = await client.xlen(ledger.alertStreamKey);
    const call = async (cid: string, cost: number) => {
      await ledger.reserve(id, cid, { min: 1, max: cost }, T0);
      return ledger.settle(id, cid, cost, 'cdr', T0);
    };
    expect((await call('c1', 8_000)).alert).toBeUndefined(); // 2000 = 20%
    const s = await call('c2', 1_100); // 900 < 1000
    expect(s.alert).toMatchObject({ account: id, balance: 900, reason: 'BELOW_10_PERCENT' });
    expect((await call('c3', 100)).alert).toBeUndefined();
    expect((await ledger.settle(id, 'c2', 1_100, 'cdr')).alert).toBeUndefined(); // idempotent replay
    await ledger.topUp(id, 'p1', 50); // still low: not re-armed
    expect((await call('c4', 50)).alert).toBeUndefined();
    await ledger.topUp(id, 'p2', 5_000); // 5800: above → re-armed
    expect((await call('c5', 4_900)).alert).toMatchObject({ balance: 900 });
    expect(alerts.map((a) => a.balance)).toEqual([900, 900]);
    expect(await client.xlen(ledger.alertStreamKey)).toBe(stream0 + 2);
    const [[, fields]] = (await client.xrevrange(ledger.alertStreamKey, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    expect(fields).toEqual(expect.arrayContaining(['account', id, 'balance', '900', 'type', 'low-balance']));
  });

  it('fires below one month of fees, also after a charge', async () => {
    const id = await account({ balance: 50_000, monthlyFees: 42_000 });
    const r = await ledger.charge(id, 'rent', 'rent', 10_000);
    expect(r.alert).toMatchObject({ reason: 'BELOW_MONTHLY_FEES', balance: 40_000 });
  });
});

describe('arrears episodes (001 §6)', () => {
  it('the charge that creates arrears stamps the episode and alerts once; the account cannot reserve until paid', async () => {
    const seen: ArrearsAlert[] = [];
    const l = new Ledger(client, { instanceId: 'i2', onArrears: (a) => seen.push(a) });
    const id = await account({ balance: 1_000 });
    const r = await l.charge(id, 'rent-1', 'rent', 5_000, 'rent', T0 + 1);
    expect(r).toMatchObject({ paid: -1_000, arrears: 4_000, arrearsAlerts: [{ type: 'tenant-suspended', account: id, tenant: 'ten1', arrears: 4_000, since: T0 + 1, entry: 'rent-1' }] });
    // a second unpaid charge in the same episode neither restamps nor alerts
    expect((await l.charge(id, 'cmp-1', 'complaint', 2_000, '', T0 + 2)).arrearsAlerts).toBeUndefined();
    expect((await l.charge(id, 'rent-1', 'rent', 5_000)).arrearsAlerts).toBeUndefined(); // duplicate
    expect(await l.getAccount(id)).toMatchObject({ arrears: 6_000, arrearsSince: T0 + 1, lateFeeArrears: 0 });
    expect(seen.map((a) => a.type)).toEqual(['tenant-suspended']);
    const onStream = await client.xrange(l.alertStreamKey, '-', '+');
    expect(onStream.filter(([, f]) => f.includes('tenant-suspended') && f.includes(id))).toHaveLength(1);
    // money on the balance does not lift a suspension: the arrears must be paid
    await l.adjust(id, 'gift', 10_000, 'goodwill', T0 + 3);
    expect(await l.reserve(id, 'c1', { min: 100, max: 100 }, T0 + 4)).toMatchObject({ ok: false, reason: 'SUSPENDED' });
    // a top-up pays the arrears first and ends the episode
    const paid = await l.topUp(id, 'pay-1', 1, 'bank', T0 + 5);
    expect(paid).toMatchObject({ arrearsPaid: 6_000 });
    expect(await l.getAccount(id)).toMatchObject({ arrears: 0, arrearsSince: null, balance: 4_001 });
    expect(await l.reserve(id, 'c2', { min: 100, max: 100 }, T0 + 6)).toMatchObject({ ok: true });
  });

  it('late fees: refused when the arrears changed since they were reckoned; unpaid fees bear no fee; payments go to fees owed first', async () => {
    const seen: ArrearsAlert[] = [];
    const l = new Ledger(client, { instanceId: 'i3', onArrears: (a) => seen.push(a) });
    const id = await account();
    await l.charge(id, 'rent', 'rent', 100_000, '', T0);
    const on = { principal: 100_000, since: T0 };
    const first = await l.chargeLateFee(id, 'latefee:2025-03-10', 300, on, 'day 1', T0 + 86_400_000);
    expect(first).toMatchObject({ arrears: 300, arrearsAlerts: [{ type: 'late-fee', fee: 300, arrears: 100_300, since: T0 }] });
    const second = await l.chargeLateFee(id, 'latefee:2025-03-11', 300, on, 'day 2', T0 + 2 * 86_400_000);
    expect(second).toMatchObject({ arrears: 300 });
    expect('arrearsAlerts' in second && second.arrearsAlerts).toBeFalsy(); // the first late fee alerts, not every one
    expect(await l.getAccount(id)).toMatchObject({ arrears: 100_600, lateFeeArrears: 600, lateFees: 2 });
    // a partial payment pays the fees owed first: the principal drops, the unpaid late fees stay
    await l.topUp(id, 'part', 40_000, '', T0 + 3 * 86_400_000);
    expect(await l.getAccount(id)).toMatchObject({ arrears: 60_600, lateFeeArrears: 600, arrearsSince: T0 });
    // a fee reckoned on the old principal is refused, nothing recorded
    expect(await l.chargeLateFee(id, 'latefee:2025-03-12', 300, on, '', T0 + 3 * 86_400_000)).toEqual({ stale: true, principal: 60_000, since: T0 });
    expect(await l.getAccount(id)).toMatchObject({ arrears: 60_600 });
    // a payment larger than the principal eats into the late fees
    await l.topUp(id, 'part2', 60_100, '', T0 + 4 * 86_400_000);
    expect(await l.getAccount(id)).toMatchObject({ arrears: 500, lateFeeArrears: 500 });
    await l.topUp(id, 'rest', 500, '', T0 + 5 * 86_400_000);
    expect(await l.getAccount(id)).toMatchObject({ arrears: 0, lateFeeArrears: 0, lateFees: 0, arrearsSince: null });
    expect(seen.map((a) => a.type)).toEqual(['tenant-suspended', 'late-fee']);
  });

  it('closes once, only in the episode it was decided on; a closed account cannot reserve', async () => {
    const seen: ArrearsAlert[] = [];
    const l = new Ledger(client, { instanceId: 'i4', onArrears: (a) => seen.push(a) });
    const id = await account({ balance: 5_000 });
    await l.charge(id, 'rent', 'rent', 10_000, '', T0);
    expect(await l.closeForArrears(id, T0 - 1, 'wrong episode', T0 + 10)).toEqual({ closed: false, changed: false });
    const c = await l.closeForArrears(id, T0, 'closed after 30 days', T0 + 30 * 86_400_000);
    expect(c).toMatchObject({ closed: true, changed: true, alert: { type: 'tenant-closed', arrears: 5_000, since: T0 } });
    expect(await l.closeForArrears(id, T0, 'again', T0 + 31 * 86_400_000)).toEqual({ closed: true, changed: false });
    expect(await l.getAccount(id)).toMatchObject({ status: 'closed', closedAt: T0 + 30 * 86_400_000 });
    expect((await l.history(id, 1))[0]).toMatchObject({ type: 'closure', amount: 0, balanceAfter: 0, note: 'closed after 30 days' });
    // paying the arrears does not reopen it
    await l.topUp(id, 'pay', 20_000, '', T0 + 32 * 86_400_000);
    expect(await l.reserve(id, 'c', { min: 1, max: 1 }, T0 + 32 * 86_400_000)).toMatchObject({ ok: false, reason: 'CLOSED' });
    expect(seen.map((a) => a.type)).toEqual(['tenant-suspended', 'tenant-closed']);
  });

  it('adopts arrears recorded before episodes were stamped, once', async () => {
    const id = await account();
    await client.hset(accountKeys(id).account, 'arrears', '700');
    const a = await ledger.adoptArrears(id, T0);
    expect(a).toMatchObject({ type: 'tenant-suspended', arrears: 700, since: T0 });
    expect(await ledger.adoptArrears(id, T0 + 5)).toBeNull();
    expect(await ledger.getAccount(id)).toMatchObject({ arrearsSince: T0 });
  });
});
