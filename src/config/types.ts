// The validated, immutable configuration snapshot that the pure decision core reads.
// Produced by config/ from the YAML files in the config directory; never mutated after load.
// Money is integer units of 0.0001 yuan ("fen4"); durations are integer seconds unless named *Ms.

import type { OverloadSettings } from '../sip/overload.js';
import type { RedisTarget } from './redis-target.js';

/** 0.0001 yuan. 0.13 yuan = 1300 units. */
export type Money = number;

/** "HH:MM" local time, 00:00..24:00. */
export type LocalTime = string;

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface TimeRange { start: LocalTime; end: LocalTime }

/**
 * A weekly schedule with optional Chinese statutory holidays:
 * - holidays: 'cn-statutory' closes statutory holidays (法定节假日) and opens make-up working days
 *   (调休) with the `workday` ranges; 'ignore' uses the weekly table only.
 */
export interface Schedule {
  timezone: string; // IANA, default Asia/Shanghai
  weekly: Partial<Record<Weekday, TimeRange[]>>;
  holidays: 'cn-statutory' | 'ignore';
  /** Ranges on statutory holidays (empty = closed). */
  holidayRanges: TimeRange[];
  /**
   * Ranges on make-up working days (调休) with 'cn-statutory'. Absent = the ranges of the first of
   * mon…fri that has any (added by the policy core; see time/schedule.ts).
   */
  workdayRanges?: TimeRange[];
}

/** Number classes from numbers/classify. */
export type NumberClass =
  | 'mobile' | 'landline' | 'tollfree400' | 'tollfree800' | 'service' | 'emergency'
  | 'international' | 'premium' | 'unknown';

export interface Tenant {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  /** ISO dates (inclusive start, exclusive end), in the tenant's time zone. */
  validFrom?: string;
  validUntil?: string;
  /** Outbound dialing window (004 §3.2). Absent = no window restriction. */
  window?: Schedule;
  /** Number classes the tenant may call (004 §6.3 out-of-scope calling). */
  allowedClasses: NumberClass[];
  /** Purchased ports = concurrent call limit. */
  maxConcurrent: number;
  /** Numbers the tenant owns and may present as caller id. */
  callerIdPool: string[];
  /** What to do when a seat presents a caller id the tenant does not own. */
  callerIdPolicy: 'deny' | 'replace';
  /** Tenant do-not-call list (004 §10.3 complaint numbers join it too). */
  blacklist: Blacklist;
  tariff: string; // Tariff id
  account: string; // ledger account id
  recording: boolean;
  /** Addresses / CIDR blocks the tenant's seats may register and call from; absent = anywhere. */
  allowedSources?: string[];
  /** `recording: required`: without a media server the call is refused (503), not connected unrecorded. */
  recordingRequired?: boolean;
  /** Announcement file per deny reason, played as early media before the rejection. */
  announcements: Partial<Record<string, string>>;
  /** Seconds before cut-off at which the low-credit warning plays. */
  warningSeconds: number;
  /** Longest answered call (hung calls end here, cause max-duration); absent = 4 h. */
  maxCallSeconds?: number;
  /** Toll-fraud caps (issue 16), each optional: new calls per second, settled spend per hour and per
   * local day, attempts to one callee per local day. */
  maxCallsPerSecond?: number;
  maxSpendPerHour?: Money;
  maxSpendPerDay?: Money;
  maxAttemptsPerCalleePerDay?: number;
  /** Seconds of wrap-up after an answered call before 400 distribution rings a seat again (issue 13). */
  wrapUpSeconds?: number;
}

/** Constant-time membership over normalised national numbers (see numbers/normalize). */
export interface NumberSet {
  has(number: string): boolean;
  readonly size: number;
}

/**
 * A loaded blacklist: exact numbers (inline and from large text/CSV files, merged into one set)
 * and prefixes. All entries are in normalised national form (e.g. 13800138000, 01012345678).
 */
export interface Blacklist {
  exact: NumberSet;
  prefixes: readonly string[];
  /** Source files, for diffs and reload messages. */
  files: readonly string[];
}

export interface Seat {
  id: string; // SIP username
  /** Display name (agent), for logs and CDRs. */
  name?: string;
  tenant: string;
  /** HA1 = MD5(username:realm:password), hex; plain passwords never kept in the snapshot. */
  ha1: string;
  /** SHA-256(username:realm:password), hex (RFC 7616), when the seat has a password. */
  ha1Sha256?: string;
  /** The number presented by default when the seat dials out. */
  callerId?: string;
  /** Seconds of wrap-up after an answered call (issue 13); absent = the tenant's. */
  wrapUpSeconds?: number;
}

