// `dialgate serve`: load and watch the config, start the app, reload on SIGHUP, stop on SIGTERM.
import { resolve } from 'node:path';
import { ConfigLoadError, ConfigStore, reloadOnSighup } from '../config/index.js';
import { createLogger, startApp, type App, type FreeSwitchTarget } from './app.js';
import type { ServerSettings } from '../config/types.js';
import { systemClock } from '../calls/clock.js';
import { watchCalendar } from './calendar-watch.js';
import { startAppHttp } from './app-http.js';
import { redisTargetFromEnv, type RedisTarget } from '../config/redis-target.js';

export interface ServeOptions {
  configDir: string;
}

/** Environment overrides, so containers can inject addresses and secrets without editing YAML. */
function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A whole number of milliseconds from the environment (e.g. DIALGATE_HEARTBEAT_MS=1000). */
function envMs(name: string): number | undefined {
  const v = env(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100) throw new Error(`${name} must be a whole number of milliseconds ≥ 100, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The FreeSWITCH servers: DIALGATE_ESL_SERVERS ("host:port,host:port"), else DIALGATE_ESL_HOST/PORT,
 * else freeswitch.servers, else freeswitch.host/port; all with one password.
 */
function freeSwitchTargets(fs: ServerSettings['freeswitch']): FreeSwitchTarget[] {
  const secret = env('DIALGATE_ESL_PASSWORD') ?? fs.secret;
  const list = env('DIALGATE_ESL_SERVERS');
  if (list) {
    return list.split(',').map((hp) => {
      const m = /^\s*([^:\s]+):(\d+)\s*$/.exec(hp);
      if (!m) throw new Error(`DIALGATE_ESL_SERVERS must be host:port[,host:port...], got ${JSON.stringify(hp)}`);
      return { host: m[1]!, port: Number(m[2]), secret };
    });
  }
  if (env('DIALGATE_ESL_HOST') !== undefined || env('DIALGATE_ESL_PORT') !== undefined || !fs.servers) {
    return [{ host: env('DIALGATE_ESL_HOST') ?? fs.host, port: Number(env('DIALGATE_ESL_PORT') ?? fs.port), secret }];
  }
  return fs.servers.map((s) => ({ ...s, secret }));
}

export async function serve(opts: ServeOptions): Promise<App> {
  const dir = resolve(opts.configDir);
  const bootLog = createLogger();
  let store: ConfigStore;
  try {
    store = await ConfigStore.open(dir, { logger: bootLog.child({ component: 'config' }) });
  } catch (err) {
    if (err instanceof ConfigLoadError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = store.current().server;
  const log = createLogger(env('DIALGATE_LOG_LEVEL') ?? server.log.level);
  // Ledger heartbeat of live calls (crash recovery bills up to one interval after the last one).
  const heartbeatMs = envMs('DIALGATE_HEARTBEAT_MS');
  let redisTarget: RedisTarget;
  try {
    redisTarget = redisTargetFromEnv(process.env, server.redis);
  } catch (err) {
    process.stderr.write(`dialgate: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const app = await startApp({
    config: () => store.current(),
    redis: redisTarget,
    streamShards: server.redis.streamShards,
    drachtio: {
      host: env('DIALGATE_DRACHTIO_HOST') ?? server.drachtio.host,
      port: Number(env('DIALGATE_DRACHTIO_PORT') ?? server.drachtio.port),
      secret: env('DIALGATE_DRACHTIO_SECRET') ?? server.drachtio.secret,
    },
    freeswitch: freeSwitchTargets(server.freeswitch),
    cdrDir: env('DIALGATE_CDR_DIR') ?? server.cdr.dir,
    // The path FreeSWITCH writes to; it must see the same directory (a shared volume in compose).
    recordingsDir: env('DIALGATE_RECORDINGS_DIR') ?? server.freeswitch.recordingDir,
    logger: log,
    ...(heartbeatMs !== undefined ? { outbound: { heartbeatMs } } : {}),
  });
  await store.watch();
  const unhook = reloadOnSighup(store);
  const calendar = watchCalendar(() => store.current(), systemClock, log.child({ component: 'calendar' }));
  let drainRequested: (why: string) => void = () => undefined;
  const ops = await startAppHttp(app, store, {
    drain: () => drainRequested('POST /drain'),
    host: server.http.host,
    // Several instances on one host share the config directory but not a port.
    port: Number(env('DIALGATE_HTTP_PORT') ?? server.http.port),
    cdrDir: env('DIALGATE_CDR_DIR') ?? server.cdr.dir,
    recordingsDir: env('DIALGATE_RECORDINGS_DIR') ?? server.freeswitch.recordingDir,
    log: log.child({ component: 'http' }),
    calendar,
  });
  log.info({ url: ops.url }, 'ops http listening');
  store.on('reloaded', () => app.metrics.configReloaded(true));
  store.on('rejected', () => app.metrics.configReloaded(false));
  store.on('reloaded', (e) => log.info({ version: e.version.slice(0, 12), diff: e.diff, reason: e.reason }, 'config reloaded'));
  store.on('rejected', (e) => log.error({ errors: e.errors, kept: e.keptVersion.slice(0, 12), reason: e.reason }, 'config change rejected; running config kept'));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, liveCalls: app.live.size }, 'shutting down');
    unhook();
    calendar.stop();
    store.close();
    void ops.close();
    void app.stop().finally(() => process.exit(0));
  };
  // SIGTERM (a rolling restart, `docker stop`) and POST /drain: drain first. The ops API stays up
  // meanwhile (/health answers 503 "draining", so load balancers look elsewhere). A second SIGTERM
  // or a SIGINT stops at once.
  const drainThenStop = (why: string): void => {
    if (app.draining()) return shutdown(`${why} while draining`);
    void app.drain(store.current().server.drain.seconds * 1000).finally(() => shutdown(why));
  };
  drainRequested = drainThenStop;
  process.on('SIGTERM', () => drainThenStop('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Capacity measurements (heap per live call): started with --expose-gc, SIGUSR2 runs a full
  // collection, so /health's memory shows only live objects. Without the flag the signal is ignored.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    process.on('SIGUSR2', () => {
      gc();
      log.info({ heapUsedBytes: process.memoryUsage().heapUsed, liveCalls: app.live.size }, 'full gc (SIGUSR2)');
    });
  }
  process.on('unhandledRejection', (err) => log.error({ err: (err as Error)?.message ?? String(err) }, 'unhandled rejection'));
  return app;
}
