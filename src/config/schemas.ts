// JSON Schemas, one per config file. Unknown fields are errors (additionalProperties: false), so a
// typo never silently falls back to a default. `dg` names a value check from checks.ts; `expected`
// is the words used when a pattern does not match.
import { DENY_REASONS } from '../policy/reasons.js';
import { WEEKDAYS } from './schedule.js';

export type ConfigKind = 'server' | 'tenants' | 'seats' | 'trunks' | 'routes' | 'tariffs' | 'blacklist' | 'plans400';

type Schema = Record<string, unknown>;

/** Announcement names a tenant may configure. */
export const ANNOUNCEMENT_KEYS: readonly string[] = [...Object.keys(DENY_REASONS), 'credit-warning'];


export const NUMBER_CLASSES = [
  'mobile', 'landline', 'tollfree400', 'tollfree800', 'service', 'emergency', 'international', 'premium', 'unknown',
] as const;

const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}),
});
const list = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

const id: Schema = {
  type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', expected: 'an id of letters, digits, ".", "_" or "-"',
};
const seatId: Schema = {
  type: ['string', 'integer'], pattern: '^[A-Za-z0-9._~-]+$', expected: 'a SIP user name (letters, digits, . _ ~ -)',
};
const phone: Schema = { type: ['string', 'integer'], dg: 'phone' };
const digits: Schema = { type: ['string', 'integer'], dg: 'digits' };
const money: Schema = { type: ['string', 'number'], dg: 'money' };
const secret: Schema = { dg: 'secret' };
const port: Schema = { type: 'integer', minimum: 1, maximum: 65535 };
const host: Schema = { type: 'string', minLength: 1 };
const hostPort: Schema = {
  type: 'string', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}$', expected: 'host:port, e.g. 10.0.0.5:7000',
};
const numberClass: Schema = { type: 'string', enum: [...NUMBER_CLASSES] };
const wrapUpSeconds: Schema = { type: 'integer', minimum: 0, maximum: 3600 };
const timeRanges: Schema = list({ type: 'string', dg: 'timeRange' });

const dayRange = `^(${WEEKDAYS.join('|')})-(${WEEKDAYS.join('|')})$`;
const schedule: Schema = obj({
  timezone: { type: 'string', dg: 'timezone' },
  holidays: { type: 'string', enum: ['ignore', 'cn-statutory'] },
  weekly: {
    ...obj(Object.fromEntries([...WEEKDAYS, 'all', 'weekdays', 'weekend'].map((d) => [d, timeRanges]))),
    patternProperties: { [dayRange]: timeRanges },
    minProperties: 1,
  },
  holidayRanges: timeRanges,
  // 调休 make-up working days; absent = the first of mon…fri that has ranges.
  workdayRanges: timeRanges,
}, ['weekly']);

const blacklistBody: Schema = obj({
  numbers: list(phone),
  prefixes: list(digits),
  files: list({ dg: 'listFile' }),
});

const tenant: Schema = obj({
  id,
  name: { type: 'string' },
  status: { type: 'string', enum: ['active', 'suspended'] },
  validFrom: { type: 'string', dg: 'isoDate' },
  validUntil: { type: 'string', dg: 'isoDate' },
  window: schedule,
  allowedClasses: list(numberClass, { uniqueItems: true }),
  maxConcurrent: { type: 'integer', minimum: 1 },
  callerIdPool: list(phone),
  callerIdPolicy: { type: 'string', enum: ['deny', 'replace'] },
  blacklist: blacklistBody,
  tariff: id,
  account: id,
  recording: { enum: [true, false, 'required'] },
  allowedSources: list({ type: 'string', minLength: 1 }),
  // Keys are deny reasons (policy/reasons.ts) plus the low-credit warning, so a typo is an error.
  announcements: {
    type: 'object',
    propertyNames: { enum: [...ANNOUNCEMENT_KEYS] },
    additionalProperties: { type: 'string', minLength: 1 },
  },
  warningSeconds: { type: 'integer', minimum: 0 },
  // Hung calls and toll fraud (issue 16): the longest answered call, and per-tenant caps.
  maxCallSeconds: { type: 'integer', minimum: 1 },
  maxCallsPerSecond: { type: 'integer', minimum: 1 },
  maxSpendPerHour: money,
  maxSpendPerDay: money,
  maxAttemptsPerCalleePerDay: { type: 'integer', minimum: 1 },
  // Issue 13 agent state: seconds after an answered call before 400 distribution rings the seat again.
  wrapUpSeconds,
}, ['id', 'maxConcurrent', 'tariff']);

const seat: Schema = obj({
  id: seatId,
  name: { type: 'string' },
  tenant: id,
  password: secret,
  ha1: secret,
  callerId: phone,
  // Overrides the tenant's wrapUpSeconds for this seat.
  wrapUpSeconds,
}, ['id', 'tenant']);

