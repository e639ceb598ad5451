// `dialgate status` and `dialgate drain`: the running server's health, and its graceful drain,
// through its ops HTTP API.
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { printJson, UserError, EXIT } from './common.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

async function urlOf(o: { url?: string; config?: string }): Promise<string> {
  if (o.url) return o.url;
  if (process.env.DIALGATE_URL) return process.env.DIALGATE_URL;
  if (o.config) {
    const r = await loadConfig(o.config);
    if (r.ok) {
      const h = r.snapshot.server.http;
      const host = h.host === '0.0.0.0' || h.host === '::' ? '127.0.0.1' : h.host;
      return `http://${host.includes(':') ? `[${host}]` : host}:${h.port}`;
    }
  }
  return 'http://127.0.0.1:8080';
}

interface OpsOptions { url?: string; config?: string; token?: string; timeout: string }

/** One request to the ops API; unreachable or 401 become one-line user errors. */
async function opsRequest(o: OpsOptions, method: 'GET' | 'POST', path: string): Promise<{ base: string; res: Response }> {
  const base = (await urlOf(o)).replace(/\/+$/, '');
  const token = o.token ?? process.env.DIALGATE_HTTP_TOKEN;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(Number(o.timeout) || 5000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new UserError(`cannot reach dialgate at ${base} (${cause}); is \`dialgate serve\` running? (--url)`, EXIT.failure);
  }
  if (res.status === 401) throw new UserError(`${base} requires a token: pass --token or set DIALGATE_HTTP_TOKEN`, EXIT.failure);
  return { base, res };
}

const opsOptions = (c: Command): Command => c
  .option('--url <url>', 'ops HTTP address (default: DIALGATE_URL, http.host/port of --config, or http://127.0.0.1:8080)')
  .option('-c, --config <dir>', 'config directory to take http.host/port from')
  .option('--token <token>', 'bearer token of the ops API (or DIALGATE_HTTP_TOKEN)')
  .option('--timeout <ms>', 'request timeout', '5000');

export function registerDrain(program: Command, run: Run): void {
  opsOptions(program
    .command('drain')
    .description('drain the running server: it takes no new calls, lets live calls finish (drain.seconds in dialgate.yaml), ends the rest, then exits'))
    .action((o: OpsOptions) => run(async () => {
      const { base, res } = await opsRequest(o, 'POST', '/drain');
      if (res.status === 403) throw new UserError(`${base}: draining needs an admin token`, EXIT.failure);
      if (res.status !== 202) throw new UserError(`${base}/drain answered ${res.status}: ${(await res.text()).slice(0, 200)}`, EXIT.failure);
      printJson(await res.json());
      return EXIT.ok;
    }));
}

export function registerStatus(program: Command, run: Run): void {
  opsOptions(program
    .command('status')
    .description('print the running server\'s health (config version, reload errors, live calls, seats); exit 1 when unhealthy'))
    .action((o: OpsOptions) => run(async () => {
      const { base, res } = await opsRequest(o, 'GET', '/health');
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new UserError(`${base}/health answered ${res.status} with something that is not dialgate's health JSON`, EXIT.failure);
      }
      // /health is open, but only for its status code: the details need a token.
      if (typeof body === 'object' && body !== null && !('config' in body)) {
        throw new UserError(`${base} requires a token for the health details: pass --token or set DIALGATE_HTTP_TOKEN`, EXIT.failure);
      }
      printJson(body);
      return res.status === 200 ? EXIT.ok : EXIT.negative;
    }));
}
