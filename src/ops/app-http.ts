// The ops HTTP API of a running app: what each endpoint reads (health, live calls, metrics, CDRs,
// balances, recordings) and who may read it (tokens from the running config). `serve` and the
// end-to-end tests both start it through here.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { buildStatement } from '../billing/statement.js';
import { readStatementSource, StatementInputError } from '../billing/statement-source.js';
import { readLedgerView } from '../calls/ledger-view.js';
import { exportCsv, queryCdrs, recentCdrs } from '../cdr/query.js';
import { seatLogin, seatOfClaims } from '../auth/seat-login.js';
import { seatTokenKey, verifySeatToken } from '../auth/seat-token.js';
import { listAgents, setAgentState, type AgentDeps } from './agents.js';
import type { PhoneProviders } from './phone-routes.js';
import { HttpError } from './http-util.js';
import { ConcurrencySlots, slotKey } from '../ledger/concurrency.js';
import { analyseDay } from '../stats/caller-analysis-day.js';
import { readTrunksDay } from '../stats/trunk-day-read.js';
import { DEFAULT_TIME_ZONE } from '../time/schedule.js';
import { ConsoleInputError, type ConsoleProviders } from './console-routes.js';
import { explain, ExplainInputError, parseMoneyArg, parseTime, type BalanceJson as ExplainBalance, type LedgerInputs } from './explain.js';
import type { ConfigStore } from '../config/index.js';
import type { ServerSettings } from '../config/types.js';
import { AccessTable } from './access.js';
import type { App } from './app.js';
import type { CalendarWatch } from './calendar-watch.js';
import { startOpsHttp, type OpsHttp } from './http.js';
import { tenantBalance } from './tenant-balance.js';

export interface AppHttpOptions {
  host: string;
  port: number;
  cdrDir: string;
  recordingsDir: string;
  log: Logger;
  calendar?: CalendarWatch;
  /** The built console (index.html, app.js); default dist/console beside the code. */
  consoleDir?: string;
  /** The built web phone (index.html, app.js); default dist/phone beside the code. */
  phoneDir?: string;
  /** The app's clock (tests shift it): top-up and statement times, explain's default "now". */
  now?: () => number;
  /** POST /drain (admin): drain this instance, then stop it (serve.ts). Absent: 404. */
  drain?: () => void;
}

/** Where `npm run build` puts the console, the same from src/ops (tsx) and dist/ops (node). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));
export const DEFAULT_PHONE_DIR = fileURLToPath(new URL('../../dist/phone/', import.meta.url));

/** Caller mistakes of the billing and explain code become 400s with their message. */
async function asInput<T>(f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof StatementInputError || e instanceof ExplainInputError) throw new ConsoleInputError(e.message);
    throw e;
  }
}

