// `dialgate complaint add`: a verified complaint (004 §10.3) deducts 1000 yuan (default) once per
// complaint id, and the complaining number joins the tenant's do-not-call list. Config files are
// the admin's interface, so the number is appended to the tenant's list file named in the config;
// the running server's config watcher reloads it. Both steps are idempotent, so a failed run can
// simply be repeated.
import { appendFile, open } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { COMPLAINT_DEDUCTION, deductComplaint } from '../../billing/complaint.js';
import { formatYuan } from '../../config/money.js';
import { toNationalNumber } from '../../config/national.js';
import type { ConfigSnapshot, Tenant } from '../../config/types.js';
import { Ledger } from '../../ledger/ledger.js';
import { normalizeNumber } from '../../numbers/normalize.js';
import { blacklistMatch } from '../../policy/blacklist.js';
import { formatTime, parseMoneyArg } from '../explain.js';
import { cliAlerts, reportFailedAlerts } from './alerts.js';
import { defaultConfigDir, loadSnapshot, printJson, redisUrlOf, UserError, withRedis, EXIT } from './common.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

/** The national form the policy compares with, which the list-file reader also produces. */
export function complaintNumber(raw: string): string {
  const n = normalizeNumber(raw);
  const national = n.ok ? n.number.national : toNationalNumber(raw);
  if (!national || toNationalNumber(national) !== national) throw new UserError(`"${raw}" is not a phone number`);
  return national;
}

/** The tenant list file a complaint number goes to: the first plain-text file (or --list). */
export function dncFileOf(cfg: ConfigSnapshot, tenant: Tenant, chosen?: string): { rel: string; abs: string } {
  const text = tenant.blacklist.files.filter((f) => !/\.csv$/i.test(f));
  const rel = chosen ?? text[0];
  if (chosen !== undefined && !tenant.blacklist.files.includes(chosen)) {
    throw new UserError(`--list ${chosen} is not a do-not-call file of tenant ${tenant.id} (its files: ${tenant.blacklist.files.join(', ') || 'none'})`);
  }
  if (rel === undefined) {
    throw new UserError(`tenant ${tenant.id} references no plain-text do-not-call file, so the number cannot join its list; `
      + `add \`files: [lists/${tenant.id}-dnc.txt]\` under the tenant's blacklist (and create the file), then re-run (nothing was charged)`, EXIT.negative);
  }
  if (/\.csv$/i.test(rel)) throw new UserError(`--list ${rel} is a CSV file; complaint numbers are appended to a plain-text list`);
  return { rel, abs: isAbsolute(rel) ? rel : resolve(cfg.sourceDir, rel) };
}

/** Appends "number  # complaint …" on a line of its own (adds a missing final newline first). */
async function appendNumber(path: string, number: string, comment: string): Promise<void> {
  let prefix = '';
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
  } finally {
    await fh.close();
  }
  await appendFile(path, `${prefix}${number}  # ${comment.replace(/[\r\n]/g, ' ')}\n`, 'utf8');
}

export function registerComplaint(program: Command, run: Run): void {
  const complaint = program.command('complaint').description('verified complaints (12321): deduction and do-not-call');
  complaint
    .command('add')
    .description('deduct a verified complaint (1000 yuan default, once per --id) and add the number to the tenant\'s do-not-call list file')
    .requiredOption('--tenant <id>', 'tenant the complaint is against')
    .requiredOption('--number <number>', 'the complaining number')
    .requiredOption('--id <complaint-id>', 'complaint id (idempotency: a re-run never deducts twice)')
    .option('--amount <yuan>', 'deduction in yuan', formatYuan(COMPLAINT_DEDUCTION))
    .option('--list <file>', 'which of the tenant\'s list files to append to (default the first plain-text one)')
    .option('-c, --config <dir>', 'config directory (tenant, its account and list files)', defaultConfigDir())
    .option('--redis <url>', 'Redis URL (or DIALGATE_REDIS_URL)')
    .option('--note <text>', 'note kept in the ledger history')
    .option('--json', 'machine-readable output')
    .action((o: { tenant: string; number: string; id: string; amount: string; list?: string; config: string; redis?: string; note?: string; json?: boolean }) => run(async () => {
      if (!o.id.trim()) throw new UserError('--id must not be empty');
      const amount = parseMoneyArg(o.amount, '--amount');
      const url = redisUrlOf(o.redis)!;
      const cfg = await loadSnapshot(o.config);
      const tenant = cfg.tenants.get(o.tenant);
      if (!tenant) throw new UserError(`no tenant ${o.tenant} in ${o.config} (tenants: ${[...cfg.tenants.keys()].join(', ')})`);
      const number = complaintNumber(o.number);
      const file = dncFileOf(cfg, tenant, o.list);

      // The do-not-call entry first: it matters for compliance even if the charge fails.
      const listed = blacklistMatch(tenant.blacklist, number);
      let listAction: 'appended' | 'already-listed';
      if (listed) {
        listAction = 'already-listed';
      } else {
        try {
          await appendNumber(file.abs, number, `complaint ${o.id} ${formatTime(Date.now())}`);
        } catch (e) {
          throw new UserError(`cannot append to ${file.abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was charged`, EXIT.failure);
        }
        listAction = 'appended';
      }
      const alerts = cliAlerts(cfg);
      const r = await withRedis(url, (redis) => deductComplaint(new Ledger(redis, { instanceId: 'dialgate-cli', ...alerts.ledger }), {
        complaintId: o.id, account: tenant.account, tenant: tenant.id, number, amount, ...(o.note ? { note: o.note } : {}),
      }));
      const res = r.result;
      if (o.json) {
        printJson({ complaintId: o.id, tenant: tenant.id, account: tenant.account, number, duplicate: res.duplicate, amountYuan: formatYuan(amount),
          paidYuan: formatYuan(-res.paid), arrearsYuan: formatYuan(res.arrears), balanceAfterYuan: formatYuan(res.balanceAfter),
          blacklist: { action: listAction, file: file.rel, ...(listed ? { matched: listed } : {}) } });
      } else {
        process.stdout.write(res.duplicate
          ? `duplicate: complaint ${o.id} was already deducted from ${tenant.account}; nothing charged\n`
          : `deducted ${formatYuan(-res.paid)} yuan from ${tenant.account} for complaint ${o.id}; balance ${formatYuan(res.balanceAfter)} yuan${res.arrears ? `; ${formatYuan(res.arrears)} yuan unpaid is now arrears` : ''}\n`);
        process.stdout.write(listAction === 'appended'
          ? `added ${number} to tenant ${tenant.id}'s do-not-call list ${file.rel}; a running server reloads it\n`
          : `${number} is already on tenant ${tenant.id}'s do-not-call list (${listed}); list unchanged\n`);
        if (res.arrearsAlerts?.some((a) => a.type === 'tenant-suspended')) process.stdout.write(`alert: account ${tenant.account} is in arrears: suspended until paid (001 §6)\n`);
      }
      reportFailedAlerts(await alerts.flush());
      return EXIT.ok;
    }));
}
