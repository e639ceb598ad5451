// The ops HTTP API: GET /health, GET /calls, GET /metrics on a tiny node:http server.
// Its data comes from injected functions (the composition root wires them), so it holds no state
// of its own apart from the metric counters a caller may choose to keep in OpsMetrics.
// With a token configured every request needs `Authorization: Bearer <token>`; the token is
// compared in constant time and never logged or echoed.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

type MaybePromise<T> = T | Promise<T>;

export interface OpsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface OpsHttpOptions {
  host: string;
  /** 0 = any free port (tests); read the chosen one from OpsHttp.port. */
  port: number;
  /** Bearer token required on every request when set. */
  token?: string;
  status: () => MaybePromise<StatusJson>;
  calls?: () => MaybePromise<readonly LiveCallJson[]>;
  /** Prometheus text exposition; default: the few gauges derivable from status(). */
  metrics?: () => MaybePromise<string>;
  /** Access log (001 §4(十七)): method, path, status, remote address; never the token. */
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
  return s.drachtioConnected && s.config.version !== null;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time bearer check (hashing first makes the lengths equal). */
export function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  const given = m?.[1]?.trim() ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startOpsHttp(o: OpsHttpOptions): Promise<OpsHttp> {
  const now = o.now ?? Date.now;
  const startedAt = o.startedAt ?? Math.round(now() - process.uptime() * 1000);
  const token = o.token && o.token.length > 0 ? o.token : undefined;

  const withUptime = async (): Promise<StatusJson> => {
    const s = await o.status();
    // Memory for capacity planning (heap per live call) and leak watching.
    const m = process.memoryUsage();
    return { ...s, uptimeSeconds: s.uptimeSeconds ?? Math.floor((now() - startedAt) / 1000), memory: { heapUsedBytes: m.heapUsed, rssBytes: m.rss } };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    if (token && !bearerOk(req.headers.authorization, token)) {
      res.setHeader('www-authenticate', 'Bearer realm="dialgate"');
      send(res, 401, { error: 'unauthorized: send Authorization: Bearer <token>' });
      return 401;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, { error: `method ${req.method} not allowed` });
      return 405;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    switch (path) {
      case '/health': {
        const s = await withUptime();
        const code = isHealthy(s) ? 200 : 503;
        const status = code !== 200 ? 'unavailable' : s.config.lastError || s.warnings?.length ? 'degraded' : 'ok';
        send(res, code, { status, ...s });
        return code;
      }
      case '/calls': {
        const calls = o.calls ? await o.calls() : [];
        send(res, 200, { count: calls.length, calls });
        return 200;
      }
      case '/metrics': {
        const text = o.metrics ? await o.metrics() : defaultMetrics(await withUptime());
        send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8');
        return 200;
      }
      default:
        send(res, 404, { error: `no such endpoint ${path}; try /health, /calls, /metrics` });
        return 404;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).then(
      (status) => o.log?.info({ method: req.method, path: req.url?.split('?')[0], status, remote: req.socket.remoteAddress }, 'ops http'),
      (err: Error) => {
        o.log?.warn({ method: req.method, path: req.url?.split('?')[0], err }, 'ops http handler failed');
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

// ── metrics ─────────────────────────────────────────────────────────────────────────────────

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function defaultMetrics(s: StatusJson): string {
  return [
    '# HELP dialgate_live_calls Calls in progress on this instance.',
    '# TYPE dialgate_live_calls gauge',
    `dialgate_live_calls ${s.liveCalls}`,
    '# HELP dialgate_registered_seats Seats with a live registration.',
    '# TYPE dialgate_registered_seats gauge',
    `dialgate_registered_seats ${s.registeredSeats}`,
    '# HELP dialgate_up 1 when drachtio-server is connected and a config is loaded.',
    '# TYPE dialgate_up gauge',
    `dialgate_up ${isHealthy(s) ? 1 : 0}`,
    '# HELP dialgate_uptime_seconds Seconds since the process started.',
    '# TYPE dialgate_uptime_seconds gauge',
    `dialgate_uptime_seconds ${s.uptimeSeconds ?? 0}`,
    '',
  ].join('\n');
}

/**
 * Counters for /metrics that the call path bumps: decisions by outcome and reason, CDRs written.
 * Gauges (live calls, seats) are read at scrape time from the injected functions.
 */
export class OpsMetrics {
  private readonly decisions = new Map<string, number>();
  private cdrs = 0;
  private cdrFailures = 0;
  private reloads = 0;
  private rejectedReloads = 0;
  private degradedMedia = 0;
  /** Per-source limits (sip/flood-guard.ts), read at render time. */
  floodCounters?: () => { scannerDrops: number; limited: Record<string, number>; bans: number; bannedNow: number };

  /** One call decided: decision 'allow' | 'deny', reason '' for allow. */
  decision(decision: 'allow' | 'deny', reason = ''): void {
    const k = `${decision}\0${decision === 'allow' ? '' : reason}`;
    this.decisions.set(k, (this.decisions.get(k) ?? 0) + 1);
  }

  cdrWritten(): void { this.cdrs++; }
  cdrFailed(): void { this.cdrFailures++; }
  /** A call meant to be anchored or recorded that was not (media server down, endpoints failed). */
  mediaDegraded(): void { this.degradedMedia++; }
  get mediaDegradedCalls(): number { return this.degradedMedia; }
  configReloaded(ok: boolean): void { if (ok) this.reloads++; else this.rejectedReloads++; }

  render(g: { liveCalls: number; registeredSeats?: number; up?: boolean; uptimeSeconds?: number; mediaConnected?: boolean }): string {
    const lines = [
      '# HELP dialgate_calls_total Call decisions (outbound and inbound) by outcome and deny reason.',
      '# TYPE dialgate_calls_total counter',
    ];
    for (const [k, n] of [...this.decisions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [decision = '', reason = ''] = k.split('\0');
      lines.push(`dialgate_calls_total{decision="${esc(decision)}",reason="${esc(reason)}"} ${n}`);
    }
    lines.push(
      '# HELP dialgate_live_calls Calls in progress on this instance.',
      '# TYPE dialgate_live_calls gauge',
      `dialgate_live_calls ${g.liveCalls}`,
      '# HELP dialgate_cdrs_written_total CDRs written (stream and daily files).',
      '# TYPE dialgate_cdrs_written_total counter',
      `dialgate_cdrs_written_total ${this.cdrs}`,
      '# HELP dialgate_cdr_write_failures_total CDR writes that failed.',
      '# TYPE dialgate_cdr_write_failures_total counter',
      `dialgate_cdr_write_failures_total ${this.cdrFailures}`,
      '# HELP dialgate_config_reloads_total Config reloads by result.',
      '# TYPE dialgate_config_reloads_total counter',
      `dialgate_config_reloads_total{result="applied"} ${this.reloads}`,
      `dialgate_config_reloads_total{result="rejected"} ${this.rejectedReloads}`,
      '# HELP dialgate_media_degraded_total Calls meant to go through FreeSWITCH (anchored or recorded) that did not.',
      '# TYPE dialgate_media_degraded_total counter',
      `dialgate_media_degraded_total ${this.degradedMedia}`,
    );
    const f = this.floodCounters?.();
    if (f) {
      lines.push(
        '# HELP dialgate_sip_scanner_drops_total Requests from known scanner User-Agents dropped without a response.',
        '# TYPE dialgate_sip_scanner_drops_total counter',
        `dialgate_sip_scanner_drops_total ${f.scannerDrops}`,
        '# HELP dialgate_sip_rate_limited_total Requests over a source\'s per-second limit (the source is then banned).',
        '# TYPE dialgate_sip_rate_limited_total counter',
        ...Object.entries(f.limited).map(([m, n]) => `dialgate_sip_rate_limited_total{method="${esc(m)}"} ${n}`),
        '# HELP dialgate_sip_banned_sources Sources refused right now for exceeding a limit.',
        '# TYPE dialgate_sip_banned_sources gauge',
        `dialgate_sip_banned_sources ${f.bannedNow}`,
      );
    }
    if (g.mediaConnected !== undefined) {
      lines.push('# HELP dialgate_media_server_connected 1 when the FreeSWITCH event socket is connected.', '# TYPE dialgate_media_server_connected gauge', `dialgate_media_server_connected ${g.mediaConnected ? 1 : 0}`);
    }
    if (g.registeredSeats !== undefined) {
      lines.push('# HELP dialgate_registered_seats Seats with a live registration.', '# TYPE dialgate_registered_seats gauge', `dialgate_registered_seats ${g.registeredSeats}`);
    }
    if (g.up !== undefined) {
      lines.push('# HELP dialgate_up 1 when the drachtio-server connection is up.', '# TYPE dialgate_up gauge', `dialgate_up ${g.up ? 1 : 0}`);
    }
    if (g.uptimeSeconds !== undefined) {
      lines.push('# HELP dialgate_uptime_seconds Seconds since the process started.', '# TYPE dialgate_uptime_seconds gauge', `dialgate_uptime_seconds ${g.uptimeSeconds}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
