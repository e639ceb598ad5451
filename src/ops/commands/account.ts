// `dialgate account create|show|topup|adjust|history`: prepaid ledger accounts (issue 4 §1).
// Money is typed in yuan and converted exactly by the config module's parser; every top-up and
// adjustment carries an entry id (--id) so that a retried command never credits twice.
import type { Command } from 'commander';
import { formatYuan } from '../../config/money.js';
import { Ledger } from '../../ledger/ledger.js';
import type { Account, AccountStatus, EntryResult, HistoryEntry } from '../../ledger/types.js';
import { formatTime, parseMoneyArg, parseTime } from '../explain.js';
import { intArg, printJson, redisUrlOf, UserError, withRedis, EXIT } from './common.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

interface RedisOpt { redis?: string; json?: boolean }

function ledgerAt<T>(o: RedisOpt, fn: (ledger: Ledger) => Promise<T>): Promise<T> {
  return withRedis(redisUrlOf(o.redis)!, (redis) => fn(new Ledger(redis, { instanceId: 'dialgate-cli' })));
}

const yuan = (m: number): string => formatYuan(m);

export function accountJson(a: Account): Record<string, unknown> {
  return {
    id: a.id, tenant: a.tenant, status: a.status,
    balanceYuan: yuan(a.balance), reservedYuan: yuan(a.reserved), availableYuan: yuan(a.available),
    prepaidTotalYuan: yuan(a.prepaidTotal), monthlyFeesYuan: yuan(a.monthlyFees), arrearsYuan: yuan(a.arrears),
    arrearsSince: a.arrearsSince ? formatTime(a.arrearsSince) : null, lateFeeArrearsYuan: yuan(a.lateFeeArrears),
    closedAt: a.closedAt ? formatTime(a.closedAt) : null,
    creditsYuan: yuan(a.credits), debitsYuan: yuan(a.debits),
    validFrom: a.validFrom ? formatTime(a.validFrom) : null, validUntil: a.validUntil ? formatTime(a.validUntil) : null,
    units: { balance: a.balance, reserved: a.reserved, available: a.available, arrears: a.arrears },
  };
}

function entryLine(verb: string, acct: string, id: string, r: EntryResult): string {
  if (r.duplicate) return `duplicate: entry ${id} was already applied to ${acct}; nothing changed (balance after it: ${yuan(r.balanceAfter)} yuan)`;
  const parts = [`${verb} ${yuan(Math.abs(r.paid))} yuan ${r.paid < 0 ? 'from' : 'to'} ${acct} (entry ${id}); balance ${yuan(r.balanceAfter)} yuan`];
  if (r.arrearsPaid) parts.push(`arrears paid ${yuan(r.arrearsPaid)} yuan`);
  if (r.arrears) parts.push(`unpaid ${yuan(r.arrears)} yuan is now arrears`);
  if (r.alert) parts.push(`low-balance alert: ${r.alert.reason}`);
  return parts.join('; ');
}

function entryJson(acct: string, id: string, r: EntryResult): Record<string, unknown> {
  return { account: acct, entryId: id, duplicate: r.duplicate, type: r.type, amountYuan: yuan(r.amount), paidYuan: yuan(r.paid),
    arrearsYuan: yuan(r.arrears), arrearsPaidYuan: yuan(r.arrearsPaid), balanceAfterYuan: yuan(r.balanceAfter), ...(r.alert ? { alert: r.alert } : {}) };
}

function historyJson(h: HistoryEntry): Record<string, unknown> {
  return { time: formatTime(h.time), id: h.id, type: h.type, amountYuan: yuan(h.amount), balanceAfterYuan: yuan(h.balanceAfter),
    ...(h.arrears ? { arrearsYuan: yuan(h.arrears) } : {}), note: h.note };
}

const STATUSES: readonly AccountStatus[] = ['active', 'suspended', 'closed'];

