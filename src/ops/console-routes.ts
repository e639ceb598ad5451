// The admin console's routes on the ops HTTP API (issue 14):
//   GET  /console, /console/app.js                 the built console (open: it holds no data; every
//                                                  API call it makes sends the bearer token)
//   GET  /whoami                                   the token's name, role and tenant
//   GET  /tenants                                  tenants this token may read (id, name)
//   GET  /numbers400                               400 numbers this token may read (number, owner)
//   GET  /stats/callers?number=&date=              caller analysis of one 400 number's day
//   GET  /trunks?date=                             admin: each trunk's config, live calls and day (stats/trunk-day.ts)
//   GET  /tenants/:id/statement?month=[&format=csv|html]   the monthly statement (billing/statement.ts)
//   POST /calls/:callId/hangup                     admin: ends a live call
//   POST /tenants/:id/topup {entryId, amount, note}        admin: credits the prepaid account once per entryId
//   POST /explain {seat|tenant, to, from?, at?, balance?}  admin: `dialgate explain` on the running config
// Data comes from injected providers (app-http.ts wires them), like the rest of http.ts.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { statementCsv, statementHtml } from '../billing/statement-render.js';
import type { Statement } from '../billing/statement.js';
import type { Money } from '../ledger/types.js';
import type { CallerAnalysis } from '../stats/caller-analysis.js';
import type { TrunksDay } from '../stats/trunk-day-read.js';
import { readsAll, readsTenant, type Principal } from './access.js';
import { parseMoneyArg, type ExplainJson } from './explain.js';
import { field, HttpError, readJson, send } from './http-util.js';

export interface ExplainRequest {
  seat?: string;
  tenant?: string;
  from?: string;
  to: string;
  /** Local time as `dialgate explain --at` takes it; default now. */
  at?: string;
  /** Available balance in yuan; default what Redis holds. */
  balance?: string;
}

export interface TopUpResult {
  account: string;
  amount: Money;
  balanceAfter: Money;
  arrearsPaid: Money;
  /** The entry id was used before: nothing changed. */
  duplicate: boolean;
}

export interface ConsoleProviders {
  /** Directory holding the built console: index.html and app.js (console/build.ts). */
  assetsDir: () => string;
  tenants: () => { id: string; name: string }[];
  numbers400: () => { number: string; owner: string }[];
  /** Ends a live call; null when there is no such call. */
  hangup: (callId: string) => { tenant: string } | null;
  /** null when the tenant has no ledger account. */
  topUp: (tenant: string, entryId: string, amount: Money, note: string) => Promise<TopUpResult | null>;
  statement: (tenant: string, month: string) => Promise<Statement>;
  callerAnalysis: (number: string, date: string) => Promise<CallerAnalysis>;
  explain: (r: ExplainRequest) => Promise<ExplainJson>;
  /** `date` is a Beijing day, YYYY-MM-DD. */
  trunks: (date: string) => Promise<TrunksDay>;
}

/** Errors of the providers that are the caller's fault (bad month, unknown seat …): 400. */
export class ConsoleInputError extends Error {}

const ASSETS: Readonly<Record<string, [file: string, type: string]>> = {
  '/console': ['index.html', 'text/html; charset=utf-8'],
  '/console/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/console/app.js': ['app.js', 'text/javascript; charset=utf-8'],
};

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const ENTRY_ID = /^[A-Za-z0-9._:-]{1,64}$/;

type Need = (who: Principal | null, ok: (p: Principal) => boolean, what: string) => Principal;

async function asset(res: ServerResponse, dir: string, file: string, type: string): Promise<number> {
  let body: Buffer;
  try {
    body = await readFile(join(dir, file));
  } catch {
    throw new HttpError(404, `the console is not built (${file} missing in ${dir}); run npm run build`);
  }
  res.writeHead(200, {
    'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache',
    // Everything the console needs is its own: no inline script, no other origin (blob: media is a
    // recording it fetched with the token).
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; media-src 'self' blob:; frame-ancestors 'none'",
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
  return 200;
}

async function guarded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ConsoleInputError) throw new HttpError(400, e.message);
    throw e;
  }
}

