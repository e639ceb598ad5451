// The ops HTTP API on a tiny node:http server:
//   GET /health                                   open: status code and {status} for load balancers; details for admins
//   GET /metrics                                  Prometheus text (admin or metrics token, or open by http.metricsOpen)
//   GET /calls[?tenant=]                          live calls (a tenant-viewer sees its own tenant's only)
//   GET /cdrs[?tenant=&from=&to=&number=&limit=&offset=&format=csv]   call records, same scoping
//   GET /tenants/:id/calls | /cdrs | /balance | /recordings/:day/:file   one tenant's data
//   POST /drain                                   admin: stop taking calls, let live ones finish, then stop
//   GET /agents[?tenant=]                         seats with their agent state (issue 13), same scoping
//   PUT /agents/:seat/state {state}               an admin sets a seat available or away
//   /phone/login, /phone/me...                    the web phone's seat session (phone-routes.ts)
//   (and the admin console's routes, console-routes.ts, and the web phone's page, phone-page.ts)
// Its data comes from injected functions (the composition root wires them), so it holds no state.
// Access (access.ts): bearer tokens with roles; 401 without a valid token, 403 for another tenant's
// data. Tokens are compared in constant time and never logged or echoed. Seat tokens of the web
// phone open only /phone/me...; ops tokens do not open those.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { Gauge, Registry } from 'prom-client';
import type { Cdr } from '../cdr/model.js';
import type { CdrQuery } from '../cdr/query.js';
import { AccessTable, bearerOf, describe, readsAll, readsMetrics, readsTenant, type Principal } from './access.js';
import { cdrQueryOf } from './commands/cdr.js';
import { consoleRoute, type ConsoleProviders } from './console-routes.js';
import { HttpError, readJson, send } from './http-util.js';
import type { AgentJson, SettableState } from './agents.js';
import { phoneRoute, type PhoneProviders } from './phone-routes.js';
import { phonePageRoute, type PhonePageProviders } from './phone-page.js';
import { looksLikeSeatToken } from '../auth/seat-token.js';

/** A config problem as the health endpoint shows it (config/errors.ts ConfigError). */
export interface HealthConfigError {
  file: string;
  line: number;
  column?: number;
  field: string;
  message: string;
  hint?: string;
}

export interface StatusJson {
  /** drachtio-server connection is up. */
  drachtioConnected: boolean;
  /** The instance is draining (it takes no new calls): 503 "draining". */
  draining?: boolean;
  config: {
    /** Version (content hash) of the running snapshot; null when none could be loaded. */
    version: string | null;
    loadedAt?: number;
    dir?: string;
    /** The last reload attempt failed: the files on disk are invalid, the old config runs. */
    lastError: { at: number; reason: string; errors: HealthConfigError[] } | null;
  };
  liveCalls: number;
  registeredSeats: number;
  /** Filled in by the server when the provider leaves it out. */
  uptimeSeconds?: number;
  /** Conditions an admin must act on that do not stop calls (status "degraded", still 200). */
  warnings?: string[];
  /** Anything else the provider wants on /health (instance id, redis state ...). */
  [extra: string]: unknown;
}

/** One live call on GET /calls. */
export interface LiveCallJson {
  callId: string;
  tenant: string;
  seat: string;
  callee: string;
  answeredAt: number | null;
  [extra: string]: unknown;
}

/** A tenant's money on GET /tenants/:id/balance: its prepaid account and its 400 packages. */
export interface BalanceJson {
  tenant: string;
  accounts: { account: string; kind: 'prepaid' | 'package-400'; number?: string; [field: string]: unknown }[];
}

type MaybePromise<T> = T | Promise<T>;

export interface OpsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface OpsHttpOptions {
  host: string;
  /** 0 = any free port (tests); read the chosen one from OpsHttp.port. */
  port: number;
  /** A single admin bearer token (dialgate.yaml http.token); shorthand for access. */
  token?: string;
  /** The token table, read per request so a config reload can rotate tokens. Default: `token`, else open. */
  access?: () => AccessTable;
  /** /metrics without a token (a Prometheus on a trusted network). Default false. */
  metricsOpen?: () => boolean;
  /** POST /drain (admin): starts a drain of this instance; returns what /drain answers. */
  drain?: () => Record<string, unknown>;
  status: () => MaybePromise<StatusJson>;
  calls?: () => MaybePromise<readonly LiveCallJson[]>;
  /** Prometheus text exposition; default: the few gauges derivable from status(). */
  metrics?: () => MaybePromise<string>;
  /** Whether a tenant id is configured (404 for unknown tenants on /tenants/...). */
  tenantExists?: (tenant: string) => boolean;
  balance?: (tenant: string) => Promise<BalanceJson | null>;
  cdrs?: {
    query(q: CdrQuery): Promise<Cdr[]>;
    csv(q: CdrQuery, out: Writable): Promise<number>;
  };
  /** Agents (issue 13): seats with their state; an admin may set one available or away. */
  agents?: {
    list(tenant: string | undefined): Promise<AgentJson[]>;
    set(seat: string, state: SettableState): Promise<AgentJson | null>;
  };
  /** The web phone's seat session (phone-routes.ts); absent: no /phone endpoints. */
  phone?: PhoneProviders;
  /** The admin console and its actions (console-routes.ts); absent: no console. */
  console?: ConsoleProviders;
  /** The agents' web phone page (phone-page.ts); absent: no /phone page. */
  phonePage?: PhonePageProviders;
  /** Root of the recordings (<dir>/<tenant>/<day>/<file>.wav, calls/recording.ts). */
  recordingsDir?: () => string;
  /** Access log (001 §4(十七)): who (token name and role), method, path, status, remote address; never the token. */
  log?: OpsLogger;
  /** For uptime; default the process start. */
  startedAt?: number;
  now?: () => number;
}

