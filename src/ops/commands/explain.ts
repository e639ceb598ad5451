// `dialgate explain`: one call decided by the live pipeline, or a what-if over sample calls.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ConfigSnapshot, Tenant } from '../../config/types.js';
import { readLedgerView } from '../../calls/ledger-view.js';
import { ConcurrencySlots } from '../../ledger/concurrency.js';
import { Ledger } from '../../ledger/ledger.js';
import { redactSecrets } from '../../config/index.js';
import { normalizeNumber } from '../../numbers/normalize.js';
import { decideInbound } from '../../policy/inbound/decideInbound.js';
import type { AccountStanding } from '../../policy/types.js';
import { DEFAULT_TIME_ZONE } from '../../time/schedule.js';
import {
  explain, formatWhatIf, parseCallsCsv, parseMoneyArg, parseTime, resolveCall, whatIf, type BalanceJson, type LedgerInputs,
} from '../explain.js';
import type { RedisTarget } from '../../config/redis-target.js';
import { defaultConfigDir, intArg, loadSnapshot, printJson, redisUrlOf, UserError, withRedis, EXIT } from './common.js';

interface ExplainOpts {
  config: string;
  seat?: string;
  tenant?: string;
  from?: string;
  to?: string;
  at?: string;
  balance?: string;
  redis?: string;
  active?: string;
  callId?: string;
  proposed?: string;
  calls?: string;
  json?: boolean;
  inbound?: boolean;
  source?: string;
}

/** The ledger state a live call reads (calls/ledger-view.ts), from the given Redis. */
async function readLedger(url: RedisTarget, cfg: ConfigSnapshot, tenant: Tenant | undefined): Promise<{ available?: number; tenantActive: number; trunks: Map<string, number>; standing?: AccountStanding; note?: string }> {
  return withRedis(url, async (redis) => {
    const v = await readLedgerView(new Ledger(redis, { instanceId: 'dialgate-explain' }), new ConcurrencySlots(redis), cfg, tenant);
    return {
      available: v.available,
      ...(v.standing ? { standing: v.standing } : {}),
      tenantActive: v.tenantActiveCalls,
      trunks: new Map(v.trunkActiveCalls),
      ...(tenant && v.missingAccount ? { note: `no ledger account ${tenant.account} in Redis: available 0, as a live call would see` } : {}),
    };
  });
}

/** Without --balance or Redis: 100 million yuan, enough for any call, shown as such. */
const ASSUMED_UNLIMITED = 1_000_000_000_000;

/** A carrier's call to a 400 number, decided by the same decideInbound as live inbound calls. */
async function runExplainInbound(o: ExplainOpts): Promise<number> {
  if (!o.to || !o.from || !o.source) throw new UserError('explain --inbound needs --source IP[:PORT] (the carrier), --from CALLER and --to 400-NUMBER');
  const cfg = await loadSnapshot(o.config);
  const tz = cfg.server.timezone || DEFAULT_TIME_ZONE;
  const now = o.at !== undefined ? parseTime(o.at, tz) : Date.now();
  const [ip = '', port = '5060'] = o.source.split(':');
  let available: number | null = o.balance !== undefined ? parseMoneyArg(o.balance, '--balance') : null;
  let standing: AccountStanding | undefined;
  let source = o.balance !== undefined ? 'argument' : 'assumed-unlimited';
  const dialled = normalizeNumber(o.to);
  const plan = dialled.ok ? cfg.plans400?.get(dialled.number.national) : undefined;
  const url = redisUrlOf(o.redis, false);
  if (o.balance === undefined && url && plan) {
    const acct = await withRedis(url, (redis) => new Ledger(redis, { instanceId: 'dialgate-explain' }).getAccount(plan.account));
    available = acct?.available ?? null;
    if (acct) standing = { status: acct.status, arrears: acct.arrears, arrearsSince: acct.arrearsSince };
    source = 'redis';
  }
  const decision = decideInbound(
    { callId: o.callId ?? 'explain', sourceIp: ip, sourcePort: intArg(port, '--source port'), from: o.from, to: o.to },
    cfg, { available: available ?? ASSUMED_UNLIMITED, ...(standing ? { standing } : {}) }, now,
  );
  printJson(redactSecrets({ direction: 'inbound', at: new Date(now).toISOString(), balanceSource: source, configVersion: cfg.version, decision }));
  return EXIT.ok;
}

