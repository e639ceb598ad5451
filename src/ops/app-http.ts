// The ops HTTP API of a running app: what each endpoint reads (health, live calls, metrics, CDRs,
// balances, recordings) and who may read it (tokens from the running config). `serve` and the
// end-to-end tests both start it through here.
import type { Logger } from 'pino';
import { exportCsv, queryCdrs } from '../cdr/query.js';
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
  if (access().open && !isLoopback(o.host)) {
    o.log.warn({ host: o.host }, 'ops http listens beyond loopback with no token: anyone who reaches it reads every call record; set http.tokens');
  }
  return startOpsHttp({
    host: o.host,
    port: o.port,
    access,
    metricsOpen: () => store.current().server.http.metricsOpen === true,
    log: o.log,
    status: async () => {
      const c = store.status();
      const holidayCalendar = o.calendar?.status();
      return {
        drachtioConnected: app.connected(),
        config: { version: c.version, loadedAt: c.loadedAt, dir: c.dir, lastError: c.lastError },
        liveCalls: app.live.size,
        registeredSeats: await app.registeredSeats().catch(() => -1),
        media: { connected: app.mediaConnected(), degradedCalls: app.metrics.mediaDegradedCalls },
        freeswitch: app.freeswitch(),
        redis: await app.redisState(),
        ...(holidayCalendar ? { holidayCalendar } : {}),
        warnings: [
          ...(app.mediaConnected() ? [] : ['media server not connected: anchored calls bridge direct and are not recorded']),
          ...(app.freeswitch()?.connected === false ? ['FreeSWITCH watcher not connected: its load is unknown and orphan channels are not reconciled'] : []),
          ...(app.redis.status === 'ready' ? [] : ['redis unavailable: seats get 503 (emergency calls still connect), CDRs are spooled locally']),
          ...(!holidayCalendar || holidayCalendar.covered ? [] : [`holiday calendar has no data for ${holidayCalendar.missingYears.join(', ')}`]),
        ],
      };
    },
    calls: () => [...app.live.values()].map(({ callId, tenant, seat, callee, answeredAt }) => ({ callId, tenant, seat, callee, answeredAt })),
    metrics: () => app.metrics.render(),
    tenantExists: (id) => store.current().tenants.has(id),
    balance: (id) => tenantBalance(store.current(), app.ledger, id),
    cdrs: {
      query: (q) => queryCdrs(o.cdrDir, q),
      // A BOM makes Excel/WPS read the UTF-8 (Chinese names) instead of GBK.
      csv: (q, out) => exportCsv(o.cdrDir, q, out, { bom: true }),
    },
    recordingsDir: () => o.recordingsDir,
  });
}
