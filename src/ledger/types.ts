// Ledger data types. Money is integer units of 0.0001 yuan; times are epoch ms.
import type { Money } from '../config/types.js';

export type { Money };
export type AccountStatus = 'active' | 'suspended' | 'closed';

export interface AccountInit {
  tenant: string;
  status?: AccountStatus;
  /** Service period (epoch ms); 0 / absent = unbounded. */
  validFrom?: number;
  validUntil?: number;
  /** Prepaid total of the current package (003 §2.2: alert below 10% of it). */
  prepaidTotal?: Money;
  /** One month of recurring fees (003 §2.2: alert below it), e.g. number rent. */
  monthlyFees?: Money;
}

export interface Account {
  id: string;
  tenant: string;
  status: AccountStatus;
  balance: Money;
  /** Σ live reservations; available = balance − reserved. */
  reserved: Money;
  available: Money;
  validFrom: number;
  validUntil: number;
  prepaidTotal: Money;
  monthlyFees: Money;
  /** Running totals: balance = credits − debits. */
  credits: Money;
  debits: Money;
  /** Charges the balance could not pay (001 §6); paid first by the next top-up. */
  arrears: Money;
  /** When the current arrears episode began (arrears went from 0 to > 0); null = no arrears. */
  arrearsSince: number | null;
  /** The part of arrears that is unpaid late fees (not itself a base for late fees). */
  lateFeeArrears: Money;
  /** Late fees charged in the current episode. */
  lateFees: number;
  /** When the account was closed (001 §6(二)5: 30 days in arrears); null = not closed by arrears. */
  closedAt: number | null;
}

export type AccountPatch = Partial<Pick<Account, 'tenant' | 'validFrom' | 'validUntil' | 'prepaidTotal' | 'monthlyFees'>>;

export interface LowBalanceAlert {
  account: string;
  balance: Money;
  prepaidTotal: Money;
  monthlyFees: Money;
  reason: 'BELOW_10_PERCENT' | 'BELOW_MONTHLY_FEES';
  time: number;
}

/**
 * One step of an arrears episode (001 §6), decided once inside a ledger script: the account fell
 * into arrears (and is suspended), its first late fee was charged, or it was closed.
 */
export interface ArrearsAlert {
  type: 'tenant-suspended' | 'late-fee' | 'tenant-closed';
  account: string;
  tenant: string;
  /** Arrears owed after the step. */
  arrears: Money;
  /** Start of the episode (epoch ms). */
  since: number;
  time: number;
  /** Ledger entry that caused it ('' for a closure or an adopted episode). */
  entry: string;
  /** late-fee: the fee charged. */
  fee?: Money;
}

export interface EntryResult {
  type: string;
  /** Signed effect requested: credit > 0, debit < 0. */
  amount: Money;
  /** Signed effect applied to the balance (a charge may pay less than asked). */
  paid: Money;
  /** Part of a charge the balance could not pay, now owed as arrears. */
  arrears: Money;
  /** Arrears a top-up paid off. */
  arrearsPaid: Money;
  balanceAfter: Money;
  /** True when this entryId was applied before: nothing changed, the first result is returned. */
  duplicate: boolean;
  /** Low-balance alert fired by this entry (first application only). */
  alert?: LowBalanceAlert;
  /** Arrears steps this entry took (first application only). */
  arrearsAlerts?: ArrearsAlert[];
}

export interface HistoryEntry {
  streamId: string;
  id: string;
  type: string; // topup | adjust | call | forfeit | arrears | rent | minimum | complaint | ...
  amount: Money;
  balanceAfter: Money;
  time: number;
  note: string;
  arrears?: Money;
}

export interface ReserveRequest {
  /** Smallest useful grant (one billing increment); below it the call is denied. */
  min: Money;
  /** Largest grant wanted (one chunk). */
  max: Money;
}

export type DenyReason =
  | 'INSUFFICIENT_BALANCE' | 'SUSPENDED' | 'CLOSED' | 'EXPIRED' | 'NOT_YET_VALID'
  | 'SETTLED' | 'NO_RESERVATION' | 'RECOVERED';

export type ReserveResult =
  | { ok: true; granted: Money; total: Money; available: Money; existing: boolean }
  | { ok: false; reason: DenyReason; available: Money; total?: Money };

export interface HeartbeatResult {
  ok: boolean;
  reason?: 'NO_RESERVATION' | 'RECOVERED';
  granted?: Money;
  answeredAt?: number;
}

export interface Reservation {
  account: string;
  callId: string;
  granted: Money;
  startedAt: number;
  lastHeartbeat: number;
  /** 0 = not answered. */
  answeredAt: number;
  instance: string;
  /** Opaque caller data (e.g. tariff and destination) handed back to the recovery rate function. */
  meta: string;
  claimedBy?: string;
}

export interface SettleResult {
  debited: Money;
  balanceAfter: Money;
  /** Rated cost the reservation could not cover (should be 0 when calls are cut at the boundary). */
  shortfall: Money;
  released: Money;
  cdrRef: string;
  kind: 'settle' | 'release' | 'recovered';
  recovered: boolean;
  noReservation: boolean;
  settledAt: number;
  alreadySettled: boolean;
  alert?: LowBalanceAlert;
}

export interface ForfeitResult {
  expired: boolean;
  forfeited: Money;
  balanceAfter: Money;
  alreadyForfeited?: boolean;
}

export class LedgerError extends Error {
  constructor(readonly code: 'NO_ACCOUNT' | 'INSUFFICIENT_BALANCE' | 'BAD_ARGUMENT', message: string, readonly available?: Money) {
    super(message);
    this.name = 'LedgerError';
  }
}
