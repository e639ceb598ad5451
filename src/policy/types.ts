// The outbound decision as data: logged, explained (`dialgate explain`), written into the CDR and
// asserted in tests the same way.
import type { Money, TariffRate } from '../config/types.js';
import type { DialledNumber } from '../numbers/normalize.js';
import type { DenyReason } from './reasons.js';

/** An outbound INVITE from an authenticated seat. */
export interface OutboundCall {
  callId: string;
  seatId: string;
  tenantId: string;
  /** Caller id the seat presented (From user part, a number or a SIP URI). */
  from: string;
  /** What the seat dialled (Request-URI user part or a SIP URI). */
  to: string;
  /**
   * The INVITE's body: an SDP offer, none (late offer, allowed), an SDP we cannot use, or something
   * that is not SDP at all. Absent = 'sdp' (explain and tests that do not model bodies).
   */
  body?: 'sdp' | 'none' | 'bad-sdp' | 'other';
}

/** What the ledger knows at decision time. */
export interface LedgerView {
  /** Balance minus other live calls' reservations. */
  available: Money;
  /** Live calls of the tenant, this one excluded. */
  tenantActiveCalls: number;
  /** Live calls per trunk id, this one excluded. */
  trunkActiveCalls: ReadonlyMap<string, number>;
  /** Toll-fraud counters of the tenant (absent: not read, caps not applied). */
  fraud?: FraudView;
  /** Redis could not be read: nothing but an emergency call may proceed (no money, no ports). */
  unavailable?: boolean;
  /** The tenant account's standing (001 §6 arrears, closure); absent = not read (explain without Redis). */
  standing?: AccountStanding;
}

/** What the ledger says of the tenant account's service: its status and what it owes. */
export interface AccountStanding {
  status: 'active' | 'suspended' | 'closed';
  /** Arrears owed (unpaid fees and late fees); > 0 suspends the tenant until paid (001 §6(一)). */
  arrears: Money;
  /** Start of the arrears episode (epoch ms); null without arrears. */
  arrearsSince: number | null;
}

/** The tenant's toll-fraud counters at decision time (issue 16), this call excluded. */
export interface FraudView {
  callsThisSecond: number;
  /** Attempts admitted today (tenant's local day) to the dialled number. */
  calleeAttemptsToday: number;
  /** Settled cost this hour and this local day. */
  spentThisHour: Money;
  spentToday: Money;
}

export type PolicyStep =
  | 'tenant' | 'number' | 'emergency' | 'window' | 'scope' | 'blacklist' | 'caller-id'
  | 'concurrency' | 'fraud' | 'route' | 'balance' | 'media';

export interface TraceEntry {
  step: PolicyStep;
  /** pass: allowed; deny: stopped here; skip: not applied (emergency, no rule); replace: caller id replaced. */
  outcome: 'pass' | 'deny' | 'skip' | 'replace';
  detail: string;
}

/** One trunk to try, in failover order. */
export interface TrunkChoice {
  trunkId: string;
  /** sip:<rewritten number>@<gateway>. */
  requestUri: string;
  callerId: string;
}

export interface Allow {
  kind: 'allow';
  callId: string;
  tenantId: string;
  seatId: string;
  /** 110/119/120/122: allowed regardless of window, scope, balance and ports; never charged. */
  emergency: boolean;
  /** Caller id presented (before per-trunk overrides). */
  callerId: string;
  callee: DialledNumber;
  routeId: string;
  trunks: TrunkChoice[];
  media: 'anchored' | 'direct';
  recording: boolean;
  /** Refuse (503) rather than connect unrecorded. */
  recordingRequired: boolean;
  /** Null: not rated (emergency). */
  rate: TariffRate | null;
  /** Cut-off in answered seconds; null = unlimited (emergency, free rate). */
  maxDurationSeconds: number | null;
  /** Seconds before the cut-off at which the warning plays. */
  warningSeconds: number;
  configVersion: string;
  trace: TraceEntry[];
}

export interface Deny {
  kind: 'deny';
  callId: string;
  tenantId: string;
  seatId: string;
  reason: DenyReason;
  sipStatus: number;
  /** RFC 3326 Reason header value: SIP ;cause=403 ;text="…". */
  reasonHeader: string;
  detail: string;
  /** Announcement file to play as early media before rejecting, if the tenant configured one. */
  announcement: string | null;
  /** The normalised callee when normalisation got that far (CDR: class, region). */
  callee: DialledNumber | null;
  configVersion: string;
  trace: TraceEntry[];
}

export type Decision = Allow | Deny;
