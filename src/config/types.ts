// The validated, immutable configuration snapshot that the pure decision core reads.
// Produced by config/ from the YAML files in the config directory; never mutated after load.
// Money is integer units of 0.0001 yuan ("fen4"); durations are integer seconds unless named *Ms.

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
  /** Announcement file per deny reason, played as early media before the rejection. */
  announcements: Partial<Record<string, string>>;
  /** Seconds before cut-off at which the low-credit warning plays. */
  warningSeconds: number;
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
  tenant: string;
  /** HA1 = MD5(username:realm:password), hex; plain passwords never kept in the snapshot. */
  ha1: string;
  /** The number presented by default when the seat dials out. */
  callerId?: string;
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

export interface RouteTrunkRef { trunk: string; weight: number }

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

export interface ConfigSnapshot {
  /** Content hash of the source files: the config version. */
  version: string;
  loadedAt: number; // epoch ms
  realm: string;
  tenants: ReadonlyMap<string, Tenant>;
  seats: ReadonlyMap<string, Seat>;
  trunks: ReadonlyMap<string, Trunk>;
  routes: readonly Route[];
  tariffs: ReadonlyMap<string, Tariff>;
  /** Global blacklist. */
  blacklist: Blacklist;
}
