// Daily close (`dialgate billing close-day [YYYY-MM-DD]`): for each account, the late fee of the
// day and, on the 30th day in arrears, closure (001 §6, policy in arrears.ts). Idempotent like
// close-month: the fee's entry id is the account + the day, closure happens once, and each step
// alerts once (the ledger scripts decide, see ledger/lua/entry.ts and lua/arrears.ts).
// A fee is reckoned on the arrears read just before; the ledger refuses it if they changed in
// between (a top-up, another charge), and it is reckoned again — never charged on stale arrears.
import type { Ledger } from '../ledger/ledger.js';
import type { Account, ArrearsAlert, EntryResult } from '../ledger/types.js';
import { startOfLocalDay } from '../time/zone.js';
import { dayNumberOf, planArrearsDay, type ArrearsState, type DayPlan } from './arrears.js';

export interface DayAccount {
  tenant: string;
  account: string;
}

export interface DayOutcome extends DayPlan {
  /** The late fee entry as the ledger applied it (duplicate on a re-run). */
  lateFeeResult: EntryResult | null;
  /** The account is closed after this run; closedNow = this run closed it. */
  closed: boolean;
  closedNow: boolean;
  /** Arrears steps this run took (each happens once, whoever runs the close). */
  alerts: ArrearsAlert[];
  missingAccount: boolean;
}

export class DayNotOverError extends Error {
  override name = 'DayNotOverError';
}

/** Attempts at a fee when payments keep changing the arrears under it. */
const STALE_RETRIES = 5;

function stateOf(a: Account): ArrearsState {
  return { account: a.id, tenant: a.tenant, status: a.status, arrears: a.arrears, lateFeeArrears: a.lateFeeArrears, arrearsSince: a.arrearsSince };
}

/** The first instant after `day` (local midnight of the next day) in the zone. */
export function endOfDay(day: string, zone: string): number {
  return startOfLocalDay(zone, dayNumberOf(day) + 1);
}

export async function closeDay(ledger: Ledger, day: string, accounts: readonly DayAccount[], o: { now: number; zone: string }): Promise<DayOutcome[]> {
  const end = endOfDay(day, o.zone);
  // A day is closed once it is over: the fee is for a whole day in arrears.
  if (o.now < end) throw new DayNotOverError(`${day} is not over yet (it ends ${new Date(end).toISOString()}); close a day after it ends`);
  const out: DayOutcome[] = [];
  const seen = new Set<string>();
  for (const { account, tenant } of accounts) {
    if (seen.has(account)) continue;
    seen.add(account);
    out.push(await closeAccountDay(ledger, day, account, tenant, o));
  }
  return out;
}

async function closeAccountDay(ledger: Ledger, day: string, account: string, tenant: string, o: { now: number; zone: string }): Promise<DayOutcome> {
  const alerts: ArrearsAlert[] = [];
  let a = await ledger.getAccount(account);
  if (!a) {
    return { account, tenant, day, dayOfArrears: null, lateFee: null, close: null, detail: 'no ledger account',
      lateFeeResult: null, closed: false, closedNow: false, alerts, missingAccount: true };
  }
  if (a.arrears > 0 && a.arrearsSince === null && a.status !== 'closed') {
    const adopted = await ledger.adoptArrears(account, o.now);
    if (adopted) alerts.push(adopted);
    a = (await ledger.getAccount(account))!;
  }
  let plan = planArrearsDay(stateOf(a), day, o.zone);
  let lateFeeResult: EntryResult | null = null;
  for (let attempt = 0; plan.lateFee; attempt++) {
    const f = plan.lateFee;
    const r = await ledger.chargeLateFee(account, f.entryId, f.amount, { principal: f.principal, since: f.since }, f.note, o.now);
    if (!('stale' in r)) {
      lateFeeResult = r;
      alerts.push(...(r.arrearsAlerts ?? []));
      break;
    }
    if (attempt + 1 >= STALE_RETRIES) throw new Error(`late fee of ${account} for ${day}: arrears kept changing; run the close again`);
    plan = planArrearsDay(stateOf((await ledger.getAccount(account))!), day, o.zone);
  }
  let closed = a.status === 'closed';
  let closedNow = false;
  if (plan.close) {
    const c = await ledger.closeForArrears(account, plan.close.since, plan.close.note, o.now);
    closed = c.closed;
    closedNow = c.changed;
    if (c.alert) alerts.push(c.alert);
  }
  return { ...plan, lateFeeResult, closed, closedNow, alerts, missingAccount: false };
}
