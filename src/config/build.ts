// Schema-valid YAML items → snapshot entities: defaults filled in, human formats converted (money,
// increments, numbers), secrets resolved, seat passwords hashed to HA1. Each entity keeps where it
// came from so cross-reference errors can point at a line.
import { isAbsolute, resolve } from 'node:path';
import type { IssueList } from './errors.js';
import { parseYuan } from './money.js';
import { toNationalNumber } from './national.js';
import { computeHa1, resolveSecret, type SecretSpec } from './secrets.js';
import { DEFAULT_OVERLOAD } from '../sip/overload.js';
import type { Path, YamlSource } from './source.js';
import type {
  HttpToken, NumberClass, Route, RouteMatch, Seat, ServerSettings, Tariff, TariffRate, Tenant, Trunk,
} from './types.js';
import { parseCidr } from '../auth/sources.js';
import { parseHostPort } from './redis-target.js';
import { noticeCalendar, noticeEnd } from './validity.js';
import { buildSchedule, type ScheduleYaml } from './window.js';

/** One schema-valid entity in a file: `path` is e.g. ["seats", 3]. */
export interface Item<Y = unknown> { src: YamlSource; path: Path; data: Y }

/** An entity with its origin. */
export interface Placed<T> { value: T; src: YamlSource; path: Path }

export interface BuildContext {
  dir: string;
  env: Readonly<Record<string, string | undefined>>;
  issues: IssueList;
  realm: string | undefined;
  timezone: string;
  /** The load's "now" (epoch ms): end dates and the holiday calendar are checked against it. */
  now: number;
  /** Secrets that fell back to their `default:` (demo values): file → env names. */
  defaultedSecrets: Map<YamlSource, { path: Path; env: string }[]>;
}

export interface BlacklistYaml {
  numbers?: (string | number)[];
  prefixes?: (string | number)[];
  files?: (string | { path: string; column?: string | number })[];
}

export function national(v: string | number): string {
  const s = String(v);
  return toNationalNumber(s) ?? s;
}

async function secret(ctx: BuildContext, item: { src: YamlSource; path: Path }, field: string, spec: SecretSpec): Promise<string | undefined> {
  const r = await resolveSecret(spec, ctx);
  const path = [...item.path, field];
  if (!r.ok) {
    ctx.issues.error(item.src.issue(path, r.reason, r.hint));
    return undefined;
  }
  if (r.value.usedDefault && typeof spec === 'object' && 'env' in spec) {
    const list = ctx.defaultedSecrets.get(item.src) ?? [];
    list.push({ path, env: spec.env });
    ctx.defaultedSecrets.set(item.src, list);
  }
  return r.value.value;
}

// ---- dialgate.yaml ------------------------------------------------------------------------

interface ServerYaml {
  realm: string;
  timezone?: string;
  log?: { level?: ServerSettings['log']['level'] };
  http?: {
    host?: string; port?: number; token?: SecretSpec; metricsOpen?: boolean; seatTokenKey?: SecretSpec; seatTokenHours?: number; phone?: { wsUrl: string };
    tokens?: { name: string; role: HttpToken['role']; tenant?: string; token: SecretSpec }[];
  };
  drachtio: { host?: string; port?: number; secret: SecretSpec };
  freeswitch: {
    host?: string; port?: number; secret: SecretSpec; sipAddress?: string; recordingDir?: string;
    reconcile?: { enabled?: boolean; intervalSeconds?: number; graceSeconds?: number };
    servers?: { host: string; port?: number }[];
  };
  redis?: {
    url?: SecretSpec;
    cluster?: { nodes: string[]; password?: SecretSpec };
    sentinel?: { name: string; sentinels: string[]; password?: SecretSpec; sentinelPassword?: SecretSpec };
    streamShards?: number;
  };
  cdr?: { dir?: string };
  alerts?: { webhook?: string; timeoutMs?: number };
  security?: { invitePerSecond?: number; registerPerSecond?: number; optionsPerSecond?: number; banSeconds?: number; digestAlgorithms?: ('SHA-256' | 'MD5')[] };
  sessionTimers?: { seconds?: number; minSeconds?: number };
  drain?: { seconds?: number };
  overload?: { maxCallsPerSecond?: number; shedOnLoad?: boolean; maxLoopUtilization?: number; maxLoopLagMs?: number; retryAfterSeconds?: number };
}

