// The admin's commands, registered on the commander program of src/cli.ts. Each action runs
// through `run`, which turns user mistakes into one-line messages and sets the exit code.
import { Command, CommanderError } from 'commander';
import { LedgerError } from '../../ledger/types.js';
import { ExplainInputError } from '../explain.js';
import { registerAccount } from './account.js';
import { registerBilling } from './billing.js';
import { registerCdr } from './cdr.js';
import { UserError, EXIT } from './common.js';
import { registerComplaint } from './complaint.js';
import { registerConfig } from './config.js';
import { registerExplain } from './explain.js';
import { registerStatsCommand } from './stats.js';
import { registerDrain, registerStatus } from './status.js';

export { UserError, EXIT } from './common.js';

function fail(message: string, code: number, details?: string): void {
  process.stderr.write(`dialgate: ${message}\n${details ? `${details}\n` : ''}`);
  process.exitCode = code;
}

/** Runs a command body; its number is the exit code. Never prints a stack for a user mistake. */
export async function run(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof UserError) fail(e.message, e.exitCode, e.details);
    else if (e instanceof ExplainInputError) fail(e.message, EXIT.usage);
    else if (e instanceof LedgerError) fail(e.message, e.code === 'BAD_ARGUMENT' ? EXIT.usage : EXIT.negative);
    else {
      const err = e as Error;
      fail(`failed: ${err?.message ?? String(e)}`, EXIT.failure, process.env.DIALGATE_DEBUG ? err?.stack : undefined);
    }
  }
}

export function registerCommands(program: Command): void {
  registerExplain(program, run);
  registerDrain(program, run);
  registerConfig(program, run);
  registerAccount(program, run);
  registerBilling(program, run);
  registerComplaint(program, run);
  registerCdr(program, run);
  registerStatus(program, run);
  registerStatsCommand(program);
}

/** Every leaf command with its arguments and one-line description, for the top-level help. */
export function commandIndex(program: Command): string {
  const rows: [string, string][] = [];
  const walk = (c: Command, prefix: string) => {
    for (const sub of c.commands) {
      const name = `${prefix} ${sub.name()}`.trim();
      if (sub.commands.length) walk(sub, name);
      else rows.push([`${name}${sub.registeredArguments.map((a) => (a.required ? ` <${a.name()}>` : ` [${a.name()}]`)).join('')}`, sub.description()]);
    }
  };
  walk(program, program.name());
  const width = Math.min(44, Math.max(...rows.map(([n]) => n.length)) + 2);
  return ['', 'All commands (`dialgate <command> --help` for options):',
    ...rows.map(([n, d]) => `  ${n.padEnd(width)}${n.length >= width ? `\n  ${' '.repeat(width)}` : ''}${d}`)].join('\n');
}

/** Commander's own errors (unknown option, missing argument) exit 2; help and version exit 0. */
export function exitCodeOf(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return err.exitCode === 0 ? 0 : EXIT.usage;
  return EXIT.usage;
}