const trunk: Schema = obj({
  id,
  uri: { type: 'string', dg: 'sipUri' },
  maxConcurrent: { type: 'integer', minimum: 1 },
  prefix: { type: 'string', pattern: '^[0-9*#+]*$', expected: 'digits (or * # +) to put before the number' },
  strip: { type: 'integer', minimum: 0 },
  callerId: phone,
  username: { type: 'string', minLength: 1 },
  password: secret,
  inboundSources: list({ type: 'string', minLength: 1 }),
  timeoutSeconds: { type: 'integer', minimum: 1 },
}, ['id', 'uri', 'maxConcurrent']);

const route: Schema = obj({
  id,
  priority: { type: 'integer', minimum: 0 },
  match: obj({
    prefixes: list(digits),
    classes: list(numberClass, { uniqueItems: true }),
    regions: list({ type: 'string', minLength: 1 }),
    tenants: list(id),
  }),
  trunks: list({ dg: 'trunkRef' }, { minItems: 1 }),
  media: { type: 'string', enum: ['anchored', 'direct'] },
}, ['id', 'priority', 'trunks']);

const tariff: Schema = obj({
  id,
  rates: list(obj({
    prefix: digits,
    class: numberClass,
    ratePerMinute: money,
    increments: { type: ['string', 'integer'], dg: 'increments' },
    connectFee: money,
  }, ['ratePerMinute']), { minItems: 1 }),
}, ['id', 'rates']);

const server: Schema = obj({
  realm: { type: 'string', pattern: '^[A-Za-z0-9.-]+$', expected: 'a SIP domain such as dialgate.local' },
  timezone: { type: 'string', dg: 'timezone' },
  log: obj({ level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] } }),
  // Bearer tokens of the ops API with roles (ops/access.ts); `token` is the older single admin token.
  http: obj({
    host, port, token: secret,
    tokens: list(obj({
      name: id,
      role: { type: 'string', enum: ['admin', 'tenant-viewer', 'metrics'] },
      tenant: id,
      token: secret,
    }, ['name', 'role', 'token'])),
    metricsOpen: { type: 'boolean' },
    // Seat sessions of the web phone (issue 13, ops/phone-routes.ts): the HMAC key of seat tokens
    // (a secret; absent = derived from the drachtio secret) and how long a token lasts.
    seatTokenKey: secret,
    seatTokenHours: { type: 'integer', minimum: 1, maximum: 168 },
    // The web phone (/phone): where browsers reach drachtio-server's SIP WebSocket (RFC 7118).
    phone: obj({ wsUrl: { type: 'string', pattern: '^wss?://[^\\s/]+(/\\S*)?$', expected: 'a ws:// or wss:// URL such as wss://sip.example.com:8443' } }, ['wsUrl']),
  }),
  drachtio: obj({ host, port, secret }, ['secret']),
  freeswitch: obj({
    host, port, secret, sipAddress: host, recordingDir: host,
    // The orphan-channel reconciler (media/channel-reconciler.ts). The grace covers an endpoint's
    // set-up, which media-gateway.ts bounds at 5 s: a shorter one could kill a channel being born.
    reconcile: obj({ enabled: { type: 'boolean' }, intervalSeconds: { type: 'integer', minimum: 1 }, graceSeconds: { type: 'integer', minimum: 5 } }),
    // A farm (issue 15): each call goes to the least loaded server that is up; all share `secret`.
    servers: list(obj({ host, port }, ['host']), { minItems: 1 }),
  }, ['secret']),
  // Exactly one of url / cluster / sentinel (checked in build.ts, which can say which two clash).
  redis: obj({
    url: secret,
    cluster: obj({ nodes: list(hostPort, { minItems: 1 }), password: secret }, ['nodes']),
    sentinel: obj({ name: { type: 'string', minLength: 1 }, sentinels: list(hostPort, { minItems: 1 }), password: secret, sentinelPassword: secret }, ['name', 'sentinels']),
    // CDR and alert streams are split over this many keys (slots), so one busy tenant does not
    // pin one Cluster shard; 1 (the default) keeps the single stream of a one-server deployment.
    streamShards: { type: 'integer', minimum: 1, maximum: 64 },
  }),
  cdr: obj({ dir: host }),
  // Graceful drain (SIGTERM, POST /drain): how long live calls may go on before they are ended.
  drain: obj({ seconds: { type: 'integer', minimum: 0, maximum: 86_400 } }),
  alerts: obj({ webhook: { type: 'string', pattern: '^https?://', expected: 'an http(s) URL' }, timeoutMs: { type: 'integer', minimum: 100 } }),
  // Per-source request limits (sip/flood-guard.ts): requests per second and the ban that follows.
  // RFC 4028 session timers on both legs of an answered call; RFC 4028 puts Min-SE at 90 s or more.
  sessionTimers: obj({ seconds: { type: 'integer', minimum: 90 }, minSeconds: { type: 'integer', minimum: 90 } }),
  security: obj({
    invitePerSecond: { type: 'integer', minimum: 1 },
    registerPerSecond: { type: 'integer', minimum: 1 },
    optionsPerSecond: { type: 'integer', minimum: 1 },
    banSeconds: { type: 'integer', minimum: 1 },
    // Challenges offered, most preferred first (RFC 7616 §3.7). SHA-256 needs seats with a
    // password (its HA1 is computed at load); many phones and sipp take only MD5.
    digestAlgorithms: list({ type: 'string', enum: ['SHA-256', 'MD5'] }, { minItems: 1, uniqueItems: true }),
  }),
  // Overload control (sip/overload.ts): new calls get 503 + Retry-After past these limits.
  overload: obj({
    maxCallsPerSecond: { type: 'integer', minimum: 1 },
    shedOnLoad: { type: 'boolean' },
    maxLoopUtilization: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    maxLoopLagMs: { type: 'integer', minimum: 10 },
    retryAfterSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
  }),
}, ['realm', 'drachtio', 'freeswitch']);