/** A bearer token shorter than this is guessable: refused at load. */
export const MIN_HTTP_TOKEN_LENGTH = 16;

/**
 * http.tokens: secrets resolved; a tenant-viewer names its tenant (checked against tenants.yaml by
 * checkHttpTokenTenants), other roles name none; names unique; no two entries share a token, which
 * would make the role ambiguous. Token values never appear in a message.
 */
async function buildHttpTokens(item: Item<ServerYaml>, list: NonNullable<NonNullable<ServerYaml['http']>['tokens']>, single: string | undefined, ctx: BuildContext): Promise<HttpToken[] | undefined> {
  const out: HttpToken[] = [];
  const seen = new Map<string, number>();
  const values = new Map<string, string>(single !== undefined ? [[single, 'http.token']] : []);
  let ok = true;
  for (const [i, t] of list.entries()) {
    const at = (field: string) => ['http', 'tokens', i, field];
    const value = await secret(ctx, { src: item.src, path: ['http', 'tokens', i] }, 'token', t.token);
    if (value === undefined) { ok = false; continue; }
    if (value.length < MIN_HTTP_TOKEN_LENGTH) {
      ctx.issues.error(item.src.issue(at('token'), `token is too short (${value.length} characters; at least ${MIN_HTTP_TOKEN_LENGTH})`, 'use a random value, e.g. `openssl rand -hex 24`'));
      ok = false;
    }
    if (t.role === 'tenant-viewer' && t.tenant === undefined) {
      ctx.issues.error(item.src.issue(at('role'), 'a tenant-viewer token needs `tenant`: the one tenant it may read', 'e.g. tenant: telesales'));
      ok = false;
    }
    if (t.role !== 'tenant-viewer' && t.tenant !== undefined) {
      ctx.issues.error(item.src.issue(at('tenant'), `\`tenant\` is only for role tenant-viewer; a ${t.role} token is not limited to one tenant`));
      ok = false;
    }
    const first = seen.get(t.name);
    if (first !== undefined) {
      ctx.issues.error(item.src.issue(at('name'), `token name \`${t.name}\` is used twice; first at ${item.src.where(['http', 'tokens', first, 'name'])}`, 'names tell tokens apart in the access log'));
      ok = false;
    } else seen.set(t.name, i);
    const same = values.get(value);
    if (same !== undefined) {
      ctx.issues.error(item.src.issue(at('token'), `this token has the same value as ${same}`, 'give every holder its own token, so each can be revoked alone'));
      ok = false;
    } else values.set(value, `http.tokens[${i}] (${t.name})`);
    out.push({ name: t.name, role: t.role, ...(t.tenant !== undefined ? { tenant: t.tenant } : {}), token: value });
  }
  return ok ? out : undefined;
}