export interface Trunk {
  id: string;
  /** sip:host:port of the carrier gateway. */
  uri: string;
  maxConcurrent: number;
  /** Prefix added to the dialled number on this trunk. */
  prefix: string;
  /** Strip this many leading digits before adding the prefix. */
  strip: number;
  /** Fixed caller id presented on this trunk, if the carrier requires one. */
  callerId?: string;
  username?: string;
  password?: string; // secret: resolved from env/file, never logged
  /** Source addresses that may send inbound calls from this carrier (400 issue). */
  inboundSources: string[];
  timeoutSeconds: number;
}

export interface RouteMatch {
  prefixes?: string[];
  classes?: NumberClass[];
  regions?: string[];
  tenants?: string[];
}

export interface RouteTrunkRef {
  trunk: string;
  weight: number;
  /**
   * Failover tier within the route, lower first. Absent = its position in the list (plain
   * failover order). Refs in one tier share calls by weight (added by the policy core; see
   * policy/routing.ts).
   */
  priority?: number;
}

export interface Route {
  id: string;
  priority: number; // lower first
  match: RouteMatch;
  /** Trunks in failover order; equal priority trunks share by weight. */
  trunks: RouteTrunkRef[];
  media: 'anchored' | 'direct';
}

export interface TariffRate {
  /** Longest-prefix or class match. */
  prefix?: string;
  class?: NumberClass;
  ratePerMinute: Money;
  initialIncrement: number; // seconds
  subsequentIncrement: number; // seconds
  connectFee: Money;
}

export interface Tariff { id: string; rates: TariffRate[] }

/** Process-level settings from dialgate.yaml: where the adapters connect, what they listen on. */
/** A bearer token of the ops API: `token` is the secret, `name` what logs show instead. */
export interface HttpToken {
  name: string;
  role: 'admin' | 'tenant-viewer' | 'metrics';
  /** The one tenant a tenant-viewer reads. */
  tenant?: string;
  token: string;
}

export interface ServerSettings {
  /** SIP digest realm; seat HA1 values are computed with it. */
  realm: string;
  /** Default IANA time zone for windows that name none. */
  timezone: string;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' };
  /**
   * Ops HTTP API. `token` (secret) is a single admin token; `tokens` adds named tokens with roles
   * (ops/access.ts). None at all: the API is open. `metricsOpen`: /metrics needs no token.
   * `phone.wsUrl`: the SIP WebSocket (drachtio-server ws/wss contact) the web phone registers to.
   */
  http: {
    host: string; port: number; token?: string; tokens?: HttpToken[]; metricsOpen?: boolean;
    /** HMAC key of the web phone's seat tokens (secret); absent: derived from the drachtio secret. */
    seatTokenKey?: string;
    /** Lifetime of a seat token (default 8 h: a shift). */
    seatTokenHours?: number;
    /** The web phone (/phone): where browsers reach drachtio-server's SIP WebSocket. */
    phone?: { wsUrl: string };
  };
  /** drachtio-server admin connection (inbound mode); `secret` is a secret. */
  drachtio: { host: string; port: number; secret: string };
  /** FreeSWITCH event socket (`secret` is a secret) and its SIP address for fsmrf. */
  freeswitch: {
    host: string; port: number; secret: string; sipAddress: string; recordingDir: string;
    /** Orphan channels: looked for every intervalSeconds, killed once unheld for graceSeconds. */
    reconcile: { enabled: boolean; intervalSeconds: number; graceSeconds: number };
    /** Several FreeSWITCH servers (a farm, all with `secret`); absent: just host:port. */
    servers?: { host: string; port: number }[];
  };
  /** Where Redis is: one URL (may carry a password), Cluster seed nodes, or Sentinel; passwords are
   *  secrets. streamShards: keys the CDR and alert streams are spread over (1 = one stream). */
  redis: RedisTarget & { streamShards: number };
  /** Directory for daily CDR files, absolute (relative paths resolve against the config dir). */
  cdr: { dir: string };
  /** Drain (SIGTERM, POST /drain): live calls get this long to finish before they are ended and settled. */
  drain: { seconds: number };
  /** Low-balance alerts (003 §2.2): POSTed as JSON to `webhook` when set. */
  alerts?: { webhook?: string; timeoutMs: number };
  /** Per-source request limits before authentication; a source over a limit is refused banSeconds. */
  security?: { invitePerSecond: number; registerPerSecond: number; optionsPerSecond: number; banSeconds: number; digestAlgorithms: ('SHA-256' | 'MD5')[] };
  /** Overload control of new calls (sip/overload.ts): 503 + Retry-After past these limits. */
  overload?: OverloadSettings;
  /** RFC 4028 session timers: the interval we offer and answer with, and our Min-SE. */
  sessionTimers?: { seconds: number; minSeconds: number };
}

