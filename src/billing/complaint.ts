// Complaint deduction (004 §10.3): 1000 yuan per verified complaint (12321), once per complaint id.
// The ledger only moves the money; the caller adds the returned number to the tenant's blacklist.
import type { Ledger } from '../ledger/ledger.js';
import type { EntryResult, Money } from '../ledger/types.js';

/** 004 §10.3: 1000 yuan. */
export const COMPLAINT_DEDUCTION: Money = 10_000_000;

export interface Complaint {
  complaintId: string;
  account: string;
  tenant: string;
  /** The complaining number (normalised); joins the tenant's blacklist. */
  number: string;
  amount?: Money;
  note?: string;
  now?: number;
}

export interface ComplaintResult {
  /** Charge entry; duplicate = this complaint was deducted before. Unpaid part is arrears. */
  result: EntryResult;
  blacklist: { tenant: string; number: string };
}

export async function deductComplaint(ledger: Ledger, c: Complaint): Promise<ComplaintResult> {
  if (!c.complaintId) throw new Error('complaintId is required');
  const result = await ledger.charge(c.account, `complaint:${c.complaintId}`, 'complaint', c.amount ?? COMPLAINT_DEDUCTION,
    c.note ?? `verified complaint ${c.complaintId} from ${c.number} (004 §10.3)`, c.now ?? Date.now());
  return { result, blacklist: { tenant: c.tenant, number: c.number } };
}