export async function buildServer(item: Item<ServerYaml>, ctx: BuildContext): Promise<ServerSettings | undefined> {
  const y = item.data;
  const sub = (name: string) => ({ src: item.src, path: [...item.path, name] });
  const drachtioSecret = await secret(ctx, sub('drachtio'), 'secret', y.drachtio.secret);
  const eslSecret = await secret(ctx, sub('freeswitch'), 'secret', y.freeswitch.secret);
  const token = y.http?.token === undefined ? undefined : await secret(ctx, sub('http'), 'token', y.http.token);
  const redis = await buildRedis(item, ctx);
  if (drachtioSecret === undefined || eslSecret === undefined || redis === undefined) return undefined;
  if (y.http?.token !== undefined && token === undefined) return undefined;
  const tokens = y.http?.tokens === undefined ? undefined : await buildHttpTokens(item, y.http.tokens, token, ctx);
  if (y.http?.tokens !== undefined && tokens === undefined) return undefined;
  const seatTokenKey = y.http?.seatTokenKey === undefined ? undefined : await secret(ctx, sub('http'), 'seatTokenKey', y.http.seatTokenKey);
  if (y.http?.seatTokenKey !== undefined && seatTokenKey === undefined) return undefined;
  if (seatTokenKey !== undefined && seatTokenKey.length < MIN_HTTP_TOKEN_LENGTH) {
    ctx.issues.error(item.src.issue([...item.path, 'http', 'seatTokenKey'], `seatTokenKey is too short (${seatTokenKey.length} characters; at least ${MIN_HTTP_TOKEN_LENGTH})`, 'use a random value, e.g. `openssl rand -hex 32`'));
    return undefined;
  }
  const fsHost = y.freeswitch.host ?? '127.0.0.1';
  const cdrDir = y.cdr?.dir ?? 'var/cdr';
  return {
    realm: y.realm,
    timezone: y.timezone ?? 'Asia/Shanghai',
    log: { level: y.log?.level ?? 'info' },
    http: {
      host: y.http?.host ?? '127.0.0.1',
      port: y.http?.port ?? 8080,
      ...(token !== undefined ? { token } : {}),
      ...(tokens !== undefined ? { tokens } : {}),
      ...(y.http?.metricsOpen !== undefined ? { metricsOpen: y.http.metricsOpen } : {}),
      ...(seatTokenKey !== undefined ? { seatTokenKey } : {}),
      seatTokenHours: y.http?.seatTokenHours ?? 8,
      ...(y.http?.phone ? { phone: { wsUrl: y.http.phone.wsUrl } } : {}),
    },
    drachtio: { host: y.drachtio.host ?? '127.0.0.1', port: y.drachtio.port ?? 9022, secret: drachtioSecret },
    freeswitch: {
      host: fsHost,
      port: y.freeswitch.port ?? 8021,
      secret: eslSecret,
      sipAddress: y.freeswitch.sipAddress ?? `${fsHost}:5080`,
      recordingDir: y.freeswitch.recordingDir ?? '/var/lib/freeswitch/recordings',
      ...(y.freeswitch.servers ? { servers: y.freeswitch.servers.map((s) => ({ host: s.host, port: s.port ?? 8021 })) } : {}),
      // Issue 14: every minute; a channel unheld for 30 s is an orphan.
      reconcile: {
        enabled: y.freeswitch.reconcile?.enabled ?? true,
        intervalSeconds: y.freeswitch.reconcile?.intervalSeconds ?? 60,
        graceSeconds: y.freeswitch.reconcile?.graceSeconds ?? 30,
      },
    },
    redis,
    cdr: { dir: isAbsolute(cdrDir) ? cdrDir : resolve(ctx.dir, cdrDir) },
    // Long enough for most calls of a call centre to end by themselves during a rolling restart.
    drain: { seconds: y.drain?.seconds ?? 300 },
    alerts: { ...(y.alerts?.webhook ? { webhook: y.alerts.webhook } : {}), timeoutMs: y.alerts?.timeoutMs ?? 5000 },
    security: {
      invitePerSecond: y.security?.invitePerSecond ?? 50,
      registerPerSecond: y.security?.registerPerSecond ?? 20,
      optionsPerSecond: y.security?.optionsPerSecond ?? 10,
      banSeconds: y.security?.banSeconds ?? 60,
      digestAlgorithms: y.security?.digestAlgorithms ?? ['MD5'],
    },
    overload: {
      ...(y.overload?.maxCallsPerSecond !== undefined ? { maxCallsPerSecond: y.overload.maxCallsPerSecond } : {}),
      shedOnLoad: y.overload?.shedOnLoad ?? DEFAULT_OVERLOAD.shedOnLoad,
      maxLoopUtilization: y.overload?.maxLoopUtilization ?? DEFAULT_OVERLOAD.maxLoopUtilization,
      maxLoopLagMs: y.overload?.maxLoopLagMs ?? DEFAULT_OVERLOAD.maxLoopLagMs,
      retryAfterSeconds: y.overload?.retryAfterSeconds ?? DEFAULT_OVERLOAD.retryAfterSeconds,
    },
    // RFC 4028's recommended 1800 s; a leg that vanished is found within one interval.
    sessionTimers: sessionTimers(y.sessionTimers),
  };
}

/**
 * redis: exactly one of url, cluster, sentinel (none: the local default URL). Passwords resolve
 * through the secret mechanism; node lists are host:port (the schema checked the shape).
 */
