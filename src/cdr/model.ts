// The call detail record: one per call attempt, allowed or denied (DESIGN: "exactly one CDR").
// Absent values are null rather than missing so every JSONL line and CSV row has the same shape.
import type { Money, NumberClass } from '../config/types.js';
import { BEIJING, zonedIso } from './time.js';

export type CallDirection = 'outbound' | 'inbound';
export type HangupBy = 'caller' | 'callee' | 'system' | 'cutoff';

/** One dial attempt as the CDR keeps it. */
export interface CdrAttempt {
  trunk: string;
  /** Final status from that trunk (408 for a timeout we declared). */
  sipStatus: number;
  at: number; // epoch ms the attempt started
}

export interface CdrCharge {
  account: string;
  /** Reservation id in the ledger. */
  reservation: string;
  cost: Money;
}

/** One blind transfer (REFER) in the call, allowed or not (issue 13). */
export interface CdrTransfer {
  /** The seat that sent REFER. */
  transferredBy: string;
  /** Seat id or dialled number the Refer-To named. */
  transferTo: string;
  /** Epoch ms the REFER arrived. */
  at: number;
  /** 'connected', or why not: a deny reason, 'failed-<status>', 'cancelled'. */
  outcome: string;
  /** Final status told to the transferor in the last NOTIFY. */
  sipStatus: number;
  /** Whole seconds the transferor's leg was connected (answer or previous transfer → this one); connected transfers only. */
  transferorSeconds: number | null;
  /** Whole seconds the target's leg was connected (this transfer → the next one or the end); connected transfers only. */
  targetSeconds: number | null;
  /** A number target's new trunk leg: its reservation (charged on the same account, listed in charges). */
  reservation: string | null;
  /**
   * Where the call's recording goes on after this transfer, when the recorded channel left with
   * the transferor (a web phone's own endpoint): a second file. Absent: recordingPath goes on.
   */
  recordingPath?: string;
}

/** One policy step as the CDR keeps it: enough to tell why, not the full explain trace. */
export interface CdrTraceStep {
  step: string;
  outcome: string; // e.g. pass | deny | skip | replace
  detail?: string;
}

export interface Cdr {
  cdrId: string;
  callId: string;
  direction: CallDirection;
  tenant: string | null;
  seat: string | null;
  callerRaw: string;
  /** The caller id presented to the carrier (after the caller-id policy). */
  callerPresented: string | null;
  calleeRaw: string;
  calleeNormalised: string | null;
  numberClass: NumberClass | null;
  region: string | null;
  decision: 'allow' | 'deny';
  denyReason: string | null;
  /** Final status sent to the caller. */
  sipStatus: number;
  /** The route the decision chose: a routes.yaml id (outbound), the first destination group (400 calls); null when denied before routing. */
  route: string | null;
  trunks: CdrAttempt[];
  inviteAt: number;
  inviteIso: string;
  ringAt: number | null;
  ringIso: string | null;
  answerAt: number | null;
  answerIso: string | null;
  endAt: number;
  endIso: string;
  /** Answer to first BYE, whole seconds. */
  billableSeconds: number;
  /** After rounding up to the tariff increments. */
  billedSeconds: number;
  cost: Money;
  balanceAfter: Money | null;
  /** Every reservation the call paid from, with its cost (an inbound call's package and its forwarded leg). */
  charges: CdrCharge[];
  hangupBy: HangupBy | null;
  hangupCause: string | null;
  recordingPath: string | null;
  /** How media went: through FreeSWITCH, direct between the legs, or null (never connected). */
  media: 'anchored' | 'direct' | null;
  /** Why an anchored or recorded call was not, e.g. "not recorded: media server unavailable". */
  mediaNote: string | null;
  configVersion: string;
  /** Written by crash recovery from live-call state rather than by the call itself. */
  recovered: boolean;
  trace: CdrTraceStep[];
  /** Blind transfers in the call, in order (empty: none). */
  transfers: CdrTransfer[];
}

type Derived = 'inviteIso' | 'ringIso' | 'answerIso' | 'endIso';
type Defaulted =
  | 'tenant' | 'seat' | 'callerPresented' | 'calleeNormalised' | 'numberClass' | 'region' | 'denyReason'
  | 'route' | 'trunks' | 'ringAt' | 'answerAt' | 'billableSeconds' | 'billedSeconds' | 'cost' | 'balanceAfter' | 'charges'
  | 'hangupBy' | 'hangupCause' | 'recordingPath' | 'media' | 'mediaNote' | 'recovered' | 'trace' | 'transfers';

export type CdrInput = Omit<Cdr, Derived | Defaulted> & Partial<Pick<Cdr, Defaulted>>;

/** Fills defaults and the Beijing-time ISO stamps; rejects values that would corrupt billing. */
export function buildCdr(input: CdrInput, timeZone = BEIJING): Cdr {
  const iso = (ms: number | null) => (ms === null ? null : zonedIso(ms, timeZone));
  const cdr: Cdr = {
    cdrId: input.cdrId,
    callId: input.callId,
    direction: input.direction,
    tenant: input.tenant ?? null,
    seat: input.seat ?? null,
    callerRaw: input.callerRaw,
    callerPresented: input.callerPresented ?? null,
    calleeRaw: input.calleeRaw,
    calleeNormalised: input.calleeNormalised ?? null,
    numberClass: input.numberClass ?? null,
    region: input.region ?? null,
    decision: input.decision,
    denyReason: input.denyReason ?? null,
    sipStatus: input.sipStatus,
    route: input.route ?? null,
    trunks: input.trunks ?? [],
    inviteAt: input.inviteAt,
    inviteIso: zonedIso(input.inviteAt, timeZone),
    ringAt: input.ringAt ?? null,
    ringIso: iso(input.ringAt ?? null),
    answerAt: input.answerAt ?? null,
    answerIso: iso(input.answerAt ?? null),
    endAt: input.endAt,
    endIso: zonedIso(input.endAt, timeZone),
    billableSeconds: input.billableSeconds ?? 0,
    billedSeconds: input.billedSeconds ?? 0,
    cost: input.cost ?? 0,
    balanceAfter: input.balanceAfter ?? null,
    charges: input.charges ?? [],
    hangupBy: input.hangupBy ?? null,
    hangupCause: input.hangupCause ?? null,
    recordingPath: input.recordingPath ?? null,
    media: input.media ?? null,
    mediaNote: input.mediaNote ?? null,
    configVersion: input.configVersion,
    recovered: input.recovered ?? false,
    trace: input.trace ?? [],
    transfers: input.transfers ?? [],
  };
  validateCdr(cdr);
  return cdr;
}

export function validateCdr(c: Cdr): void {
  if (!c.cdrId) throw new Error('cdr: empty cdrId');
  // Money is integer 0.0001 yuan and durations whole seconds (DESIGN): floats here are a bug upstream.
  for (const k of ['cost', 'billableSeconds', 'billedSeconds', 'inviteAt', 'endAt', 'sipStatus'] as const) {
    if (!Number.isSafeInteger(c[k])) throw new Error(`cdr ${c.cdrId}: ${k} must be an integer`);
  }
  if (c.balanceAfter !== null && !Number.isSafeInteger(c.balanceAfter)) {
    throw new Error(`cdr ${c.cdrId}: balanceAfter must be an integer`);
  }
}

/** Integer 0.0001-yuan units as a yuan string with 4 decimals, exact (no float division). */
export function formatYuan(units: Money): string {
  const abs = Math.abs(units);
  const frac = String(abs % 10_000).padStart(4, '0');
  return `${units < 0 ? '-' : ''}${Math.floor(abs / 10_000)}.${frac}`;
}
