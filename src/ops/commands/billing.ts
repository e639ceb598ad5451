// `dialgate billing close-month YYYY-MM`: number rent (003 §1) and 400 minimums (002 §2.4).
// Inputs from the config: each tenant's numbers (its caller-id pool and the seats' bound numbers,
// which are numbers it owns and rents). 400 packages are not in the config yet (400 issue); until
// then no minimum is charged.
import type { Command } from 'commander';
import { closeMonth, planMonthClose, type TenantNumbers } from '../../billing/close-month.js';
import { formatYuan } from '../../config/money.js';
import type { ConfigSnapshot } from '../../config/types.js';
import { Ledger } from '../../ledger/ledger.js';
import { parseMoneyArg } from '../explain.js';
import { defaultConfigDir, loadSnapshot, printJson, redisUrlOf, UserError, withRedis, EXIT } from './common.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

export function tenantNumbers(cfg: ConfigSnapshot): TenantNumbers[] {
  return [...cfg.tenants.values()].map((t) => {
    const seatNumbers = [...cfg.seats.values()].filter((s) => s.tenant === t.id && s.callerId).map((s) => s.callerId!);
    return { tenant: t.id, account: t.account, numbers: [...new Set([...t.callerIdPool, ...seatNumbers])].sort() };
  });
}

export function registerBilling(program: Command, run: Run): void {
  const billing = program.command('billing').description('recurring charges (close-month)');
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
      const applied = await withRedis(redisUrlOf(o.redis)!, async (redis) => {
        const ledger = new Ledger(redis, { instanceId: 'dialgate-cli' });
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
      }
      return EXIT.ok;
    }));
}