async function buildRedis(item: Item<ServerYaml>, ctx: BuildContext): Promise<ServerSettings['redis'] | undefined> {
  const y = item.data.redis ?? {};
  const at = (...p: (string | number)[]) => ({ src: item.src, path: [...item.path, 'redis', ...p] });
  const streamShards = y.streamShards ?? 1;
  const given = (['url', 'cluster', 'sentinel'] as const).filter((k) => y[k] !== undefined);
  if (given.length > 1) {
    ctx.issues.error(item.src.issue([...item.path, 'redis', given[1]!], `redis has both \`${given[0]}\` and \`${given[1]}\`: give exactly one`,
      'url for one server, cluster for Redis Cluster seed nodes, sentinel for a Sentinel-watched master'));
    return undefined;
  }
  const opt = async (path: ReturnType<typeof at>, field: string, spec: SecretSpec | undefined): Promise<{ ok: boolean; value?: string }> => {
    if (spec === undefined) return { ok: true };
    const v = await secret(ctx, path, field, spec);
    return v === undefined ? { ok: false } : { ok: true, value: v };
  };
  const nodes = (list: string[]) => list.map((n) => parseHostPort(n)!);
  if (y.cluster) {
    const pw = await opt(at('cluster'), 'password', y.cluster.password);
    if (!pw.ok) return undefined;
    return { kind: 'cluster', nodes: nodes(y.cluster.nodes), ...(pw.value !== undefined ? { password: pw.value } : {}), streamShards };
  }
  if (y.sentinel) {
    const pw = await opt(at('sentinel'), 'password', y.sentinel.password);
    const spw = await opt(at('sentinel'), 'sentinelPassword', y.sentinel.sentinelPassword);
    if (!pw.ok || !spw.ok) return undefined;
    return {
      kind: 'sentinel', name: y.sentinel.name, sentinels: nodes(y.sentinel.sentinels),
      ...(pw.value !== undefined ? { password: pw.value } : {}), ...(spw.value !== undefined ? { sentinelPassword: spw.value } : {}), streamShards,
    };
  }
  const url = y.url === undefined ? 'redis://127.0.0.1:6379' : await secret(ctx, { src: item.src, path: [...item.path, 'redis'] }, 'url', y.url);
  return url === undefined ? undefined : { kind: 'url', url, streamShards };
}

function sessionTimers(y: ServerYaml['sessionTimers']): { seconds: number; minSeconds: number } {
  const minSeconds = y?.minSeconds ?? 90;
  return { seconds: Math.max(y?.seconds ?? 1800, minSeconds), minSeconds };
}

// ---- tenants.yaml ---------------------------------------------------------------------------

export interface TenantYaml {
  id: string;
  name?: string;
  status?: Tenant['status'];
  validFrom?: string;
  validUntil?: string;
  window?: ScheduleYaml;
  allowedClasses?: NumberClass[];
  maxConcurrent: number;
  callerIdPool?: (string | number)[];
  callerIdPolicy?: Tenant['callerIdPolicy'];
  blacklist?: BlacklistYaml;
  tariff: string;
  account?: string;
  recording?: boolean | 'required';
  allowedSources?: string[];
  announcements?: Record<string, string>;
  warningSeconds?: number;
  maxCallSeconds?: number;
  maxCallsPerSecond?: number;
  maxSpendPerHour?: string | number;
  maxSpendPerDay?: string | number;
  maxAttemptsPerCalleePerDay?: number;
  wrapUpSeconds?: number;
}

/** A schema-checked yuan amount (dg: money) as Money; an unreadable one was reported already. */
function yuan(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const r = parseYuan(v);
  return r.ok ? r.value : undefined;
}

/** The tenant without its blacklist, which is loaded afterwards (it may read large files). */
export type TenantDraft = Omit<Tenant, 'blacklist'>;