/** The response status when the path is a console route; undefined to let http.ts route it. */
export async function consoleRoute(
  req: IncomingMessage, res: ServerResponse, who: Principal | null, path: string, parts: string[], params: URLSearchParams,
  p: ConsoleProviders, need: Need,
): Promise<number | undefined> {
  const method = req.method ?? 'GET';
  const get = method === 'GET' || method === 'HEAD';
  const asset_ = ASSETS[path];
  if (asset_ && get) return asset(res, p.assetsDir(), ...asset_);

  if (path === '/whoami' && get) {
    const me = need(who, () => true, 'this API');
    send(res, 200, { name: me.name, role: me.role, ...(me.tenant !== undefined ? { tenant: me.tenant } : {}) });
    return 200;
  }
  if (path === '/tenants' && get) {
    const me = need(who, () => true, 'tenants');
    const tenants = p.tenants().filter((t) => readsTenant(me, t.id));
    send(res, 200, { count: tenants.length, tenants });
    return 200;
  }
  if (path === '/numbers400' && get) {
    const me = need(who, () => true, '400 numbers');
    const numbers = p.numbers400().filter((n) => readsTenant(me, n.owner));
    send(res, 200, { count: numbers.length, numbers });
    return 200;
  }
  if (path === '/stats/callers' && get) {
    const me = need(who, () => true, 'caller analysis');
    const number = params.get('number') ?? '';
    const date = params.get('date') ?? '';
    if (!DATE.test(date)) throw new HttpError(400, 'date must be YYYY-MM-DD');
    const plan = p.numbers400().find((n) => n.number === number);
    // Same answer for "not yours" and "no such number": a viewer learns nothing about others.
    if (!plan || !readsTenant(me, plan.owner)) {
      if (readsAll(me)) throw new HttpError(404, `no 400 number ${number}`);
      throw new HttpError(403, `forbidden: this token may not read 400 number ${number}`);
    }
    send(res, 200, await p.callerAnalysis(number, date));
    return 200;
  }
  if (path === '/trunks' && get) {
    need(who, readsAll, 'trunks (admin only)');
    const date = params.get('date') ?? '';
    if (!DATE.test(date)) throw new HttpError(400, 'date must be YYYY-MM-DD');
    send(res, 200, await guarded(() => p.trunks(date)));
    return 200;
  }
  if (parts[0] === 'tenants' && parts[2] === 'statement' && parts.length === 3 && get) {
    const tenant = parts[1]!;
    need(who, (x) => readsTenant(x, tenant), `tenant ${tenant}`);
    if (!p.tenants().some((t) => t.id === tenant)) throw new HttpError(404, `no tenant ${tenant}`);
    const month = params.get('month') ?? '';
    if (!MONTH.test(month)) throw new HttpError(400, 'month must be YYYY-MM');
    const s = await guarded(() => p.statement(tenant, month));
    const format = params.get('format');
    if (format === 'csv') {
      res.setHeader('content-disposition', `attachment; filename="statement-${tenant}-${month}.csv"`);
      send(res, 200, statementCsv(s, { bom: true }), 'text/csv; charset=utf-8');
    } else if (format === 'html') {
      send(res, 200, statementHtml(s), 'text/html; charset=utf-8');
    } else {
      send(res, 200, s);
    }
    return 200;
  }

  if (method !== 'POST') return undefined;
  if (parts[0] === 'calls' && parts[2] === 'hangup' && parts.length === 3) {
    need(who, readsAll, 'live calls of every tenant (admin only)');
    const ended = p.hangup(parts[1]!);
    if (!ended) throw new HttpError(404, `no live call ${parts[1]}`);
    send(res, 200, { callId: parts[1], tenant: ended.tenant, hungUp: true });
    return 200;
  }
  if (parts[0] === 'tenants' && parts[2] === 'topup' && parts.length === 3) {
    const tenant = parts[1]!;
    need(who, readsAll, 'money (admin only)');
    if (!p.tenants().some((t) => t.id === tenant)) throw new HttpError(404, `no tenant ${tenant}`);
    const body = await readJson(req);
    const entryId = field(body, 'entryId', true);
    if (!ENTRY_ID.test(entryId)) throw new HttpError(400, 'entryId: 1–64 letters, digits, . _ : -');
    let amount: Money;
    try {
      amount = parseMoneyArg(field(body, 'amount', true), 'amount');
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    if (amount <= 0) throw new HttpError(400, 'amount must be above zero');
    const r = await p.topUp(tenant, entryId, amount, field(body, 'note') ?? '');
    if (!r) throw new HttpError(404, `no ledger account for tenant ${tenant}`);
    send(res, 200, r);
    return 200;
  }
  if (path === '/explain') {
    need(who, readsAll, 'explain (admin only)');
    const body = await readJson(req);
    const r: ExplainRequest = { to: field(body, 'to', true) };
    for (const k of ['seat', 'tenant', 'from', 'at', 'balance'] as const) {
      const v = field(body, k);
      if (v !== undefined) r[k] = v;
    }
    if (r.seat === undefined && r.tenant === undefined) throw new HttpError(400, 'name the caller: seat or tenant');
    send(res, 200, await guarded(() => p.explain(r)));
    return 200;
  }
  return undefined;
}