export interface ConfigSnapshot {
  /** Content hash of the source files: the config version. */
  version: string;
  loadedAt: number; // epoch ms
  /** Directory the snapshot was loaded from (absolute). */
  sourceDir: string;
  /** Same as server.realm (kept for readers that only need the realm). */
  realm: string;
  server: ServerSettings;
  tenants: ReadonlyMap<string, Tenant>;
  seats: ReadonlyMap<string, Seat>;
  trunks: ReadonlyMap<string, Trunk>;
  routes: readonly Route[];
  tariffs: ReadonlyMap<string, Tariff>;
  /** Global blacklist. */
  blacklist: Blacklist;
  /** 400 numbers by national number (plans400.yaml); absent or empty = no inbound service. */
  plans400?: ReadonlyMap<string, Plan400>;
}

// ---- 400 numbers (contract 002) ----------------------------------------------------------------

/** How a destination group hands a call to its members (002 §1.3 智能话务分配). */
export type DistributionStrategy = 'sequential' | 'round-robin' | 'weighted' | 'longest-idle' | 'ring-all';

/** A destination (002 §1.3 号码绑定): a registered seat, or a number reached through a trunk. */
export type GroupMember =
  | { kind: 'seat'; seat: string; weight: number; noAnswerSeconds?: number }
  | { kind: 'number'; number: string; weight: number; noAnswerSeconds?: number; trunks?: string[] };

export interface DestinationGroup {
  id: string;
  strategy: DistributionStrategy;
  /** Ring time per member before moving on (ring-all: for the whole group). */
  noAnswerSeconds: number;
  members: GroupMember[];
  /** Group tried when no member answered. */
  overflow?: string;
}

/** What a time rule (or the region strategy) sends a call to. */
export type Plan400Action =
  | { kind: 'route' } // on to the region strategy
  | { kind: 'group'; group: string }
  | { kind: 'announcement'; file: string } // e.g. closed: played as early media, then 480
  | { kind: 'voicemail'; prompt?: string; maxSeconds: number };

export interface TimeRule { id: string; schedule: Schedule; action: Plan400Action }

export interface RegionBranch { id: string; regions: string[]; group: string }

/** 002 §1.3 套餐: total, period, per-minute rate; the money itself is in the ledger account. */
export interface Package400Terms {
  total: Money;
  months: number;
  /** Rate for answered inbound minutes and for charged missed calls (002 §3.5). */
  rate: TariffRate;
  /** First day of service (ISO date, Beijing time); the package ends `months` later (exclusive). */
  startDate: string;
}

export interface Plan400 {
  /** National form, e.g. 4008050508. */
  number: string;
  name: string;
  /** Owner tenant (002 §3.6: own use only). */
  owner: string;
  /** Ledger account holding the package money. */
  account: string;
  status: 'active' | 'suspended';
  /** ISO date the service was stopped; 7 days later the number is reclaimed (002 §2.3). */
  suspendedSince?: string;
  package: Package400Terms;
  /** Callers refused on this number (002 §1.3 黑名单). */
  blacklist: Blacklist;
  /** Callers refused on every 400 number of the owner tenant. */
  tenantBlacklist: Blacklist;
  welcome?: string;
  /** 002 §1.3 密码保护: the caller keys the PIN before being connected. */
  pin?: { digits: string; maxAttempts: number; prompt: string; invalidPrompt?: string };
  /** Rules in order, first open one wins; none open → `otherwise`. Null = always route. */
  time: { rules: TimeRule[]; otherwise: Plan400Action } | null;
  /** Branches in order; unknown regions go to `default`. */
  region: { branches: RegionBranch[]; default: string };
  groups: DestinationGroup[];
  announcements: { closed?: string; notInService?: string; unavailable?: string; pinFailed?: string };
  recording: boolean;
}