export function buildTenant(item: Item<TenantYaml>, ctx: BuildContext): TenantDraft {
  const y = item.data;
  if (y.validFrom && y.validUntil && y.validUntil <= y.validFrom) {
    ctx.issues.error(item.src.issue([...item.path, 'validUntil'], `validUntil ${y.validUntil} is not after validFrom ${y.validFrom}`, 'validUntil is exclusive: the first day the tenant may no longer call'));
  }
  if (y.validUntil) {
    noticeEnd(ctx.issues, { src: item.src, path: [...item.path, 'validUntil'] }, `tenant \`${y.id}\`: the service period`,
      y.validUntil, 'its seats\' calls are refused (tenant-expired)', ctx.now, ctx.timezone);
  }
  const window = y.window ? buildSchedule(item.src, [...item.path, 'window'], y.window, ctx.timezone, ctx.issues) : undefined;
  if (window) noticeCalendar(ctx.issues, { src: item.src, path: [...item.path, 'window'] }, window, ctx.now);
  (y.allowedSources ?? []).forEach((c, i) => {
    if (!parseCidr(c)) ctx.issues.error(item.src.issue([...item.path, 'allowedSources', i], `\`${c}\` is not an address or CIDR block`, 'write e.g. 203.0.113.0/24, 10.1.2.3 or 2001:db8::/32'));
  });
  if (!y.window) {
    ctx.issues.warn(item.src.issue(item.path, `tenant \`${y.id}\` has no dialing window: outbound calls are allowed at any hour`,
      'add window: { weekly: { all: ["08:00-19:30"] } } (the telesales contract 004 §3.2 window)'));
  }
  return {
    id: y.id,
    name: y.name ?? y.id,
    status: y.status ?? 'active',
    ...(y.validFrom ? { validFrom: y.validFrom } : {}),
    ...(y.validUntil ? { validUntil: y.validUntil } : {}),
    ...(window ? { window } : {}),
    // 004 §6.3: out-of-scope calling is forbidden, so the default scope is domestic only.
    allowedClasses: y.allowedClasses ?? ['mobile', 'landline'],
    maxConcurrent: y.maxConcurrent,
    callerIdPool: (y.callerIdPool ?? []).map(national),
    callerIdPolicy: y.callerIdPolicy ?? 'deny',
    tariff: y.tariff,
    account: y.account ?? y.id,
    recording: y.recording === true || y.recording === 'required',
    recordingRequired: y.recording === 'required',
    ...(y.allowedSources?.length ? { allowedSources: y.allowedSources.map((c) => c.trim()) } : {}),
    announcements: { ...(y.announcements ?? {}) },
    warningSeconds: y.warningSeconds ?? 30,
    maxCallSeconds: y.maxCallSeconds ?? 4 * 60 * 60,
    ...(y.maxCallsPerSecond !== undefined ? { maxCallsPerSecond: y.maxCallsPerSecond } : {}),
    ...(yuan(y.maxSpendPerHour) !== undefined ? { maxSpendPerHour: yuan(y.maxSpendPerHour)! } : {}),
    ...(yuan(y.maxSpendPerDay) !== undefined ? { maxSpendPerDay: yuan(y.maxSpendPerDay)! } : {}),
    ...(y.maxAttemptsPerCalleePerDay !== undefined ? { maxAttemptsPerCalleePerDay: y.maxAttemptsPerCalleePerDay } : {}),
    wrapUpSeconds: y.wrapUpSeconds ?? 0,
  };
}

// ---- seats.yaml -------------------------------------------------------------------------------

export interface SeatYaml { id: string | number; name?: string; tenant: string; password?: SecretSpec; ha1?: SecretSpec; callerId?: string | number; wrapUpSeconds?: number }

export async function buildSeat(item: Item<SeatYaml>, ctx: BuildContext): Promise<Seat | undefined> {
  const y = item.data;
  const id = String(y.id);
  if ((y.password === undefined) === (y.ha1 === undefined)) {
    ctx.issues.error(item.src.issue(item.path, y.password === undefined ? `seat ${id} has no credentials` : `seat ${id} has both \`password\` and \`ha1\``,
      'give either `password` (hashed at load) or `ha1` = md5(user:realm:password)'));
    return undefined;
  }
  let ha1: string | undefined;
  let ha1Sha256: string | undefined;
  if (y.ha1 !== undefined) {
    const v = await secret(ctx, item, 'ha1', y.ha1);
    if (v === undefined) return undefined;
    if (!/^[0-9a-fA-F]{32}$/.test(v)) {
      ctx.issues.error(item.src.issue([...item.path, 'ha1'], 'ha1 is not 32 hex digits', 'ha1 = md5(user:realm:password) in hex'));
      return undefined;
    }
    ha1 = v.toLowerCase();
  } else {
    const pw = await secret(ctx, item, 'password', y.password!);
    if (pw === undefined || ctx.realm === undefined) return undefined;
    // The plain password goes no further than these lines.
    ha1 = computeHa1(id, ctx.realm, pw);
    ha1Sha256 = computeHa1(id, ctx.realm, pw, 'SHA-256');
  }
  return {
    id,
    ...(y.name ? { name: y.name } : {}),
    tenant: y.tenant,
    ha1,
    ...(ha1Sha256 ? { ha1Sha256 } : {}),
    ...(y.callerId !== undefined ? { callerId: national(y.callerId) } : {}),
    ...(y.wrapUpSeconds !== undefined ? { wrapUpSeconds: y.wrapUpSeconds } : {}),
  };
}

// ---- trunks.yaml ------------------------------------------------------------------------------

