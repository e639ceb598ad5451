// A tenant's monthly statement (issue 14; 003 §5 五: bills and itemised CDRs; 001 §6 arrears), as a
// pure function of what the ledger and the CDRs say. The adapter (statement-source.ts) reads them;
// the CLI and (later) the admin console render the same Statement (statement-render.ts).
//
// The money comes from the ledger history only, so the statement reconciles with the ledger to
// the unit: every history entry carries its signed amount and the balance after it, so
//   opening (balance after the last entry before the month) + credits − debits = closing
// holds exactly when the history is whole, and closing + everything after the month = the
// account's balance now. Both are checked, not assumed. Calls and minutes come from the CDRs;
// their cost is shown beside the ledger's call debits (a call that straddles midnight at the
// month's end is in the CDRs of one month and the ledger of the next).
import type { Cdr } from '../cdr/model.js';
import type { HistoryEntry, Money } from '../ledger/types.js';

/** What the adapter reads for one ledger account. */
export interface AccountSource {
  account: string;
  kind: 'prepaid' | 'package400';
  /** What the account pays for: the tenant's calls, or a 400 number. */
  label: string;
  /** Newest entry before the month (its balanceAfter is the opening balance); null: none. */
  before: HistoryEntry | null;
  /** The month's entries in ledger order, oldest first. */
  entries: HistoryEntry[];
  /** Entries after the month: their count, and their effects on the balance and on arrears. */
  after: { count: number; amount: Money; arrears: Money };
  /** Balance and arrears now, read atomically with the newest entries. */
  now: { balance: Money; arrears: Money };
}

/** Calls of one direction in the month, from the CDRs. */
export interface CallTotals {
  attempts: number;
  answered: number;
  billableSeconds: number;
  billedSeconds: number;
  /** Σ CDR cost of these calls (all accounts they were charged to). */
  cost: Money;
}

export interface StatementSource {
  tenant: { id: string; name: string };
  /** YYYY-MM (local calendar of `zone`). */
  month: string;
  zone: string;
  /** The month as instants: [from, to). */
  from: number;
  to: number;
  generatedAt: number;
  calls: { outbound: CallTotals; inbound: CallTotals };
  /** Σ CDR charges per ledger account (CDR `charges`), to compare with the ledger's call debits. */
  cdrCostByAccount: Readonly<Record<string, Money>>;
  accounts: AccountSource[];
}

export type LineKey = 'topup' | 'adjust-credit' | 'other-credit' | 'call' | 'rent' | 'minimum' | 'complaint' | 'latefee' | 'forfeit' | 'arrears' | 'adjust-debit' | 'other';

export interface StatementLine {
  key: LineKey;
  zh: string;
  en: string;
  /** Ledger entries in this line. */
  count: number;
  /** Effect on the balance, as a positive number (credits add it, debits take it). */
  amount: Money;
  /** Charged but not paid: became arrears (debit lines only). */
  unpaid: Money;
}

export interface AccountStatement {
  account: string;
  kind: AccountSource['kind'];
  label: string;
  openingBalance: Money;
  credits: Money;
  debits: Money;
  closingBalance: Money;
  creditLines: StatementLine[];
  debitLines: StatementLine[];
  openingArrears: Money;
  /** New arrears: charges the balance could not pay. */
  arrearsIncurred: Money;
  /** Arrears paid off (from top-ups). */
  arrearsPaid: Money;
  closingArrears: Money;
  /** Non-money events of the month (closure). */
  events: { time: number; type: string; note: string }[];
  calls: { ledgerEntries: number; ledgerCost: Money; cdrCost: Money; difference: Money };
  checks: {
    /** opening + credits − debits = closing, the closing read from the ledger's last entry. */
    balance: boolean;
    /** closing + the entries after the month = the balance the account holds now. */
    ledger: boolean;
    /** No arrears figure is negative (the history was whole back to the month). */
    arrears: boolean;
  };
}

export interface Statement {
  tenant: { id: string; name: string };
  month: string;
  zone: string;
  from: number;
  to: number;
  generatedAt: number;
  /** False while the month is not over: a provisional statement. */
  complete: boolean;
  accounts: AccountStatement[];
  totals: {
    openingBalance: Money; credits: Money; debits: Money; closingBalance: Money;
    openingArrears: Money; arrearsIncurred: Money; arrearsPaid: Money; closingArrears: Money;
  };
  calls: { outbound: CallTotals; inbound: CallTotals };
  /** Every account's checks passed. */
  reconciled: boolean;
}

const LABELS: Readonly<Record<LineKey, [string, string]>> = {
  'topup': ['充值', 'Top-ups'],
  'adjust-credit': ['调账（增加）', 'Adjustments (credit)'],
  'call': ['通话费', 'Call charges'],
  'rent': ['号码月租', 'Number rent'],
  'minimum': ['月最低消费补足', 'Monthly minimum'],
  'complaint': ['投诉扣款', 'Complaint deductions'],
  'latefee': ['欠费违约金', 'Late fees'],
  'forfeit': ['到期余额清零', 'Forfeited at expiry'],
  'arrears': ['补缴欠费', 'Arrears paid'],
  'adjust-debit': ['调账（减少）', 'Adjustments (debit)'],
  'other': ['其他', 'Other'],
  'other-credit': ['其他（增加）', 'Other (credit)'],
};
const CREDIT_ORDER: LineKey[] = ['topup', 'adjust-credit', 'other-credit'];
const DEBIT_ORDER: LineKey[] = ['call', 'rent', 'minimum', 'complaint', 'latefee', 'forfeit', 'arrears', 'adjust-debit', 'other'];
const KNOWN_DEBITS = new Set<string>(['call', 'rent', 'minimum', 'complaint', 'latefee', 'forfeit', 'arrears']);
/** History entries that move no money and say something worth showing. */
const EVENTS = new Set<string>(['closure']);

