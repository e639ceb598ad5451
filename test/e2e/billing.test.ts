// Money the contracts ask for, end to end on the bench with a real redis-server, sipp seats and
// an injected clock (issue 14): a month close the balance cannot pay puts the tenant into arrears
// and suspends it (a seat's call gets 403 with its Reason) until a top-up pays; a new debt is
// charged 3‰ a day by the daily close (re-run through the real CLI: nothing twice) and the tenant
// is closed on the 30th day (403 "Service terminated"), each step alerted once on the webhook;
// December's statement, from the real CLI as CSV and HTML, reconciles with the ledger to the unit.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endOfDay, closeDay } from '../../src/billing/close-day.js';
import { closeMonth } from '../../src/billing/close-month.js';
import { deductComplaint } from '../../src/billing/complaint.js';
import { formatYuan as exactYuan } from '../../src/cdr/model.js';
import { formatYuan } from '../../src/config/money.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cliAlerts } from '../../src/ops/commands/alerts.js';
import { dayAccounts, tenantNumbers } from '../../src/ops/commands/billing.js';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const ZONE = 'Asia/Shanghai';
const at = (local: string): number => Date.parse(`${local}+08:00`);
const YUAN = 10_000;
const CALL = 1_300; // 0.13 yuan, one 60/60 minute
const SUSPENDED = 'cause=403 ;text=.Service suspended.';
const TERMINATED = 'cause=403 ;text=.Service terminated.';

interface Result { code: number; stdout: string; stderr: string }