/** The console's data and actions on a running app. */
function consoleProviders(app: App, store: ConfigStore, o: AppHttpOptions): ConsoleProviders {
  const zone = () => store.current().server.timezone || DEFAULT_TIME_ZONE;
  const slots = new ConcurrencySlots(app.redis);
  const now = o.now ?? Date.now;
  return {
    assetsDir: () => o.consoleDir ?? DEFAULT_CONSOLE_DIR,
    tenants: () => [...store.current().tenants.values()].map((t) => ({ id: t.id, name: t.name })),
    numbers400: () => [...(store.current().plans400?.values() ?? [])].map((pl) => ({ number: pl.number, owner: pl.owner })),
    hangup: (callId) => {
      const call = app.live.get(callId);
      if (!call) return null;
      app.log.info({ callId, tenant: call.tenant }, 'call hung up from the console');
      call.hangup('admin-hangup');
      return { tenant: call.tenant };
    },
    topUp: async (tenantId, entryId, amount, note) => {
      const tenant = store.current().tenants.get(tenantId);
      if (!tenant || !(await app.ledger.getAccount(tenant.account))) return null;
      // The entry id is namespaced so a console top-up can never collide with a CLI or import id.
      const r = await app.ledger.topUp(tenant.account, `console:${entryId}`, amount, note || 'console top-up', now());
      return { account: tenant.account, amount: r.amount, balanceAfter: r.balanceAfter, arrearsPaid: r.arrearsPaid, duplicate: r.duplicate };
    },
    statement: (tenant, month) => asInput(async () =>
      buildStatement(await readStatementSource(app.ledger, store.current(), tenant, month, { cdrDir: o.cdrDir, zone: zone(), now: now() }))),
    callerAnalysis: (number, date) => analyseDay(o.cdrDir, number, date),
    trunks: (date) => readTrunksDay(o.cdrDir, store.current(), date, (id) => slots.count(slotKey('trunk', id))),
    explain: (r) => asInput(async () => {
      const cfg = store.current();
      const tz = zone();
      const at = r.at !== undefined ? parseTime(r.at, tz) : now();
      const call = { to: r.to, ...(r.seat ? { seatId: r.seat } : {}), ...(r.tenant ? { tenantId: r.tenant } : {}), ...(r.from ? { from: r.from } : {}) };
      const seatTenant = r.seat ? cfg.seats.get(r.seat)?.tenant : r.tenant;
      const v = await readLedgerView(app.ledger, slots, cfg, seatTenant ? cfg.tenants.get(seatTenant) : undefined);
      const ledger: LedgerInputs = { available: v.available, tenantActiveCalls: v.tenantActiveCalls, trunkActiveCalls: v.trunkActiveCalls, ...(v.standing ? { standing: v.standing } : {}) };
      let source: ExplainBalance['source'] = 'redis';
      if (r.balance !== undefined) { ledger.available = parseMoneyArg(r.balance, 'balance'); source = 'argument'; }
      return explain(cfg, { call, now: at, ledger, balanceSource: source, timeZone: tz }).json;
    }),
  };
}

