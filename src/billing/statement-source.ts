// Reads what a monthly statement is built from (statement.ts): the tenant's ledger accounts'
// history around the month (Redis) and the month's CDRs (daily files). The console and the CLI
// both build statements through here.
//
// Which entries are "the month": the ledger history is in the order Redis applied the entries;
// each carries the time the app stamped on it. The month is the run of entries after the newest
// entry stamped before the month began, up to the newest entry stamped before it ended. The run
// is contiguous, so opening + Σ amounts = closing holds exactly even if two instances' clocks
// disagree by a moment around midnight. The history is read backwards from a snapshot taken
// together with the balance (one MULTI), so only the month and what came after it are read.
import { iterateCdrs } from '../cdr/query.js';
import type { ConfigSnapshot } from '../config/types.js';
import type { Ledger } from '../ledger/ledger.js';
import type { HistoryEntry } from '../ledger/types.js';
import { daysFromCivil, startOfLocalDay } from '../time/zone.js';
import { addCdr, arrearsDelta, emptyCallTotals, type AccountSource, type StatementSource } from './statement.js';

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const PAGE = 1000;

export class StatementInputError extends Error {
  override name = 'StatementInputError';
}

/** [from, to) of a calendar month in the zone. */
export function monthRange(month: string, zone: string): { from: number; to: number } {
  const m = MONTH.exec(month);
  if (!m) throw new StatementInputError(`month must be YYYY-MM, e.g. 2026-11: ${month}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  return {
    from: startOfLocalDay(zone, daysFromCivil(y, mo, 1)),
    to: startOfLocalDay(zone, mo === 12 ? daysFromCivil(y + 1, 1, 1) : daysFromCivil(y, mo + 1, 1)),
  };
}

/** The ledger accounts of a tenant: its prepaid account, then its 400 numbers' package accounts. */
export function tenantAccounts(cfg: ConfigSnapshot, tenantId: string): Array<Pick<AccountSource, 'account' | 'kind' | 'label'>> {
  const t = cfg.tenants.get(tenantId);
  if (!t) throw new StatementInputError(`no tenant ${tenantId} in the config (tenants: ${[...cfg.tenants.keys()].join(', ')})`);
  const out: Array<Pick<AccountSource, 'account' | 'kind' | 'label'>> = [{ account: t.account, kind: 'prepaid', label: `tenant ${t.id}` }];
  for (const p of cfg.plans400?.values() ?? []) {
    if (p.owner !== tenantId) continue;
    const same = out.find((a) => a.account === p.account);
    if (same) same.label += `, 400 ${p.number}`;
    else out.push({ account: p.account, kind: 'package400', label: `400 ${p.number}` });
  }
  return out;
}

/** One account's entries before, in and after the month; null when the account does not exist. */
export async function readAccountMonth(ledger: Ledger, acct: Pick<AccountSource, 'account' | 'kind' | 'label'>, from: number, to: number): Promise<AccountSource | null> {
  const snap = await ledger.historySnapshot(acct.account, PAGE);
  if (!snap) return null;
  const after = { count: 0, amount: 0, arrears: 0 };
  const month: HistoryEntry[] = [];
  let before: HistoryEntry | null = null;
  let inMonth = false;
  let page = snap.entries;
  walk: for (;;) {
    for (const e of page) {
      if (!inMonth && e.time >= to) {
        after.count++;
        after.amount += e.amount;
        after.arrears += arrearsDelta(e);
        continue;
      }
      inMonth = true;
      if (e.time < from) {
        before = e;
        break walk;
      }
      month.push(e);
    }
    if (page.length < PAGE) break;
    page = await ledger.historyBefore(acct.account, page.at(-1)!.streamId, PAGE);
  }
  return { ...acct, before, entries: month.reverse(), after, now: { balance: snap.balance, arrears: snap.arrears } };
}

export interface StatementReadOptions {
  /** CDR directory (daily files). */
  cdrDir: string;
  zone: string;
  now: number;
}

export async function readStatementSource(ledger: Ledger, cfg: ConfigSnapshot, tenantId: string, month: string, o: StatementReadOptions): Promise<StatementSource> {
  const { from, to } = monthRange(month, o.zone);
  const wanted = tenantAccounts(cfg, tenantId);
  const accounts: AccountSource[] = [];
  for (const a of wanted) {
    const src = await readAccountMonth(ledger, a, from, to);
    if (src) accounts.push(src);
    else if (a.kind === 'prepaid') throw new StatementInputError(`no ledger account ${a.account} for tenant ${tenantId}`);
  }
  const calls = { outbound: emptyCallTotals(), inbound: emptyCallTotals() };
  const cdrCostByAccount: Record<string, number> = {};
  // CDR files are named by Beijing date (cdr/writer.ts); the query picks them from the instants.
  for await (const c of iterateCdrs(o.cdrDir, { from, to, tenant: tenantId })) addCdr(calls, cdrCostByAccount, c);
  const t = cfg.tenants.get(tenantId)!;
  return { tenant: { id: t.id, name: t.name }, month, zone: o.zone, from, to, generatedAt: o.now, calls, cdrCostByAccount, accounts };
}
