// `dialgate billing close-month YYYY-MM`: number rent (003 §1) and 400 minimums (002 §2.4).
// Inputs from the config: each tenant's numbers (its caller-id pool and the seats' bound numbers,
// which are numbers it owns and rents). 400 packages are not in the config yet (400 issue); until
// then no minimum is charged.
// `dialgate billing close-day [YYYY-MM-DD]`: late fees and closure of accounts in arrears (001 §6).
// `dialgate billing statement TENANT YYYY-MM`: the monthly statement, as text, CSV or HTML.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { CLOSE_AFTER_DAYS, LATE_FEE_PER_MILLE } from '../../billing/arrears.js';
import { closeDay, DayNotOverError, type DayAccount } from '../../billing/close-day.js';
import { closeMonth, planMonthClose, type TenantNumbers } from '../../billing/close-month.js';
import { buildStatement } from '../../billing/statement.js';
import { statementCsv, statementHtml, statementText } from '../../billing/statement-render.js';
import { readStatementSource, StatementInputError } from '../../billing/statement-source.js';
import { formatYuan } from '../../config/money.js';
import type { ConfigSnapshot } from '../../config/types.js';
import { Ledger } from '../../ledger/ledger.js';
import { DEFAULT_TIME_ZONE } from '../../time/schedule.js';
import { localDate } from '../../time/zone.js';
import { parseMoneyArg, parseTime } from '../explain.js';
import { cliAlerts, reportFailedAlerts } from './alerts.js';
import { defaultConfigDir, loadSnapshot, printJson, redisUrlOf, UserError, withRedis, EXIT } from './common.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

export function tenantNumbers(cfg: ConfigSnapshot): TenantNumbers[] {
  return [...cfg.tenants.values()].map((t) => {
    const seatNumbers = [...cfg.seats.values()].filter((s) => s.tenant === t.id && s.callerId).map((s) => s.callerId!);
    return { tenant: t.id, account: t.account, numbers: [...new Set([...t.callerIdPool, ...seatNumbers])].sort() };
  });
}

/** Every ledger account the daily close looks at: tenants' accounts and their 400 package accounts. */
export function dayAccounts(cfg: ConfigSnapshot): DayAccount[] {
  return [
    ...[...cfg.tenants.values()].map((t) => ({ tenant: t.id, account: t.account })),
    ...[...(cfg.plans400?.values() ?? [])].map((p) => ({ tenant: p.owner, account: p.account })),
  ];
}

const zoneOf = (cfg: ConfigSnapshot): string => cfg.server.timezone || DEFAULT_TIME_ZONE;