export function registerAccount(program: Command, run: Run): void {
  const account = program.command('account').description('prepaid accounts in Redis: create, show, topup, adjust, status, history');
  const redisOpt = (c: Command) => c.option('--redis <url>', 'Redis URL (or DIALGATE_REDIS_URL)').option('--json', 'machine-readable output');

  redisOpt(account.command('create')
    .description('create a prepaid account with balance 0 (no-op if it exists)')
    .argument('<account>', 'account id (the tenant\'s `account` in tenants.yaml)')
    .requiredOption('--tenant <id>', 'owner tenant')
    .option('--prepaid-total <yuan>', 'prepaid total of the current package (low-balance alert below 10%)')
    .option('--monthly-fees <yuan>', 'one month of recurring fees (low-balance alert below it)')
    .option('--valid-from <time>', 'service start (ISO date/time, Beijing time without offset)')
    .option('--valid-until <time>', 'service end: unused balance is forfeited after it')
    .option('--status <status>', 'active | suspended | closed', 'active'))
    .action((acct: string, o: RedisOpt & { tenant: string; prepaidTotal?: string; monthlyFees?: string; validFrom?: string; validUntil?: string; status: string }) => run(async () => {
      if (!STATUSES.includes(o.status as AccountStatus)) throw new UserError(`--status must be one of ${STATUSES.join(', ')}`);
      const init = {
        tenant: o.tenant, status: o.status as AccountStatus,
        ...(o.prepaidTotal !== undefined ? { prepaidTotal: parseMoneyArg(o.prepaidTotal, '--prepaid-total') } : {}),
        ...(o.monthlyFees !== undefined ? { monthlyFees: parseMoneyArg(o.monthlyFees, '--monthly-fees') } : {}),
        ...(o.validFrom !== undefined ? { validFrom: parseTime(o.validFrom) } : {}),
        ...(o.validUntil !== undefined ? { validUntil: parseTime(o.validUntil) } : {}),
      };
      const { created } = await ledgerAt(o, (l) => l.createAccount(acct, init));
      if (o.json) printJson({ account: acct, created });
      else process.stdout.write(created ? `created account ${acct} (tenant ${o.tenant}), balance 0.00 yuan\n` : `account ${acct} already exists; unchanged\n`);
      return EXIT.ok;
    }));

  redisOpt(account.command('show')
    .description('show balance, reservations, arrears and validity of an account')
    .argument('<account>', 'account id'))
    .action((acct: string, o: RedisOpt) => run(async () => {
      const a = await ledgerAt(o, (l) => l.getAccount(acct));
      if (!a) throw new UserError(`no account ${acct}; create it with \`dialgate account create ${acct} --tenant T\``, EXIT.negative);
      printJson(accountJson(a));
      return EXIT.ok;
    }));

  for (const [name, verb, desc] of [
    ['topup', 'credited', 'credit a top-up in yuan, once per --id (a retry with the same id changes nothing)'],
    ['adjust', 'adjusted', 'signed correction in yuan (e.g. -5.00), once per --id; never below what live calls hold'],
  ] as const) {
    redisOpt(account.command(name)
      .description(desc)
      .argument('<account>', 'account id')
      .argument('<yuan>', name === 'topup' ? 'amount in yuan, e.g. 100 or 0.13' : 'signed amount in yuan, e.g. 20 or -5.5')
      .requiredOption('--id <entry-id>', 'idempotency id of this entry (e.g. the payment reference)')
      .option('--note <text>', 'note kept in the ledger history', ''))
      .action((acct: string, amountText: string, o: RedisOpt & { id: string; note: string }) => run(async () => {
        if (!o.id.trim()) throw new UserError('--id must not be empty');
        const amount = parseMoneyArg(amountText, 'amount', name === 'adjust');
        if (name === 'topup' && amount === 0) throw new UserError('a top-up must be more than 0 yuan');
        const r = await ledgerAt(o, (l) => (name === 'topup' ? l.topUp(acct, o.id, amount, o.note) : l.adjust(acct, o.id, amount, o.note)));
        if (o.json) printJson(entryJson(acct, o.id, r));
        else process.stdout.write(`${entryLine(verb, acct, o.id, r)}\n`);
        return EXIT.ok;
      }));
  }

  redisOpt(account.command('status')
    .description('set an account active, suspended or closed (e.g. reopen one closed for arrears, 001 §6); arrears still suspend it until paid')
    .argument('<account>', 'account id')
    .argument('<status>', STATUSES.join(' | ')))
    .action((acct: string, status: string, o: RedisOpt) => run(async () => {
      if (!STATUSES.includes(status as AccountStatus)) throw new UserError(`status must be one of ${STATUSES.join(', ')}: ${status}`);
      const a = await ledgerAt(o, async (l) => {
        if (!(await l.getAccount(acct))) throw new UserError(`no account ${acct}`, EXIT.negative);
        await l.setStatus(acct, status as AccountStatus);
        return (await l.getAccount(acct))!;
      });
      if (o.json) printJson(accountJson(a));
      else {
        process.stdout.write(`account ${acct} is now ${a.status}\n`);
        if (a.arrears > 0) process.stdout.write(`it owes ${yuan(a.arrears)} yuan arrears: calls stay refused (tenant-suspended) until a top-up pays them\n`);
      }
      return EXIT.ok;
    }));

  redisOpt(account.command('history')
    .description('ledger entries of an account, newest first')
    .argument('<account>', 'account id')
    .option('--limit <n>', 'how many entries', '50'))
    .action((acct: string, o: RedisOpt & { limit: string }) => run(async () => {
      const limit = intArg(o.limit, '--limit', 1);
      const [a, h] = await ledgerAt(o, (l) => Promise.all([l.getAccount(acct), l.history(acct, limit)]));
      if (!a) throw new UserError(`no account ${acct}`, EXIT.negative);
      if (o.json) {
        printJson(h.map(historyJson));
      } else {
        for (const e of h) {
          process.stdout.write(`${formatTime(e.time)}  ${e.type.padEnd(9)} ${yuan(e.amount).padStart(12)}  balance ${yuan(e.balanceAfter).padStart(12)}  ${e.id}${e.note ? `  ${e.note}` : ''}\n`);
        }
        if (h.length === 0) process.stdout.write(`no entries for ${acct}\n`);
      }
      return EXIT.ok;
    }));
}
