#!/usr/bin/env node
// dialgate command line: serve, explain, config check, account, billing, complaint, cdr, status.
import { Command, CommanderError } from 'commander';
import { commandIndex, exitCodeOf, registerCommands } from './ops/commands/index.js';

const program = new Command();
program
  .name('dialgate')
  .description('Softswitch call-control server for outbound dialing and 400 numbers')
  .showSuggestionAfterError()
  .exitOverride();
program
  .command('serve')
  .description('run the call-control server against drachtio-server, FreeSWITCH and Redis')
  .option('-c, --config <dir>', 'config directory', process.env.DIALGATE_CONFIG ?? 'config')
  .action(async (opts: { config: string }) => {
    const { serve } = await import('./ops/serve.js');
    await serve({ configDir: opts.config });
  });
registerCommands(program);
program.addHelpText('after', () => commandIndex(program));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = exitCodeOf(e);
  else throw e;
}
