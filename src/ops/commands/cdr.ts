// `dialgate cdr query|export`: search and export the daily CDR files (001 §1(二)).
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { exportCsv, queryCdrs, type CdrQuery } from '../../cdr/query.js';
import { formatYuan } from '../../config/money.js';
import { defaultConfigDir, loadSnapshot, intArg, UserError, EXIT } from './common.js';
import { parseTime } from '../explain.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

interface CdrOpts { dir?: string; config?: string; from?: string; to?: string; tenant?: string; number?: string; limit?: string; json?: boolean; out?: string; bom?: boolean }

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

async function cdrDirOf(o: CdrOpts): Promise<string> {
  if (o.dir) return o.dir;
  if (process.env.DIALGATE_CDR_DIR) return process.env.DIALGATE_CDR_DIR;
  if (o.config) return (await loadSnapshot(o.config)).server.cdr.dir;
  if (existsSync(defaultConfigDir())) return (await loadSnapshot(defaultConfigDir())).server.cdr.dir;
  throw new UserError('where are the CDRs? pass --dir DIR, --config DIR (uses its cdr.dir) or set DIALGATE_CDR_DIR');
}

/** --from/--to: ISO times; a bare date is its midnight for --from and the next midnight for --to (whole day). */
export function cdrQueryOf(o: CdrOpts): CdrQuery {
  const q: CdrQuery = {};
  if (o.from) q.from = parseTime(o.from);
  if (o.to) q.to = DATE_ONLY.test(o.to.trim()) ? parseTime(o.to) + 86_400_000 : parseTime(o.to);
  if (q.from !== undefined && q.to !== undefined && q.to <= q.from) throw new UserError('--to must be after --from');
  if (o.tenant) q.tenant = o.tenant;
  if (o.number) q.number = o.number;
  if (o.limit !== undefined) q.limit = intArg(o.limit, '--limit', 1);
  return q;
}

function filters(c: Command): Command {
  return c
    .option('--dir <dir>', 'CDR directory (default: DIALGATE_CDR_DIR, else cdr.dir of the config)')
    .option('-c, --config <dir>', 'config directory whose cdr.dir to read (default DIALGATE_CONFIG or ./config)')
    .option('--from <time>', 'invite time from (ISO; a date is its midnight, Beijing time without offset)')
    .option('--to <time>', 'invite time before (ISO; a date includes that whole day)')
    .option('--tenant <id>', 'only this tenant')
    .option('--number <number>', 'caller or callee contains these digits (+86/0086 forms match)');
}

export function registerCdr(program: Command, run: Run): void {
  const cdr = program.command('cdr').description('call records: query and export');
  filters(cdr.command('query').description('list matching CDRs (one line each, or JSON lines with --json)'))
    .option('--limit <n>', 'at most this many', '1000')
    .option('--json', 'JSON lines (one CDR per line)')
    .action((o: CdrOpts) => run(async () => {
      const rows = await queryCdrs(await cdrDirOf(o), cdrQueryOf(o));
      for (const c of rows) {
        process.stdout.write(o.json
          ? `${JSON.stringify(c)}\n`
          : `${c.inviteIso}  ${c.tenant ?? '-'}/${c.seat ?? '-'}  ${c.callerPresented ?? c.callerRaw} → ${c.calleeNormalised ?? c.calleeRaw}  ${c.decision}${c.denyReason ? ` ${c.denyReason}` : ''} ${c.sipStatus}  ${c.billableSeconds}s  ${formatYuan(c.cost)} yuan  ${c.cdrId}\n`);
      }
      if (!o.json) process.stderr.write(`${rows.length} CDR(s)\n`);
      return EXIT.ok;
    }));
  filters(cdr.command('export').description('export matching CDRs as CSV (stdout, or --out FILE)'))
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--bom', 'start with a UTF-8 BOM (Excel/WPS read Chinese names correctly)')
    .option('--limit <n>', 'at most this many')
    .action((o: CdrOpts) => run(async () => {
      const dir = await cdrDirOf(o);
      const q = cdrQueryOf(o);
      if (!o.out) {
        const n = await exportCsv(dir, q, process.stdout, { bom: !!o.bom });
        process.stderr.write(`${n} CDR(s) exported\n`);
        return EXIT.ok;
      }
      const out = createWriteStream(o.out, { flags: 'w' });
      const opened = once(out, 'open');
      try {
        await opened;
      } catch (e) {
        throw new UserError(`cannot write ${o.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const n = await exportCsv(dir, q, out, { bom: !!o.bom });
      out.end();
      await once(out, 'finish');
      process.stderr.write(`${n} CDR(s) exported to ${o.out}\n`);
      return EXIT.ok;
    }));
}