export interface OpsHttp {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * 200 when drachtio is connected and a config is running; else 503. A rejected reload leaves the
 * previous config running, so it shows as status "degraded" with the error, still 200: one typo
 * in shared config files must not make a load balancer drop every instance at once.
 */
export function isHealthy(s: StatusJson): boolean {
  return s.drachtioConnected && s.config.version !== null && s.draining !== true;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const RECORDING = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.wav$/;
const MAX_CDRS = 10_000;

/** The few gauges /metrics shows when no metrics provider is wired (status only). */
async function statusMetrics(s: StatusJson): Promise<string> {
  const registry = new Registry();
  const g = (name: string, help: string, v: number) => new Gauge({ name, help, registers: [registry] }).set(v);
  g('dialgate_live_calls', 'Calls in progress on this instance.', s.liveCalls);
  g('dialgate_registered_seats', 'Seats with a live registration.', s.registeredSeats);
  g('dialgate_up', '1 when drachtio-server is connected and a config is loaded.', isHealthy(s) ? 1 : 0);
  g('dialgate_uptime_seconds', 'Seconds since the process started.', s.uptimeSeconds ?? 0);
  return registry.metrics();
}

export async function startOpsHttp(o: OpsHttpOptions): Promise<OpsHttp> {
  const now = o.now ?? Date.now;
  const startedAt = o.startedAt ?? Math.round(now() - process.uptime() * 1000);
  const fixed = AccessTable.fromSettings(o.token ? { token: o.token } : {});
  const access = o.access ?? (() => fixed);

  const withUptime = async (): Promise<StatusJson> => {
    const s = await o.status();
    // Memory for capacity planning (heap per live call) and leak watching.
    const m = process.memoryUsage();
    return { ...s, uptimeSeconds: s.uptimeSeconds ?? Math.floor((now() - startedAt) / 1000), memory: { heapUsedBytes: m.heapUsed, rssBytes: m.rss } };
  };

  /** 401 without a valid token, 403 with one that may not read this. */
  const need = (who: Principal | null, ok: (p: Principal) => boolean, what: string): Principal => {
    if (!who) throw new HttpError(401, 'unauthorized: send Authorization: Bearer <token>');
    if (!ok(who)) throw new HttpError(403, `forbidden: this token may not read ${what}`);
    return who;
  };

  /** The tenant a list is scoped to: a viewer's own (naming another is 403); an admin's choice. */
  const scope = (who: Principal, asked: string | null): string | undefined => {
    if (readsAll(who)) return asked ?? undefined;
    if (asked !== null && !readsTenant(who, asked)) throw new HttpError(403, `forbidden: this token may not read tenant ${asked}`);
    if (who.role !== 'tenant-viewer' || !who.tenant) throw new HttpError(403, 'forbidden: this token may not read call data');
    return who.tenant;
  };

  const listCalls = async (tenant: string | undefined) => {
    const all = o.calls ? await o.calls() : [];
    return tenant === undefined ? all : all.filter((c) => c.tenant === tenant);
  };

  const cdrQuery = (params: URLSearchParams, tenant: string | undefined): CdrQuery => {
    let q: CdrQuery;
    try {
      q = cdrQueryOf({
        ...(params.get('from') ? { from: params.get('from')! } : {}),
        ...(params.get('to') ? { to: params.get('to')! } : {}),
        ...(params.get('number') ? { number: params.get('number')! } : {}),
        ...(params.get('limit') ? { limit: params.get('limit')! } : {}),
      });
      const offset = params.get('offset');
      if (offset !== null) {
        if (!/^\d{1,9}$/.test(offset)) throw new Error('offset must be a whole number');
        q.offset = Number(offset);
      }
    } catch (err) {
      throw new HttpError(400, (err as Error).message.replace(/--(\w+)/g, '$1'));
    }
    // A page is at most MAX_CDRS; a CSV export streams (backpressure bounds memory), so it has
    // every match unless a limit is asked for.
    const csv = params.get('format') === 'csv';
    return { ...q, ...(tenant !== undefined ? { tenant } : {}), ...(csv && q.limit === undefined ? {} : { limit: Math.min(q.limit ?? 1000, MAX_CDRS) }) };
  };

  const sendCdrs = async (res: ServerResponse, params: URLSearchParams, tenant: string | undefined): Promise<number> => {
    if (!o.cdrs) throw new HttpError(404, 'CDRs are not served by this instance');
    const q = cdrQuery(params, tenant);
    if (params.get('format') === 'csv') {
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store',
        'content-disposition': `attachment; filename="cdr-${tenant ?? 'all'}.csv"`,
      });
      await o.cdrs.csv(q, res);
      res.end();
      return 200;
    }
    // One more than the page tells whether there is a next page without counting the rest.
    const limit = q.limit ?? 1000;
    const cdrs = await o.cdrs.query({ ...q, limit: limit + 1 });
    const hasMore = cdrs.length > limit;
    if (hasMore) cdrs.pop();
    send(res, 200, { count: cdrs.length, offset: q.offset ?? 0, hasMore, cdrs });
    return 200;
  };

