// dialgate command line: serve, config check, explain, account, billing ...
import { Command } from 'commander';

const program = new Command();
program.name('dialgate').description('Softswitch call-control server for outbound dialing and 400 numbers');
program
  .command('serve')
  .description('run the call-control server against drachtio-server, FreeSWITCH and Redis')
  .option('-c, --config <dir>', 'config directory', process.env.DIALGATE_CONFIG ?? 'config')
  .action(async (opts: { config: string }) => {
    const { serve } = await import('./ops/serve.js');
    await serve({ configDir: opts.config });
  });

await program.parseAsync(process.argv);
