// `dialgate stats --config DIR --number N --date YYYY-MM-DD [--json]`: caller analysis of a 400
// number for one day (002 §1.3 来电分析), from the daily CDR files under the config's cdr.dir.
import type { Command } from 'commander';
import { iterateCdrs } from '../../cdr/query.js';
import { normalizeNumber } from '../../numbers/normalize.js';
import { analyseCalls, formatAnalysis } from '../../stats/caller-analysis.js';
import { defaultConfigDir, EXIT, loadSnapshot, printJson, UserError } from './common.js';

interface StatsOpts { config?: string; number: string; date: string; json?: boolean; dir?: string }

export function registerStatsCommand(program: Command): void {
  program.command('stats')
    .description('caller analysis of a 400 number for one day: calls, answered, missed, ring and talk time, by region and hour')
    .option('-c, --config <dir>', 'config directory (its cdr.dir holds the CDRs; default DIALGATE_CONFIG or ./config)')
    .option('--dir <dir>', 'CDR directory (instead of the config\'s cdr.dir)')
    .requiredOption('--number <number>', 'the 400 number')
    .requiredOption('--date <date>', 'the day, YYYY-MM-DD (Beijing time)')
    .option('--json', 'print JSON')
    .action(async (o: StatsOpts) => {
      try {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(o.date)) throw new UserError(`--date must be YYYY-MM-DD: ${o.date}`);
        const n = normalizeNumber(o.number);
        if (!n.ok) throw new UserError(`--number is not a number: ${o.number}`);
        const configDir = o.config ?? defaultConfigDir();
        const cfg = o.dir ? null : await loadSnapshot(configDir);
        if (cfg && !cfg.plans400?.has(n.number.national)) process.stderr.write(`note: ${n.number.national} is not a 400 number of ${configDir}\n`);
        const dir = o.dir ?? cfg!.server.cdr.dir;
        const from = Date.parse(`${o.date}T00:00:00+08:00`);
        const cdrs = [];
        for await (const c of iterateCdrs(dir, { from, to: from + 86_400_000, number: n.number.national, limit: Infinity })) cdrs.push(c);
        const a = analyseCalls(cdrs, n.number.national, o.date);
        if (o.json) printJson(a);
        else process.stdout.write(formatAnalysis(a));
        process.exitCode = EXIT.ok;
      } catch (e) {
        if (e instanceof UserError) {
          process.stderr.write(`dialgate stats: ${e.message}\n${e.details ? `${e.details}\n` : ''}`);
          process.exitCode = e.exitCode;
          return;
        }
        process.stderr.write(`dialgate stats: ${(e as Error).message}\n`);
        process.exitCode = EXIT.failure;
      }
    });
}