/** The web phone's seat session on a running app (phone-routes.ts). */
function phoneProviders(app: App, store: ConfigStore, o: AppHttpOptions, agentDeps: AgentDeps): PhoneProviders {
  const now = o.now ?? Date.now;
  const key = () => {
    const s = store.current().server;
    return seatTokenKey(s.http, s.drachtio.secret);
  };
  const log = o.log.child({ component: 'phone' });
  return {
    async login(seat, password, source) {
      let r;
      try {
        r = await seatLogin({ lockout: app.lockout, config: () => store.current(), key, now }, seat, password, source);
      } catch (err) {
        log.error({ err, seat }, 'seat login failed: lockout state not read');
        throw new HttpError(503, 'login unavailable for a moment (Redis); try again shortly');
      }
      if (!r.ok) {
        log.info({ seat, source, outcome: r.why }, 'seat login refused');
        return null;
      }
      log.info({ seat, tenant: r.seat.tenant, source }, 'seat logged in');
      return { token: r.token, seat: r.seat.id, tenant: r.seat.tenant, name: r.seat.name ?? r.seat.id, expiresAt: r.claims.expiresAt };
    },
    authenticate(token) {
      const claims = verifySeatToken(key(), token, now());
      return claims && seatOfClaims(store.current(), claims) ? claims : null;
    },
    async me(seat) {
      const cfg = store.current();
      const a = (await listAgents(cfg, agentDeps, now(), { seats: [seat] }))[0];
      // Removed by a reload since the token was checked.
      if (!a) throw new HttpError(401, 'this seat is no longer configured');
      return { seat: a.seat, tenant: a.tenant, name: a.name, state: a.state, callerId: cfg.seats.get(seat)?.callerId ?? null, registered: a.registered };
    },
    async setState(seat, state) {
      const a = await setAgentState(store.current(), agentDeps, seat, state, now());
      log.info({ seat, state }, 'agent state set by the seat');
      return { state: a?.state ?? state };
    },
    calls: (seat, limit) => recentCdrs(o.cdrDir, { seat, now: now() }, limit),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export async function startAppHttp(app: App, store: ConfigStore, o: AppHttpOptions): Promise<OpsHttp> {
  // Tokens are read from the running config, so a reload rotates them without a restart.
  let tokensOf: ServerSettings['http'] | undefined;
  let table = AccessTable.fromSettings({});
  const access = (): AccessTable => {
    const h = store.current().server.http;
    if (h !== tokensOf) { tokensOf = h; table = AccessTable.fromSettings(h); }
    return table;
  };
  const agentDeps: AgentDeps = { agents: app.agents, registrar: app.registrar };
  if (access().open && !isLoopback(o.host)) {
    o.log.warn({ host: o.host }, 'ops http listens beyond loopback with no token: anyone who reaches it reads every call record; set http.tokens');
  }
  return startOpsHttp({
    host: o.host,
    port: o.port,
    access,
    metricsOpen: () => store.current().server.http.metricsOpen === true,
    log: o.log,
    ...(o.drain ? { drain: () => { o.drain!(); return { draining: true, liveCalls: app.live.size, limitSeconds: store.current().server.drain.seconds }; } } : {}),
    status: async () => {
      const c = store.status();
      const holidayCalendar = o.calendar?.status();
      const overload = app.overload();
      return {
        drachtioConnected: app.connected(),
        draining: app.draining(),
        config: { version: c.version, loadedAt: c.loadedAt, dir: c.dir, lastError: c.lastError },
        liveCalls: app.live.size,
        registeredSeats: await app.registeredSeats().catch(() => -1),
        media: { connected: app.mediaConnected(), degradedCalls: app.metrics.mediaDegradedCalls },
        freeswitch: app.freeswitch(),
        ...(app.freeswitchServers().length > 1 ? { freeswitchServers: app.freeswitchServers() } : {}),
        redis: await app.redisState(),
        overload,
        ...(holidayCalendar ? { holidayCalendar } : {}),
        warnings: [
          ...(app.mediaConnected() ? [] : ['media server not connected: anchored calls bridge direct and are not recorded']),
          ...app.freeswitchServers().filter((f) => !f.connected).map((f, _i, down) => (app.freeswitchServers().length > 1
            ? `FreeSWITCH ${f.address} not connected: calls use the other servers${down.length === app.freeswitchServers().length ? ' (none is up)' : ''}; its orphan channels are not reconciled`
            : 'FreeSWITCH watcher not connected: its load is unknown and orphan channels are not reconciled')),
          ...(app.redis.status === 'ready' ? [] : ['redis unavailable: seats get 503 (emergency calls still connect), CDRs are spooled locally']),
          ...(overload.shedShare > 0 ? [`overloaded: ${Math.round(overload.shedShare * 100)}% of new calls are refused with 503 (emergency calls still connect)`] : []),
          ...(!holidayCalendar || holidayCalendar.covered ? [] : [`holiday calendar has no data for ${holidayCalendar.missingYears.join(', ')}`]),
        ],
      };
    },
    calls: async () => {
      const calls = [...app.live.values()].map(({ callId, tenant, seat, callee, answeredAt }) => ({ callId, tenant, seat, callee, answeredAt }));
      // Each seat's agent state next to its calls (issue 13): one read for all of them.
      const seats = [...new Set(calls.map((c) => c.seat).filter((s) => s !== ''))];
      const states = new Map((await listAgents(store.current(), agentDeps, (o.now ?? Date.now)(), { seats, registration: false }).catch(() => [])).map((a) => [a.seat, a.state]));
      return calls.map((c) => ({ ...c, agentState: states.get(c.seat) ?? null }));
    },
    agents: {
      list: (tenant) => listAgents(store.current(), agentDeps, (o.now ?? Date.now)(), tenant !== undefined ? { tenant } : {}),
      set: (seat, state) => setAgentState(store.current(), agentDeps, seat, state, (o.now ?? Date.now)()),
    },
    phone: phoneProviders(app, store, o, agentDeps),
    metrics: () => app.metrics.render(),
    tenantExists: (id) => store.current().tenants.has(id),
    balance: (id) => tenantBalance(store.current(), app.ledger, id),
    cdrs: {
      query: (q) => queryCdrs(o.cdrDir, q),
      // A BOM makes Excel/WPS read the UTF-8 (Chinese names) instead of GBK.
      csv: (q, out) => exportCsv(o.cdrDir, q, out, { bom: true }),
    },
    recordingsDir: () => o.recordingsDir,
    console: consoleProviders(app, store, o),
    phonePage: {
      assetsDir: () => o.phoneDir ?? DEFAULT_PHONE_DIR,
      wsUrl: () => store.current().server.http.phone?.wsUrl,
      realm: () => store.current().server.realm,
    },
  });
}