async function runExplain(o: ExplainOpts): Promise<number> {
  if (o.inbound) return runExplainInbound(o);
  if (o.proposed !== undefined || o.calls !== undefined) return runWhatIf(o);
  if (!o.to) throw new UserError('explain needs --to NUMBER (and --seat ID or --tenant ID)');
  if (o.seat === undefined && o.tenant === undefined) throw new UserError('explain needs --seat ID or --tenant ID');
  const cfg = await loadSnapshot(o.config);
  const tz = cfg.server.timezone || DEFAULT_TIME_ZONE;
  const now = o.at !== undefined ? parseTime(o.at, tz) : Date.now();
  const input = {
    to: o.to, ...(o.seat !== undefined ? { seatId: o.seat } : {}), ...(o.tenant !== undefined ? { tenantId: o.tenant } : {}),
    ...(o.from !== undefined ? { from: o.from } : {}), ...(o.callId !== undefined ? { callId: o.callId } : {}),
  };
  const call = resolveCall(cfg, input);
  const tenant = cfg.tenants.get(call.tenantId);
  const ledger: LedgerInputs = {};
  let source: BalanceJson['source'] = 'assumed-unlimited';
  let note: string | undefined;
  if (o.balance !== undefined) {
    ledger.available = parseMoneyArg(o.balance, '--balance');
    source = 'argument';
  }
  const url = redisUrlOf(o.redis, false);
  if (url && (o.balance === undefined || o.active === undefined)) {
    const r = await readLedger(url, cfg, tenant);
    if (o.balance === undefined && r.available !== undefined) {
      ledger.available = r.available;
      source = 'redis';
      note = r.note;
    }
    ledger.tenantActiveCalls = r.tenantActive;
    ledger.trunkActiveCalls = r.trunks;
    if (r.standing) ledger.standing = r.standing;
  }
  if (o.active !== undefined) ledger.tenantActiveCalls = intArg(o.active, '--active');
  const { json } = explain(cfg, { call: input, now, ledger, balanceSource: source, timeZone: tz });
  if (note) json.balance.note = note;
  printJson(json);
  return EXIT.ok;
}

async function runWhatIf(o: ExplainOpts): Promise<number> {
  if (!o.proposed || !o.calls) throw new UserError('what-if needs both --proposed DIR and --calls FILE.csv (and --config RUNNING_DIR)');
  const [running, proposed] = await Promise.all([loadSnapshot(o.config, 'running config'), loadSnapshot(o.proposed, 'proposed config')]);
  let text: string;
  try {
    text = await readFile(o.calls, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read calls file ${o.calls} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const calls = parseCallsCsv(text);
  const report = whatIf(running, proposed, calls, {
    ...(o.balance !== undefined ? { defaultAvailable: parseMoneyArg(o.balance, '--balance') } : {}),
    ...(o.active !== undefined ? { tenantActiveCalls: intArg(o.active, '--active') } : {}),
    timeZone: running.server.timezone || DEFAULT_TIME_ZONE,
  });
  if (o.json) printJson(report);
  else process.stdout.write(`${formatWhatIf(report)}\n`);
  return EXIT.ok;
}

export function registerExplain(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('explain')
    .description('show how a call would be decided (allow/deny, reason, trunks, trace); with --proposed and --calls, what a config change would alter')
    .option('-c, --config <dir>', 'config directory (the running one for what-if)', defaultConfigDir())
    .option('--seat <id>', 'seat placing the call (its tenant is the caller)')
    .option('--tenant <id>', 'tenant placing the call (its first seat is used) when no --seat')
    .option('--from <number>', 'caller id presented (default: the seat\'s number)')
    .option('--to <number>', 'number dialled')
    .option('--at <time>', 'time of the call, ISO 8601 (e.g. 2026-11-23T20:00:00+08:00; no offset = config time zone); default now')
    .option('--balance <yuan>', 'available balance in yuan (default: the account in Redis with --redis, else unlimited)')
    .option('--redis <url>', 'read the account balance and live call counts from Redis (or DIALGATE_REDIS_URL)')
    .option('--active <n>', 'tenant calls already in progress (default 0, or Redis)')
    .option('--call-id <id>', 'Call-ID (seeds weighted trunk choice)')
    .option('--proposed <dir>', 'what-if: proposed config directory to compare with --config')
    .option('--calls <file.csv>', 'what-if: sample calls, CSV columns from,to,time,tenant[,seat,balance]')
    .option('--json', 'what-if: machine-readable output')
    .option('--inbound', 'explain a carrier\'s call to a 400 number instead (needs --source, --from, --to)')
    .option('--source <ip[:port]>', 'inbound: address the carrier\'s INVITE comes from')
    .action((opts: ExplainOpts) => run(() => runExplain(opts)));
}