export function emptyCallTotals(): CallTotals {
  return { attempts: 0, answered: 0, billableSeconds: 0, billedSeconds: 0, cost: 0 };
}

/** How an entry changes the arrears: unpaid part of a charge (+), a payment of arrears (−). */
export function arrearsDelta(e: Pick<HistoryEntry, 'type' | 'amount' | 'arrears'>): Money {
  return (e.arrears ?? 0) + (e.type === 'arrears' ? e.amount : 0);
}

/** Adds one CDR of the tenant to the month's call totals and per-account CDR costs (no I/O: the adapter folds the files through it). */
export function addCdr(calls: StatementSource['calls'], costByAccount: Record<string, Money>, c: Cdr): void {
  const t = c.direction === 'inbound' ? calls.inbound : calls.outbound;
  t.attempts++;
  if (c.answerAt !== null) t.answered++;
  t.billableSeconds += c.billableSeconds;
  t.billedSeconds += c.billedSeconds;
  t.cost += c.cost;
  for (const ch of c.charges) costByAccount[ch.account] = (costByAccount[ch.account] ?? 0) + ch.cost;
}

function lineOf(e: HistoryEntry): { side: 'credit' | 'debit'; key: LineKey } | null {
  if (EVENTS.has(e.type) && e.amount === 0 && !e.arrears) return null;
  if (e.type === 'topup') return { side: 'credit', key: 'topup' };
  if (e.type === 'adjust') return e.amount >= 0 ? { side: 'credit', key: 'adjust-credit' } : { side: 'debit', key: 'adjust-debit' };
  if (KNOWN_DEBITS.has(e.type)) return { side: 'debit', key: e.type as LineKey };
  return e.amount > 0 ? { side: 'credit', key: 'other-credit' } : { side: 'debit', key: 'other' };
}

export function buildAccountStatement(a: AccountSource, cdrCost: Money): AccountStatement {
  const openingBalance = a.before?.balanceAfter ?? 0;
  const lines = new Map<LineKey, StatementLine>();
  const line = (key: LineKey): StatementLine => {
    let l = lines.get(key);
    if (!l) lines.set(key, l = { key, zh: LABELS[key][0], en: LABELS[key][1], count: 0, amount: 0, unpaid: 0 });
    return l;
  };
  let credits = 0;
  let debits = 0;
  let incurred = 0;
  let paidOff = 0;
  let monthArrears = 0;
  const events: AccountStatement['events'] = [];
  const calls = { ledgerEntries: 0, ledgerCost: 0 };
  for (const e of a.entries) {
    monthArrears += arrearsDelta(e);
    if (e.arrears) incurred += e.arrears;
    if (e.type === 'arrears') paidOff += -e.amount;
    const where = lineOf(e);
    if (!where) {
      events.push({ time: e.time, type: e.type, note: e.note });
      continue;
    }
    const l = line(where.key);
    l.count++;
    l.amount += Math.abs(e.amount);
    l.unpaid += e.arrears ?? 0;
    if (e.amount > 0) credits += e.amount;
    else debits += -e.amount;
    if (e.type === 'call') {
      calls.ledgerEntries++;
      calls.ledgerCost += -e.amount;
    }
  }
  const last = a.entries.at(-1);
  const closingBalance = last ? last.balanceAfter : openingBalance;
  const closingArrears = a.now.arrears - a.after.arrears;
  const openingArrears = closingArrears - monthArrears;
  const pick = (order: LineKey[]) => order.flatMap((k) => (lines.has(k) ? [lines.get(k)!] : []));
  return {
    account: a.account, kind: a.kind, label: a.label,
    openingBalance, credits, debits, closingBalance,
    creditLines: pick(CREDIT_ORDER), debitLines: pick(DEBIT_ORDER),
    openingArrears, arrearsIncurred: incurred, arrearsPaid: paidOff, closingArrears,
    events,
    calls: { ...calls, cdrCost, difference: calls.ledgerCost - cdrCost },
    checks: {
      balance: openingBalance + credits - debits === closingBalance,
      ledger: closingBalance + a.after.amount === a.now.balance,
      arrears: openingArrears >= 0 && closingArrears >= 0 && (a.before !== null || openingArrears === 0),
    },
  };
}

/** The statement (pure): per account and for the tenant, with its reconciliation checks. */
export function buildStatement(s: StatementSource): Statement {
  const accounts = s.accounts.map((a) => buildAccountStatement(a, s.cdrCostByAccount[a.account] ?? 0));
  const sum = (f: (a: AccountStatement) => Money): Money => accounts.reduce((x, a) => x + f(a), 0);
  return {
    tenant: s.tenant, month: s.month, zone: s.zone, from: s.from, to: s.to, generatedAt: s.generatedAt,
    complete: s.generatedAt >= s.to,
    accounts,
    totals: {
      openingBalance: sum((a) => a.openingBalance), credits: sum((a) => a.credits), debits: sum((a) => a.debits),
      closingBalance: sum((a) => a.closingBalance), openingArrears: sum((a) => a.openingArrears),
      arrearsIncurred: sum((a) => a.arrearsIncurred), arrearsPaid: sum((a) => a.arrearsPaid), closingArrears: sum((a) => a.closingArrears),
    },
    calls: s.calls,
    reconciled: accounts.every((a) => a.checks.balance && a.checks.ledger && a.checks.arrears),
  };
}