export function registerBilling(program: Command, run: Run): void {
  const billing = program.command('billing').description('recurring charges (close-month), arrears (close-day), statements');
  billing
    .command('close-month')
    .description('charge number rent and 400 monthly minimums for a month; idempotent (a re-run charges nothing twice)')
    .argument('<month>', 'YYYY-MM (Beijing time)')
    .option('-c, --config <dir>', 'config directory (tenants, their numbers and accounts)', defaultConfigDir())
    .option('--redis <url>', 'Redis URL (or DIALGATE_REDIS_URL)')
    .option('--rent <yuan>', 'rent per number per month', '420')
    .option('--dry-run', 'print the charges without applying them')
    .option('--json', 'machine-readable output')
    .action((month: string, o: { config: string; redis?: string; rent: string; dryRun?: boolean; json?: boolean }) => run(async () => {
      if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) throw new UserError(`month must be YYYY-MM, e.g. 2026-11: ${month}`);
      const cfg = await loadSnapshot(o.config);
      const inputs = { numbers: tenantNumbers(cfg), packages: [], rentPerNumber: parseMoneyArg(o.rent, '--rent') };
      if (o.dryRun) {
        const plan = planMonthClose(month, { ...inputs, usage: {} });
        if (o.json) printJson(plan.map((c) => ({ ...c, amountYuan: formatYuan(c.amount) })));
        else {
          for (const c of plan) process.stdout.write(`would charge ${c.account} ${formatYuan(c.amount)} yuan ${c.type} (${c.entryId})\n`);
          process.stdout.write(`${plan.length} charge(s), ${formatYuan(plan.reduce((s, c) => s + c.amount, 0))} yuan (dry run, nothing applied)\n`);
        }
        return EXIT.ok;
      }
      const alerts = cliAlerts(cfg);
      const applied = await withRedis(redisUrlOf(o.redis)!, async (redis) => {
        const ledger = new Ledger(redis, { instanceId: 'dialgate-cli', ...alerts.ledger });
        // Check every account first, so a missing one stops the close before anything is charged.
        const missing: string[] = [];
        for (const t of inputs.numbers) if (t.numbers.length && !(await ledger.getAccount(t.account))) missing.push(`${t.account} (tenant ${t.tenant})`);
        if (missing.length) throw new UserError(`no ledger account ${missing.join(', ')}; create it with \`dialgate account create\` first`, EXIT.negative);
        return closeMonth(ledger, month, inputs);
      });
      if (o.json) {
        printJson(applied.map((c) => ({ account: c.account, entryId: c.entryId, type: c.type, amountYuan: formatYuan(c.amount), duplicate: c.result.duplicate,
          paidYuan: formatYuan(-c.result.paid), arrearsYuan: formatYuan(c.result.arrears), balanceAfterYuan: formatYuan(c.result.balanceAfter) })));
      } else {
        for (const c of applied) {
          const r = c.result;
          process.stdout.write(r.duplicate
            ? `already charged: ${c.account} ${c.type} ${c.entryId}\n`
            : `charged ${c.account} ${formatYuan(c.amount)} yuan ${c.type} (${c.entryId}); balance ${formatYuan(r.balanceAfter)}${r.arrears ? `, arrears +${formatYuan(r.arrears)}` : ''}\n`);
        }
        const fresh = applied.filter((c) => !c.result.duplicate);
        process.stdout.write(`${month}: ${fresh.length} charge(s) applied, ${applied.length - fresh.length} already applied before; total ${formatYuan(fresh.reduce((s, c) => s + c.amount, 0))} yuan\n`);
        for (const a of alerts.raised) if ('type' in a && a.type === 'tenant-suspended') process.stdout.write(`alert: account ${String(a.account)} is in arrears: suspended until paid (001 §6)\n`);
      }
      reportFailedAlerts(await alerts.flush());
      return EXIT.ok;
    }));

  billing
    .command('close-day')
    .description(`late fees (${LATE_FEE_PER_MILLE}‰ of the arrears a day) and closure after ${CLOSE_AFTER_DAYS} days in arrears (001 §6); idempotent`)
    .argument('[day]', 'YYYY-MM-DD, a day that is over (default: yesterday, in the config\'s time zone)')
    .option('-c, --config <dir>', 'config directory (tenants and 400 plans: their accounts; alerts webhook)', defaultConfigDir())
    .option('--redis <url>', 'Redis URL (or DIALGATE_REDIS_URL)')
    .option('--at <time>', 'run as if now were this time (replaying missed days, tests); default now')
    .option('--json', 'machine-readable output')
    .action((dayArg: string | undefined, o: { config: string; redis?: string; at?: string; json?: boolean }) => run(async () => {
      const cfg = await loadSnapshot(o.config);
      const zone = zoneOf(cfg);
      const now = o.at !== undefined ? parseTime(o.at, zone) : Date.now();
      const day = dayArg ?? localDate(zone, now - 86_400_000);
      if (!/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(day)) throw new UserError(`day must be YYYY-MM-DD, e.g. 2026-11-30: ${day}`);
      const alerts = cliAlerts(cfg);
      const outcomes = await withRedis(redisUrlOf(o.redis)!, async (redis) => {
        const ledger = new Ledger(redis, { instanceId: 'dialgate-cli', ...alerts.ledger });
        try {
          return await closeDay(ledger, day, dayAccounts(cfg), { now, zone });
        } catch (e) {
          if (e instanceof DayNotOverError || (e instanceof Error && /^(day must be|no such day)/.test(e.message))) throw new UserError(e.message);
          throw e;
        }
      });
      const failed = await alerts.flush();
      if (o.json) {
        printJson({ day, accounts: outcomes.map((r) => ({
          account: r.account, tenant: r.tenant, dayOfArrears: r.dayOfArrears, detail: r.detail, missingAccount: r.missingAccount,
          lateFee: r.lateFee ? { entryId: r.lateFee.entryId, amount: r.lateFee.amount, amountYuan: formatYuan(r.lateFee.amount), duplicate: r.lateFeeResult?.duplicate ?? false } : null,
          closed: r.closed, closedNow: r.closedNow, alerts: r.alerts,
        })) });
      } else {
        for (const r of outcomes) {
          if (r.missingAccount || r.dayOfArrears === null) continue;
          const fee = r.lateFee ? (r.lateFeeResult?.duplicate ? `late fee ${r.lateFee.entryId} already charged` : `late fee ${formatYuan(r.lateFee.amount)} yuan charged`) : null;
          process.stdout.write(`${r.account} (tenant ${r.tenant}): ${r.detail}${fee ? `; ${fee}` : ''}${r.closedNow ? '; account CLOSED (001 §6(二)5)' : r.closed ? '; closed before' : ''}\n`);
        }
        for (const a of alerts.raised) process.stdout.write(`alert: ${'type' in a ? String(a.type) : 'low-balance'} ${String(a.account)}\n`);
        const inArrears = outcomes.filter((r) => r.dayOfArrears !== null).length;
        const missing = outcomes.filter((r) => r.missingAccount).map((r) => r.account);
        process.stdout.write(`${day}: ${outcomes.length} account(s) checked, ${inArrears} in arrears${missing.length ? `; no ledger account: ${missing.join(', ')}` : ''}\n`);
      }
      reportFailedAlerts(failed);
      return EXIT.ok;
    }));

  billing
    .command('statement')
    .description('monthly statement of a tenant: calls, minutes, charges, top-ups, arrears, opening and closing balance (text, --csv or --html)')
    .argument('<tenant>', 'tenant id')
    .argument('<month>', 'YYYY-MM (the config\'s time zone, Beijing by default)')
    .option('--csv', 'CSV, one row per figure (exact units beside the yuan)')
    .option('--html', 'a printable HTML page (Chinese first, English second; print to PDF from the browser)')
    .option('--bom', 'CSV starts with a UTF-8 BOM (Excel/WPS)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('-c, --config <dir>', 'config directory (the tenant, its accounts, cdr.dir)', defaultConfigDir())
    .option('--cdr-dir <dir>', 'CDR directory (default: DIALGATE_CDR_DIR, else cdr.dir of the config)')
    .option('--redis <url>', 'Redis URL (or DIALGATE_REDIS_URL)')
    .option('--at <time>', 'as if now were this time (default now); a month not over yet is marked provisional')
    .action((tenant: string, month: string, o: { csv?: boolean; html?: boolean; bom?: boolean; out?: string; config: string; cdrDir?: string; redis?: string; at?: string }) => run(async () => {
      if (o.csv && o.html) throw new UserError('choose one of --csv and --html');
      const cfg = await loadSnapshot(o.config);
      const zone = zoneOf(cfg);
      const now = o.at !== undefined ? parseTime(o.at, zone) : Date.now();
      const cdrDir = o.cdrDir ?? process.env.DIALGATE_CDR_DIR ?? cfg.server.cdr.dir;
      const statement = await withRedis(redisUrlOf(o.redis)!, async (redis) => {
        const ledger = new Ledger(redis, { instanceId: 'dialgate-cli' });
        try {
          return buildStatement(await readStatementSource(ledger, cfg, tenant, month, { cdrDir, zone, now }));
        } catch (e) {
          if (e instanceof StatementInputError) throw new UserError(e.message);
          throw e;
        }
      });
      if (statement.from > now) throw new UserError(`${month} has not begun`);
      const text = o.csv ? statementCsv(statement, { bom: !!o.bom }) : o.html ? statementHtml(statement) : statementText(statement);
      if (o.out) {
        const out = createWriteStream(o.out, { flags: 'w' });
        try {
          await once(out, 'open');
        } catch (e) {
          throw new UserError(`cannot write ${o.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        out.end(text);
        await once(out, 'finish');
        process.stderr.write(`statement ${tenant} ${month} written to ${o.out}${statement.reconciled ? '' : ' (DOES NOT RECONCILE)'}\n`);
      } else {
        process.stdout.write(text);
      }
      if (!statement.reconciled) process.stderr.write(`dialgate: the statement does not reconcile with the ledger; see its checks\n`);
      return statement.reconciled ? EXIT.ok : EXIT.negative;
    }));
}