/** The real `dialgate` entry point, as an admin (or cron) runs it. */
function dialgate(args: string[]): Promise<Result> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DIALGATE_'))) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'src/dialgate.js'), ...args], { cwd: ROOT, env, timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('arrears and statements on the bench (001 §6)', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunk: SippProcess | null = null;
  let hook: Server;
  const posted: Array<Record<string, unknown>> = [];
  let admin: Ledger;
  let adminRedis: ReturnType<Bench['redis']['client']>;
  let alerts: ReturnType<typeof cliAlerts>;
  /** December's closing, as the ledger held it when December ended. */
  let decClosing: { balance: number; arrears: number };

  /** A seat call at a moment of the injected clock. */
  async function callAt(local: string, status: number, expectReason?: string): Promise<void> {
    bench.clock.set(at(local));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: status, holdMs: 200, ...(expectReason ? { expectReason } : {}) });
    expect(r.exitCode, r.errors).toBe(0);
    await waitForCdrs(bench, before + 1);
  }
  const lastCdr = () => readCdrs(bench).at(-1)!;
  const ofType = (t: string) => posted.filter((a) => a.type === t);

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => { posted.push(JSON.parse(body) as Record<string, unknown>); res.writeHead(204).end(); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: '2026-11-30T10:00:00+08:00', balance: 100 * YUAN, increments: '60/60', media: 'direct', withMedia: false,
      alertWebhook: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`,
    });
    trunk = await startTrunk(ports[0], { answer: 200 });
    // The admin side, composed as `dialgate billing ...` composes it: the ledger's alerts POSTed to the config's webhook.
    alerts = cliAlerts(bench.store.current());
    adminRedis = bench.redis.client();
    admin = new Ledger(adminRedis, { instanceId: 'admin', ...alerts.ledger });
  }, 60_000);
  afterAll(async () => {
    await trunk?.stop();
    adminRedis?.disconnect();
    await bench?.stop();
    await new Promise<void>((r) => hook.close(() => r()));
  });
  afterEach(async () => {
    await alerts.flush();
  });

  it('a month close the balance cannot pay suspends the tenant (403 + Reason) until a top-up pays the arrears', async () => {
    await callAt('2026-11-30T10:00:00', 200);
    const cfg = bench.store.current();
    const numbers = tenantNumbers(cfg).find((t) => t.tenant === 'telesales')!.numbers;
    expect(numbers).toHaveLength(2); // the caller-id pool: 2 × 420 yuan rent
    await closeMonth(admin, '2026-11', { numbers: tenantNumbers(cfg), packages: [], now: at('2026-12-01T00:10:00') });
    const owed = 840 * YUAN - (100 * YUAN - CALL);
    expect(await admin.getAccount('telesales')).toMatchObject({ balance: 0, arrears: owed, arrearsSince: at('2026-12-01T00:10:00') });
    await alerts.flush();
    // one alert, at the first charge the balance could not pay (the first number's rent)
    expect(ofType('tenant-suspended')).toEqual([expect.objectContaining({ account: 'telesales', tenant: 'telesales', arrears: 420 * YUAN - (100 * YUAN - CALL),
      entry: `rent:2026-11:${numbers[0]}`, since: at('2026-12-01T00:10:00') })]);

    await callAt('2026-12-01T10:00:00', 403, SUSPENDED);
    expect(lastCdr()).toMatchObject({ decision: 'deny', denyReason: 'tenant-suspended', sipStatus: 403, cost: 0 });
    expect(lastCdr().trace[0]!.detail).toMatch(/owes 740\.13 yuan arrears since 2026-12-01/);

    // Paying less than the arrears leaves the tenant suspended; paying the rest lifts it.
    await admin.topUp('telesales', 'pay-1', 500 * YUAN, 'bank transfer', at('2026-12-01T10:05:00'));
    await callAt('2026-12-01T10:06:00', 403, SUSPENDED);
    const paid = await admin.topUp('telesales', 'pay-2', 1_000 * YUAN, 'bank transfer', at('2026-12-01T10:10:00'));
    expect(paid.arrearsPaid).toBe(owed - 500 * YUAN);
    await callAt('2026-12-01T10:11:00', 200);
    expect(lastCdr()).toMatchObject({ decision: 'allow', sipStatus: 200, cost: CALL });
  }, 60_000);

  it('a new debt: 3‰ a day from its first day (the CLI re-run charges nothing), closed on day 30, each step alerted once', async () => {
    const before = (await admin.getAccount('telesales'))!;
    const complaint = await deductComplaint(admin, { complaintId: '12321-2026-77', account: 'telesales', tenant: 'telesales', number: '13812345678',
      now: at('2026-12-02T09:00:00') });
    const owed = 1_000 * YUAN - before.balance;
    expect(complaint.result).toMatchObject({ arrears: owed, balanceAfter: 0 });
    const fee = Math.floor((owed * 3) / 1000);
    const cfg = bench.store.current();

    for (let d = 2; d <= 31; d++) {
      const day = `2026-12-${String(d).padStart(2, '0')}`;
      const now = endOfDay(day, ZONE) + 5 * 60_000; // the 00:05 cron
      if (d === 4) {
        // One day through the real CLI, then again: one fee, and no alert the second time.
        const cli = await dialgate(['billing', 'close-day', day, '--config', bench.dir, '--redis', bench.redis.url, '--at', new Date(now).toISOString()]);
        expect(cli.code, cli.stderr).toBe(0);
        expect(cli.stdout).toContain(`telesales (tenant telesales): day 3 in arrears, ${formatYuan(owed)} yuan owed + ${formatYuan(2 * fee)} yuan late fees; late fee ${formatYuan(fee)} yuan charged\n`);
        const again = await dialgate(['billing', 'close-day', day, '--config', bench.dir, '--redis', bench.redis.url, '--at', new Date(now + 60_000).toISOString(), '--json']);
        expect(again.code, again.stderr).toBe(0);
        const json = JSON.parse(again.stdout) as { accounts: Array<{ account: string; lateFee: { duplicate: boolean }; alerts: unknown[] }> };
        expect(json.accounts.find((a) => a.account === 'telesales')).toMatchObject({ lateFee: { duplicate: true }, alerts: [] });
        continue;
      }
      const [o] = await closeDay(admin, day, dayAccounts(cfg), { now, zone: ZONE });
      expect(o).toMatchObject({ account: 'telesales', dayOfArrears: d - 1, lateFee: { amount: fee }, closedNow: d === 31 });
      if (d === 10) await callAt('2026-12-10T11:00:00', 403, SUSPENDED); // still suspended while fees run
      if (d === 31) decClosing = { balance: 0, arrears: owed + 29 * fee }; // Dec 31's fee is posted by the close on Jan 1
    }
    await alerts.flush();
    expect(await admin.getAccount('telesales')).toMatchObject({ status: 'closed', arrears: owed + 30 * fee, lateFees: 30 });
    expect(ofType('tenant-suspended')).toHaveLength(2); // November's rent, then this complaint
    expect(ofType('late-fee')).toEqual([expect.objectContaining({ account: 'telesales', fee, since: at('2026-12-02T09:00:00') })]);
    expect(ofType('tenant-closed')).toEqual([expect.objectContaining({ account: 'telesales', arrears: owed + 30 * fee })]);

    await callAt('2027-01-02T10:00:00', 403, TERMINATED);
    expect(lastCdr()).toMatchObject({ denyReason: 'tenant-closed', sipStatus: 403 });
    // Paying does not reopen a closed account (the agreement ended); an admin reopens it.
    await admin.topUp('telesales', 'settle-all', 2_000 * YUAN, 'final settlement', at('2027-01-03T10:00:00'));
    await callAt('2027-01-03T10:01:00', 403, TERMINATED);
    const reopen = await dialgate(['account', 'status', 'telesales', 'active', '--redis', bench.redis.url]);
    expect(reopen.code, reopen.stderr).toBe(0);
    await callAt('2027-01-03T10:02:00', 200);
  }, 120_000);

  it('December\'s statement (calls, top-ups, rent, a complaint, late fees) reconciles with the ledger to the unit, as CSV and HTML', async () => {
    const args = ['billing', 'statement', 'telesales', '2026-12', '--config', bench.dir, '--redis', bench.redis.url, '--at', '2027-01-05T00:00:00+08:00'];
    const csv = await dialgate([...args, '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = csv.stdout.trimEnd().split('\r\n').map((l) => l.split(','));
    const cell = (section: string, item: string, col: number) => rows.find((r) => r[2] === 'telesales' && r[3] === section && r[4] === item)?.[col];
    const units = (section: string, item: string) => Number(cell(section, item, 11));
    const sum = (section: string) => rows.filter((r) => r[2] === 'telesales' && r[3] === section).reduce((x, r) => x + Number(r[11]), 0);
    // opening: November's balance after the last November entry (the call), to the unit
    expect(units('opening', 'balance')).toBe(100 * YUAN - CALL);
    expect(units('opening', 'balance') + sum('credit') - sum('debit')).toBe(units('closing', 'balance'));
    expect(units('closing', 'balance')).toBe(decClosing.balance);
    expect(units('arrears', 'closing')).toBe(decClosing.arrears);
    expect(units('credit', 'topup')).toBe(1_500 * YUAN);
    expect(units('debit', 'rent') + Number(cell('debit', 'rent', 12))).toBe(840 * YUAN); // paid + unpaid
    expect(units('debit', 'complaint') + Number(cell('debit', 'complaint', 12))).toBe(1_000 * YUAN);
    expect(Number(cell('debit', 'latefee', 7))).toBe(29);
    expect(units('debit', 'call')).toBe(CALL); // the one call answered in December
    expect(units('calls', 'ledger-cost')).toBe(units('calls', 'cdr-cost'));
    expect(rows.find((r) => r[4] === 'outbound-attempts')![7]).toBe(String(readCdrs(bench).filter((c) => c.inviteIso.startsWith('2026-12')).length));
    expect(rows.at(-1)!.slice(3, 7)).toEqual(['check', 'reconciled', '与账本一致', 'reconciled with the ledger']);
    // January opens where December closed
    const jan = await dialgate(['billing', 'statement', 'telesales', '2027-01', '--config', bench.dir, '--redis', bench.redis.url, '--at', '2027-01-05T00:00:00+08:00', '--csv']);
    expect(jan.code, jan.stderr).toBe(0);
    expect(jan.stdout).toContain(`telesales,2027-01,telesales,opening,balance,期初余额,Opening balance,,,0.0000,,0,`);

    const html = await dialgate([...args, '--html']);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toContain('月度账单 <span class="en">Monthly statement</span>');
    expect(html.stdout).toContain('与账本一致，精确到 0.0001 元');
    expect(html.stdout).toContain(`${exactYuan(100 * YUAN - CALL)} + ${exactYuan(1_500 * YUAN)} −`);
  }, 60_000);
});