  const sendRecording = async (req: IncomingMessage, res: ServerResponse, tenant: string, day: string, file: string): Promise<number> => {
    if (!o.recordingsDir) throw new HttpError(404, 'recordings are not served by this instance');
    if (!DAY.test(day) || !RECORDING.test(file)) throw new HttpError(404, 'no such recording');
    const root = join(o.recordingsDir(), tenant);
    const path = join(root, day, file);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new HttpError(404, 'no such recording');
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) throw new HttpError(404, 'no such recording');
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': st.size, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') { res.end(); return 200; }
    await new Promise<void>((resolve, reject) => {
      createReadStream(path).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
    });
    return 200;
  };

  const tenantRoute = async (req: IncomingMessage, res: ServerResponse, who: Principal | null, parts: string[], params: URLSearchParams): Promise<number> => {
    const [tenant = '', what, ...rest] = parts;
    // Authorisation before existence: a viewer learns nothing about other tenants, not even their ids.
    need(who, (p) => readsTenant(p, tenant), `tenant ${tenant}`);
    if (o.tenantExists && !o.tenantExists(tenant)) throw new HttpError(404, `no tenant ${tenant}`);
    switch (what) {
      case 'calls': {
        const calls = await listCalls(tenant);
        send(res, 200, { count: calls.length, calls });
        return 200;
      }
      case 'cdrs':
        return sendCdrs(res, params, tenant);
      case 'balance': {
        const b = o.balance ? await o.balance(tenant) : null;
        if (!b) throw new HttpError(404, `no ledger account for tenant ${tenant}`);
        send(res, 200, b);
        return 200;
      }
      case 'recordings':
        if (rest.length === 2) return sendRecording(req, res, tenant, rest[0]!, rest[1]!);
        throw new HttpError(404, 'recordings are at /tenants/<id>/recordings/<YYYY-MM-DD>/<file>.wav');
      default:
        throw new HttpError(404, `no such endpoint; try /tenants/${tenant}/calls, /cdrs, /balance or /recordings/<day>/<file>`);
    }
  };

  /** GET /agents (scoped like /calls), PUT /agents/:seat/state (admin). */
  const agentsRoute = async (req: IncomingMessage, res: ServerResponse, who: Principal | null, rest: string[], params: URLSearchParams): Promise<number> => {
    const agents = o.agents!;
    if (rest.length === 0) {
      if (req.method !== 'GET' && req.method !== 'HEAD') { res.setHeader('allow', 'GET, HEAD'); throw new HttpError(405, `method ${req.method} not allowed`); }
      const list = await agents.list(scope(need(who, () => true, 'agents'), params.get('tenant')));
      send(res, 200, { count: list.length, agents: list });
      return 200;
    }
    if (rest.length === 2 && rest[1] === 'state') {
      need(who, readsAll, 'agent state (admin only)');
      if (req.method !== 'PUT') { res.setHeader('allow', 'PUT'); throw new HttpError(405, `method ${req.method} not allowed; PUT {"state": "available" | "away"}`); }
      const state = (await readJson(req)).state;
      if (state !== 'available' && state !== 'away') throw new HttpError(400, 'state must be "available" or "away" (on-call and wrap-up follow calls)');
      const a = await agents.set(rest[0]!, state);
      if (!a) throw new HttpError(404, `no seat ${rest[0]}`);
      o.log?.info({ seat: a.seat, state, by: describe(who) }, 'agent state set by admin');
      send(res, 200, a);
      return 200;
    }
    need(who, () => true, 'this API');
    throw new HttpError(404, 'try GET /agents or PUT /agents/<seat>/state');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, who: Principal | null): Promise<number> => {
    // A token that names nobody is refused everywhere, /health too: a typo must not pass for anonymity.
    if (!who && req.headers.authorization !== undefined) need(who, () => true, 'this API');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    let parts: string[];
    try {
      parts = path.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'malformed path');
    }
    if (o.phonePage) {
      const status = await phonePageRoute(req, res, path, o.phonePage);
      if (status !== undefined) return status;
    }
    if (o.console) {
      const status = await consoleRoute(req, res, who, path, parts, url.searchParams, o.console, need);
      if (status !== undefined) return status;
    }
    if (path === '/drain' && req.method === 'POST' && o.drain) {
      need(who, (p) => p.role === 'admin', 'POST /drain');
      send(res, 202, o.drain());
      return 202;
    }
    if (parts[0] === 'agents' && o.agents) return agentsRoute(req, res, who, parts.slice(1), url.searchParams);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      need(who, () => true, 'this API');
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, { error: `method ${req.method} not allowed` });
      return 405;
    }
    switch (path) {
      case '/health': {
        const s = await withUptime();
        const code = isHealthy(s) ? 200 : 503;
        const status = s.draining === true ? 'draining' : code !== 200 ? 'unavailable' : s.config.lastError || s.warnings?.length ? 'degraded' : 'ok';
        // Open for load balancers, which need only the code; the details (config paths and errors,
        // counts, Redis and media state) are for admins.
        send(res, code, who && readsAll(who) ? { status, ...s } : { status });
        return code;
      }
      case '/metrics': {
        if (!o.metricsOpen?.()) need(who, readsMetrics, '/metrics');
        const text = o.metrics ? await o.metrics() : await statusMetrics(await withUptime());
        send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8');
        return 200;
      }
      case '/calls': {
        const tenant = scope(need(who, () => true, 'calls'), url.searchParams.get('tenant'));
        const calls = await listCalls(tenant);
        send(res, 200, { count: calls.length, calls });
        return 200;
      }
      case '/cdrs':
        return sendCdrs(res, url.searchParams, scope(need(who, () => true, 'CDRs'), url.searchParams.get('tenant')));
      default:
        if (parts[0] === 'tenants' && parts.length >= 3) return tenantRoute(req, res, who, parts.slice(1), url.searchParams);
        need(who, () => true, 'this API');
        send(res, 404, { error: `no such endpoint ${path}; try /health, /metrics, /calls, /cdrs, /tenants/<id>/...` });
        return 404;
    }
  };

  /** The web phone's routes, with seat tokens; undefined for every other path. */
  const phone = async (req: IncomingMessage, res: ServerResponse, seat: { seat?: string }): Promise<number | undefined> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    const bearer = bearerOf(req.headers.authorization);
    if (o.phone && path.startsWith('/phone/')) {
      const status = await phoneRoute(req, res, path, url.searchParams, bearer, o.phone, seat);
      if (status !== undefined) return status;
    }
    // The page and its /phone/config hold no data and are open; the signed-in page sends its seat
    // token with every request, which must not turn them into 403s.
    if (o.phonePage && bearer && path.startsWith('/phone')) {
      const status = await phonePageRoute(req, res, path, o.phonePage);
      if (status !== undefined) return status;
    }
    // A seat token opens nothing else, even on an API left open (no ops tokens configured).
    if (looksLikeSeatToken(bearer)) throw new HttpError(403, 'forbidden: a seat token opens only the /phone endpoints');
    return undefined;
  };

  const server = createServer((req, res) => {
    const seat: { seat?: string } = {};
    const who = access().authenticate(req.headers.authorization);
    const entry = { who: describe(who), method: req.method, path: req.url?.split('?')[0], remote: req.socket.remoteAddress };
    phone(req, res, seat).then((status) => status ?? handle(req, res, who)).then(
      (status) => o.log?.info({ ...entry, ...(seat.seat !== undefined ? { who: `seat ${seat.seat}` } : {}), status }, 'ops http'),
      (err: Error) => {
        if (err instanceof HttpError) {
          if (err.status === 401) res.setHeader('www-authenticate', 'Bearer realm="dialgate"');
          if (!res.headersSent) send(res, err.status, { error: err.message });
          o.log?.info({ ...entry, ...(seat.seat !== undefined ? { who: `seat ${seat.seat}` } : {}), status: err.status }, 'ops http');
          return;
        }
        o.log?.warn({ ...entry, err }, 'ops http handler failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.end();
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