// ---- plans400.yaml (contract 002: 400 numbers) ----
// A schedule of a time rule: like a window, but `weekly` may be empty (a holiday-only rule).
const ruleSchedule: Schema = obj({
  timezone: { type: 'string', dg: 'timezone' },
  holidays: { type: 'string', enum: ['ignore', 'cn-statutory'] },
  weekly: {
    ...obj(Object.fromEntries([...WEEKDAYS, 'all', 'weekdays', 'weekend'].map((d) => [d, timeRanges]))),
    patternProperties: { [dayRange]: timeRanges },
  },
  holidayRanges: timeRanges,
  workdayRanges: timeRanges,
}, ['weekly']);
const file: Schema = { type: 'string', minLength: 1 };
// Actions and members are checked by checks.ts (`dg`), which words their errors better than oneOf.
const action: Schema = { dg: 'planAction' };
const member: Schema = { dg: 'groupMember' };
const noAnswer: Schema = { type: 'integer', minimum: 1, maximum: 300 };
const plan400: Schema = obj({
  number: phone,
  name: { type: 'string' },
  owner: id,
  account: id,
  status: { type: 'string', enum: ['active', 'suspended'] },
  suspendedSince: { type: 'string', dg: 'isoDate' },
  package: obj({
    total: money,
    months: { type: 'integer', minimum: 1, maximum: 120 },
    ratePerMinute: money,
    increments: { type: ['string', 'integer'], dg: 'increments' },
    startDate: { type: 'string', dg: 'isoDate' },
  }, ['total', 'months', 'ratePerMinute', 'startDate']),
  blacklist: blacklistBody,
  welcome: file,
  pin: obj({ digits: secret, maxAttempts: { type: 'integer', minimum: 1, maximum: 10 }, prompt: file, invalidPrompt: file }, ['digits']),
  time: obj({
    rules: list(obj({ id, schedule: ruleSchedule, then: action }, ['id', 'schedule', 'then']), { minItems: 1 }),
    otherwise: action,
  }, ['rules']),
  region: obj({
    branches: list(obj({ id, regions: list({ type: 'string', minLength: 1 }, { minItems: 1 }), group: id }, ['id', 'regions', 'group'])),
    default: id,
  }, ['default']),
  group: id,
  groups: list(obj({
    id,
    strategy: { type: 'string', enum: ['sequential', 'round-robin', 'weighted', 'longest-idle', 'ring-all'] },
    noAnswerSeconds: noAnswer,
    members: list(member, { minItems: 1 }),
    overflow: id,
  }, ['id', 'members']), { minItems: 1 }),
  announcements: obj({ closed: file, notInService: file, unavailable: file, pinFailed: file }),
  recording: { type: 'boolean' },
}, ['number', 'owner', 'package', 'groups']);

const plans400: Schema = obj({
  callerBlacklists: list(obj({ tenant: id, numbers: list(phone), prefixes: list(digits), files: list({ dg: 'listFile' }) }, ['tenant'])),
  plans400: list(plan400),
}, ['plans400']);

export const SCHEMAS: Readonly<Record<ConfigKind, Schema>> = {
  server,
  tenants: obj({ tenants: list(tenant) }, ['tenants']),
  seats: obj({ seats: list(seat) }, ['seats']),
  trunks: obj({ trunks: list(trunk) }, ['trunks']),
  routes: obj({ routes: list(route) }, ['routes']),
  tariffs: obj({ tariffs: list(tariff) }, ['tariffs']),
  blacklist: obj({ blacklist: blacklistBody }, ['blacklist']),
  plans400,
};

/** What each file kind is called on disk: `<name>.yaml` and, for lists of entities, `<name>/*.yaml`. */
export const FILE_NAMES: Readonly<Record<ConfigKind, string>> = {
  server: 'dialgate', tenants: 'tenants', seats: 'seats', trunks: 'trunks', routes: 'routes', tariffs: 'tariffs', blacklist: 'blacklist',
  plans400: 'plans400',
};
