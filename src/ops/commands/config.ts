// `dialgate config check DIR`
import type { Command } from 'commander';
import { runConfigCheck } from '../../config/check.js';
import { defaultConfigDir } from './common.js';

export function registerConfig(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  const config = program.command('config').description('config directory tools (check)');
  config
    .command('check')
    .description('validate a config directory: errors with file:line and field, a summary, warnings; exit 1 on errors')
    .argument('[dir]', 'config directory', defaultConfigDir())
    .action((dir: string) => run(() => runConfigCheck(dir)));
}