export interface TrunkYaml {
  id: string; uri: string; maxConcurrent: number; prefix?: string; strip?: number; callerId?: string | number;
  username?: string; password?: SecretSpec; inboundSources?: string[]; timeoutSeconds?: number;
}

export async function buildTrunk(item: Item<TrunkYaml>, ctx: BuildContext): Promise<Trunk | undefined> {
  const y = item.data;
  let password: string | undefined;
  if (y.password !== undefined) {
    password = await secret(ctx, item, 'password', y.password);
    if (password === undefined) return undefined;
  }
  if (password !== undefined && y.username === undefined) {
    ctx.issues.warn(item.src.issue([...item.path, 'password'], `trunk \`${y.id}\` has a password but no username`, 'digest auth towards the carrier needs both'));
  }
  return {
    id: y.id,
    uri: y.uri,
    maxConcurrent: y.maxConcurrent,
    prefix: y.prefix ?? '',
    strip: y.strip ?? 0,
    ...(y.callerId !== undefined ? { callerId: national(y.callerId) } : {}),
    ...(y.username !== undefined ? { username: y.username } : {}),
    ...(password !== undefined ? { password } : {}),
    inboundSources: y.inboundSources ?? [uriHost(y.uri)],
    timeoutSeconds: y.timeoutSeconds ?? 30,
  };
}

/** sip:[user@]host[:port][;params] → host. */
export function uriHost(uri: string): string {
  const rest = uri.replace(/^sips?:/, '').replace(/^[^@]*@/, '').split(';')[0]!;
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']'));
  return rest.split(':')[0]!;
}

// ---- routes.yaml ------------------------------------------------------------------------------

export interface RouteYaml {
  id: string; priority: number;
  match?: { prefixes?: (string | number)[]; classes?: NumberClass[]; regions?: string[]; tenants?: string[] };
  trunks: (string | { trunk: string; weight?: number; priority?: number })[];
  media?: Route['media'];
}

export function buildRoute(item: Item<RouteYaml>): Route {
  const y = item.data;
  const m = y.match ?? {};
  const match: RouteMatch = {
    ...(m.prefixes ? { prefixes: m.prefixes.map(String) } : {}),
    ...(m.classes ? { classes: m.classes } : {}),
    ...(m.regions ? { regions: m.regions } : {}),
    ...(m.tenants ? { tenants: m.tenants } : {}),
  };
  return {
    id: y.id,
    priority: y.priority,
    match,
    trunks: y.trunks.map((t) => (typeof t === 'string' ? { trunk: t, weight: 1 }
      : { trunk: t.trunk, weight: t.weight ?? 1, ...(t.priority !== undefined ? { priority: t.priority } : {}) })),
    media: y.media ?? 'anchored',
  };
}

// ---- tariffs.yaml -----------------------------------------------------------------------------

export interface TariffYaml {
  id: string;
  rates: { prefix?: string | number; class?: NumberClass; ratePerMinute: string | number; increments?: string | number; connectFee?: string | number }[];
}

export function buildTariff(item: Item<TariffYaml>, ctx: BuildContext): Tariff {
  const y = item.data;
  const seen = new Map<string, number>();
  const rates: TariffRate[] = y.rates.map((r, i) => {
    const key = `${r.prefix ?? ''}|${r.class ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) {
      ctx.issues.error(item.src.issue([...item.path, 'rates', i], `rate ${i + 1} matches the same calls as rate ${first + 1}`, 'remove one, or give them different `prefix` / `class`'));
    } else seen.set(key, i);
    const [initial, subsequent] = parseIncrements(r.increments ?? '60/60');
    return {
      ...(r.prefix !== undefined ? { prefix: String(r.prefix) } : {}),
      ...(r.class !== undefined ? { class: r.class } : {}),
      ratePerMinute: money(r.ratePerMinute),
      initialIncrement: initial,
      subsequentIncrement: subsequent,
      connectFee: r.connectFee === undefined ? 0 : money(r.connectFee),
    };
  });
  return { id: y.id, rates };
}

/** Schema-checked already; the fallback is never reached for valid input. */
function money(v: string | number): number {
  const r = parseYuan(v);
  return r.ok ? r.value : 0;
}

/** "60/60" → [60, 60]; 60 → [60, 60]. */
export function parseIncrements(v: string | number): [number, number] {
  if (typeof v === 'number') return [v, v];
  const [a, b] = v.trim().split('/');
  return [Number(a), Number(b ?? a)];
}
