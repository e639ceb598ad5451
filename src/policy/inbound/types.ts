// The inbound (400) decision as data, like the outbound one: logged, explained, written into the
// CDR and asserted in tests the same way.
import type { DistributionStrategy, Money, Plan400Action, TariffRate } from '../../config/types.js';
import type { DialledNumber } from '../../numbers/normalize.js';
import type { AccountStanding, TrunkChoice } from '../types.js';
import type { InboundDenyReason } from './reasons.js';

/** An INVITE from a carrier towards a 400 number. */
export interface InboundCall {
  callId: string;
  /** Where the INVITE came from (the carrier allow-list is checked against it). */
  sourceIp: string;
  sourcePort: number;
  /** Caller (From user part, or a SIP URI). */
  from: string;
  /** Dialled 400 number (Request-URI user part, or a SIP URI). */
  to: string;
}

/** What the ledger knows at decision time. */
export interface InboundView {
  /** Available money of the plan's package account; null = no such account. */
  available: Money | null;
  /** The package account's standing (arrears, closure); absent = not read. */
  standing?: AccountStanding;
}

export type InboundStep =
  | 'source' | 'number' | 'status' | 'package' | 'caller' | 'blacklist' | 'time' | 'region' | 'group'
  | 'pin' | 'welcome' | 'balance'
  /** Runtime: the members rung, in order, and who answered (written into the CDR). */
  | 'members' | 'missed-call';

export interface InboundTraceEntry {
  step: InboundStep;
  outcome: 'pass' | 'deny' | 'skip';
  detail: string;
}

/** A member to ring, resolved against the config: a seat, or a number with its trunks. */
export type RouteMember =
  | { key: string; kind: 'seat'; seat: string; weight: number; noAnswerSeconds: number }
  | {
    key: string; kind: 'number'; number: string; weight: number; noAnswerSeconds: number;
    /** Outbound routing of the owner tenant (or the member's own trunks), failover order. */
    trunks: TrunkChoice[];
    /** The owner's outbound tariff rate for this leg (charged to the owner tenant's account). */
    rate: TariffRate;
  };

export interface RouteGroup {
  id: string;
  strategy: DistributionStrategy;
  noAnswerSeconds: number;
  /** In config order; `distribute` orders them per call. */
  members: RouteMember[];
}

interface Base {
  callId: string;
  /** The 400 number (national) when it was recognised. */
  number: string | null;
  /** Plan owner tenant, when a plan was found. */
  owner: string | null;
  /** Carrier trunk the call came from. */
  trunkId: string | null;
  callerRaw: string;
  /** Normalised caller; null when anonymous or malformed. */
  caller: DialledNumber | null;
  configVersion: string;
  trace: InboundTraceEntry[];
}

export interface InboundReject extends Base {
  kind: 'reject';
  reason: InboundDenyReason;
  sipStatus: number;
  /** RFC 3326 Reason header, or null where the answer must not say why (unknown source/number). */
  reasonHeader: string | null;
  detail: string;
  /** Played as early media before the final answer (closed, not in service). */
  announcement: string | null;
}

interface Accepted extends Base {
  number: string;
  owner: string;
  /** The package account: answered time and charged missed calls are debited here. */
  account: string;
  /** Which time rule and region branch chose the destination (CDR, stats). */
  branch: { time: string | null; region: string | null };
  recording: boolean;
}

export interface InboundVoicemail extends Accepted {
  kind: 'voicemail';
  action: Extract<Plan400Action, { kind: 'voicemail' }>;
}

export interface InboundConnect extends Accepted {
  kind: 'connect';
  welcome: string | null;
  pin: { digits: string; maxAttempts: number; prompt: string; invalidPrompt: string | null } | null;
  /** The first group, then its overflow chain. */
  groups: RouteGroup[];
  /** The package rate (002 §1.3 计费 元/分钟): answered time, and missed calls past the 100th (§3.5). */
  rate: TariffRate;
  /** Longest answered time the package balance pays for; null = unlimited (free rate). */
  maxDurationSeconds: number | null;
  /** Played when nobody answered. */
  unavailable: string | null;
  /** Played before hanging up after the last wrong PIN. */
  pinFailed: string | null;
}

export type InboundDecision = InboundReject | InboundVoicemail | InboundConnect;
