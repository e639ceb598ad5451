// Month close (issue 4 §7, `dialgate billing close-month YYYY-MM`): number rent (003 §1) and the
// 400 monthly minimum (002 §2.4). planMonthClose is pure; closeMonth applies the plan through the
// ledger. Entry ids are derived from account + month + kind (+ number), so re-running a close, or
// running it from two instances, charges each item once. Charges never overdraw: what the balance
// can't pay becomes arrears on the account.
import type { Ledger } from '../ledger/ledger.js';
import type { EntryResult, Money } from '../ledger/types.js';

/** 003 §1: 420 yuan per number per month. */
export const NUMBER_RENT_PER_MONTH: Money = 4_200_000;

export interface TenantNumbers {
  tenant: string;
  /** Ledger account the rent is charged to. */
  account: string;
  numbers: readonly string[];
}

/** A 400 package (002 §2.4): monthly minimum = total / months, first month exempt. */
export interface Package400 {
  account: string;
  total: Money;
  months: number;
  /** First month of service (YYYY-MM, Beijing time): the exempt month. */
  startMonth: string;
}

export interface CloseMonthInputs {
  numbers: readonly TenantNumbers[];
  packages: readonly Package400[];
  /** Call usage per account in the month; missing accounts are read from the ledger's counter. */
  usage?: Readonly<Record<string, Money>>;
  rentPerNumber?: Money;
  now?: number;
}

export interface PlannedCharge {
  account: string;
  entryId: string;
  type: 'rent' | 'minimum';
  amount: Money;
  note: string;
}

export interface AppliedCharge extends PlannedCharge {
  result: EntryResult;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

function monthIndex(yyyyMm: string): number {
  const m = MONTH.exec(yyyyMm);
  if (!m) throw new Error(`month must be YYYY-MM: ${yyyyMm}`);
  return Number(m[1]) * 12 + Number(m[2]) - 1;
}

/** 002 §2.4: minimum = package total / package months, rounded down to the money unit. */
export function monthlyMinimum(p: Pick<Package400, 'total' | 'months'>): Money {
  if (!Number.isSafeInteger(p.total) || !Number.isInteger(p.months) || p.months <= 0) throw new Error('bad 400 package');
  return Math.floor(p.total / p.months);
}

/** Pure: the charges of one month. usage must hold every package account. */
export function planMonthClose(yyyyMm: string, inputs: CloseMonthInputs & { usage: Readonly<Record<string, Money>> }): PlannedCharge[] {
  const month = monthIndex(yyyyMm);
  const rent = inputs.rentPerNumber ?? NUMBER_RENT_PER_MONTH;
  const out: PlannedCharge[] = [];
  for (const t of inputs.numbers) {
    for (const n of new Set(t.numbers)) {
      out.push({ account: t.account, entryId: `rent:${yyyyMm}:${n}`, type: 'rent', amount: rent,
        note: `number rent ${n} ${yyyyMm} (tenant ${t.tenant}, 003 §1)` });
    }
  }
  for (const p of inputs.packages) {
    const start = monthIndex(p.startMonth);
    // First month exempt; months outside the package period have no minimum.
    if (month <= start || month >= start + p.months) continue;
    const min = monthlyMinimum(p);
    const used = inputs.usage[p.account] ?? 0;
    if (used >= min) continue;
    out.push({ account: p.account, entryId: `minimum:${yyyyMm}`, type: 'minimum', amount: min - used,
      note: `400 monthly minimum ${yyyyMm}: minimum ${min}, usage ${used} (002 §2.4)` });
  }
  return out;
}

export async function closeMonth(ledger: Ledger, yyyyMm: string, inputs: CloseMonthInputs): Promise<AppliedCharge[]> {
  const usage: Record<string, Money> = { ...inputs.usage };
  for (const p of inputs.packages) usage[p.account] ??= await ledger.usage(p.account, yyyyMm);
  const now = inputs.now ?? Date.now();
  const applied: AppliedCharge[] = [];
  for (const c of planMonthClose(yyyyMm, { ...inputs, usage })) {
    applied.push({ ...c, result: await ledger.charge(c.account, c.entryId, c.type, c.amount, c.note, now) });
  }
  return applied;
}
