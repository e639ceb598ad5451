// Composition root: wires the adapters (drachtio, FreeSWITCH, Redis, files) around the pure core.
// `serve` and the end-to-end tests both start dialgate through here, so tests run the real thing.
import { createHash, randomUUID } from 'node:crypto';
import Srf from 'drachtio-srf';
import pino, { type Logger } from 'pino';
import { AgentStore } from '../agents/agent-store.js';
import { createAccessLog } from '../auth/access-log.js';
import { createDigestAuth } from '../auth/digest.js';
import { createLockout, type Lockout, type LockoutOptions } from '../auth/lockout.js';
import { createReplayGuard } from '../auth/replay.js';
import { isDeferred, pendingRetries } from '../calls/retry-later.js';
import type { ServerSettings } from '../config/types.js';
import type { LedgerView } from '../policy/types.js';
import { carrierTrunkFor } from '../policy/inbound/sources.js';
import { sourceAllowed } from '../auth/sources.js';
import { DEFAULT_FLOOD_LIMITS, FloodGuard } from '../sip/flood-guard.js';
import { openOverloadDoor, type OverloadStatus } from '../sip/overload-door.js';
import type { Cdr } from '../cdr/model.js';
import type { AnsweredCall } from '../calls/session-types.js';
import { CdrWriter } from '../cdr/writer.js';
import { systemClock, type Clock } from '../calls/clock.js';
import { OutboundCallHandler, type LiveCall, type OutboundSettings } from '../calls/outbound-call.js';
import { InboundCallHandler } from '../calls/inbound-call.js';
import { InboundState } from '../calls/inbound-state.js';
import { writeCdr } from '../calls/call-record.js';
import { rateFromMeta, recoveryCdrs } from '../calls/recovery-cdrs.js';
import type { ConfigSnapshot, Tenant } from '../config/types.js';
import { ConcurrencySlots } from '../ledger/concurrency.js';
import { coalesceWrites } from '../ledger/coalesce-writes.js';
import { coalesceDrachtioWrites } from '../sip/drachtio-writes.js';
import { createRedisClient, describeTarget, isCluster, type RedisTarget } from '../ledger/redis-client.js';
import { batchScripts } from '../ledger/lua/script-batch.js';
import type { RedisClient } from '../ledger/lua/script.js';
import type { ShardedStream } from '../ledger/stream-shards.js';
import { createAlertWebhook } from '../ledger/alert-webhook.js';
import { FraudCounters, type SpendCapCrossed } from '../fraud/counters.js';
import { Ledger } from '../ledger/ledger.js';
import type { ArrearsAlert, LowBalanceAlert } from '../ledger/types.js';
import { recoverOrphans } from '../ledger/recovery.js';
import { ChannelReconciler } from '../media/channel-reconciler.js';
import type { FreeSwitchStatus } from '../media/freeswitch-status.js';
import { FreeSwitchWatcher } from '../media/freeswitch-watcher.js';
import { MediaFarm } from '../media/media-farm.js';
import { preloadRegions } from '../numbers/region.js';
import { createRegistrarStore, type RegistrarStore } from '../registrar/store.js';
import { Authenticator } from '../sip/authenticator.js';
import { createRegisterHandler } from '../sip/registrar.js';
import { OpsMetrics, timeOperations, type CdrOutcome } from './metrics.js';
import { createRedactingLogger } from './log.js';

export interface AppOptions {
  /** The current config snapshot; read once per request (reloads swap it underneath). */
  config: () => ConfigSnapshot;
  /** Where Redis is; `redisUrl` is the older spelling of { kind: 'url', url }. */
  redis?: RedisTarget;
  redisUrl?: string;
  /** Keys the CDR and alert streams are spread over (dialgate.yaml redis.streamShards). Default 1. */
  streamShards?: number;
  drachtio: { host: string; port: number; secret: string };
  /** FreeSWITCH event socket(s); several = a farm (each call on the least loaded); null = no media server (direct media only). */
  freeswitch: FreeSwitchTarget | FreeSwitchTarget[] | null;
  cdrDir: string;
  recordingsDir: string;
  clock?: Clock;
  logger?: Logger;
  instanceId?: string;
  outbound?: Partial<OutboundSettings>;
  lockout?: LockoutOptions;
  /** How long stop() waits for live calls to settle and write their CDRs. Default 10 s. */
  stopTimeoutMs?: number;
  /** Settle orphaned reservations of crashed instances at start and then periodically. */
  recoveryIntervalMs?: number;
  /** Calls up when the drachtio connection dropped are ended at reconnect, or after this long without one. Default 5 s. */
  drachtioDropGraceMs?: number;
}

export interface FreeSwitchTarget { host: string; port: number; secret: string }

export interface App {
  srf: Srf;
  metrics: OpsMetrics;
  /** drachtio-server connection is up. */
  connected(): boolean;
  /** Seats with a live registration. */
  registeredSeats(): Promise<number>;
  /** The FreeSWITCH event socket is connected (anchored calls and recordings are possible). */
  mediaConnected(): boolean;
  /** FreeSWITCH's health and load, and the orphan channels killed; null without a media server. With a farm, the first server's. */
  freeswitch(): FreeSwitchStatus | null;
  /** Every FreeSWITCH server's status (one entry per configured server). */
  freeswitchServers(): FreeSwitchStatus[];
  /** The orphan-channel reconciler (null without a media server); runs on its own every interval. */
  reconciler: ChannelReconciler | null;
  /** Redis connection state and CDRs waiting in the local spool. */
  redisState(): Promise<{ status: string; spooledCdrs: number; deferredLedgerSteps: number }>;
  redis: RedisClient;
  /** The CDR stream's shards (every reader takes them all). */
  cdrStream: ShardedStream;
  ledger: Ledger;
  /** Agent state of the seats (issue 13), shared by every instance. */
  agents: AgentStore;
  registrar: RegistrarStore;
  /** Brute-force lockout shared by SIP digest and the web phone's login. */
  lockout: Lockout;
  live: Map<string, LiveCall>;
  log: Logger;
  /** Runs orphan recovery once now (also runs at start and on an interval). */
  recover(): Promise<number>;
  /**
   * Stops taking new calls (drachtio-server sends them to the other instances), waits up to
   * limitMs for live calls to end by themselves, then ends and settles the rest.
   */
  drain(limitMs: number): Promise<DrainReport>;
  /** A drain has started: no new calls come to this instance. */
  draining(): boolean;
  /** Overload control: the share of new calls refused now and the refusals since start. */
  overload(): OverloadStatus;
  stop(): Promise<void>;
}

export interface DrainReport {
  /** Live calls when the drain started. */
  live: number;
  /** Of those, calls that ended by themselves within the limit. */
  finished: number;
  /** Calls ended by the drain at the limit (CDR reason "shutdown"). */
  cut: number;
  durationMs: number;
}

export function createLogger(level = process.env.DIALGATE_LOG_LEVEL ?? 'info'): Logger {
  return createRedactingLogger({ level });
}

export async function startApp(opts: AppOptions): Promise<App> {
  const clock = opts.clock ?? systemClock;
  // Region data takes ~0.5 s to load: pay it at start, not on the first call.
  preloadRegions();
  const log = opts.logger ?? createLogger();
  const instanceId = opts.instanceId ?? `dg-${randomUUID().slice(0, 8)}`;
  // Fail fast and closed: while Redis is away a command fails at once (no offline queue) or after
  // 1 s (a hung server), so a seat hears 503 within a second instead of waiting on retries.
  const target: RedisTarget = opts.redis ?? { kind: 'url', url: opts.redisUrl ?? 'redis://127.0.0.1:6379' };
  const redis = createRedisClient(target);
  if (process.env.DIALGATE_NO_COALESCE !== '1') coalesceWrites(redis);
  if (process.env.DIALGATE_NO_SCRIPT_BATCH !== '1' && !isCluster(redis)) batchScripts(redis);
  const metrics = new OpsMetrics();
  let redisDownLogged = false;
  redis.on('error', (err: Error) => {
    metrics.redisError('connection');
    if (!redisDownLogged) log.error({ err, redis: describeTarget(target) }, 'redis error');
    redisDownLogged = true;
  });
  redis.on('ready', () => {
    if (redisDownLogged) log.info('redis back');
    redisDownLogged = false;
  });
  await new Promise<void>((resolve) => {
    // Start once Redis answers, or after 5 s without it (calls are then refused until it does).
    const t = setTimeout(resolve, 5000);
    redis.once('ready', () => { clearTimeout(t); resolve(); });
  });
  const heartbeatMs = opts.outbound?.heartbeatMs ?? 10_000;
  // 003 §2.2 low-balance alert: once per crossing (the ledger decides), logged and POSTed.
  const onAlert = (alert: LowBalanceAlert): void => {
    log.warn({ alert }, 'low balance alert');
    const { webhook, timeoutMs } = opts.config().server.alerts ?? { timeoutMs: 5000 };
    if (!webhook) return;
    void createAlertWebhook({ url: webhook, timeoutMs })(alert).then((r) => {
      if (!r.ok) log.error({ account: alert.account, status: r.status, err: r.error }, 'alert webhook failed');
    });
  };
  // 001 §6 arrears steps (in arrears, first late fee, closed): decided once by the ledger scripts;
  // charges come from admin commands, which POST them too, so here they are logged and POSTed only
  // when this instance's ledger took the step.
  const onArrears = (alert: ArrearsAlert): void => {
    log.warn({ alert }, 'arrears alert');
    const { webhook, timeoutMs } = opts.config().server.alerts ?? { timeoutMs: 5000 };
    if (!webhook) return;
    void createAlertWebhook({ url: webhook, timeoutMs })(alert).then((r) => {
      if (!r.ok) log.error({ account: alert.account, status: r.status, err: r.error }, 'alert webhook failed');
    });
  };
  // Ledger latency on /metrics: the call path's Redis operations, timed where they are called.
  const streamShards = opts.streamShards ?? 1;
  const ledger = timeOperations(new Ledger(redis, { instanceId, heartbeatMs, onAlert, onArrears, alertStreamShards: streamShards }),
    { reserve: 'reserve', extend: 'extend', heartbeat: 'heartbeat', settle: 'settle', release: 'release' }, metrics);
  // Issue 16 toll-fraud caps: a crossed spend cap goes out on the same webhook, typed spend-cap.
  const onSpendCap = (c: SpendCapCrossed): void => {
    log.warn({ spendCap: c }, 'spend cap alert');
    const { webhook, timeoutMs } = opts.config().server.alerts ?? { timeoutMs: 5000 };
    if (!webhook) return;
    void createAlertWebhook({ url: webhook, timeoutMs })({ ...c, type: 'spend-cap', account: c.tenant }).then((r) => {
      if (!r.ok) log.error({ tenant: c.tenant, status: r.status, err: r.error }, 'alert webhook failed');
    });
  };
  const slots = timeOperations(new ConcurrencySlots(redis),
    { acquire: 'slot-acquire', refresh: 'slot-refresh', release: 'slot-release', releaseMany: 'slot-release' }, metrics);
  const cdr = new CdrWriter({ redis, dir: opts.cdrDir, shards: streamShards, onReplayFailed: () => metrics.cdrFailed() });
  // Nonces are signed with a key every instance derives from the shared drachtio secret.
  const nonceKey = createHash('sha256').update(`dialgate-nonce:${opts.drachtio.secret}`).digest();
  // One lockout for SIP digest and the web phone's login (issue 13): failures of both count together.
  const lockout = createLockout(redis, opts.lockout);
  const auth = new Authenticator({
    digest: createDigestAuth({ secrets: [nonceKey] }),
    lockout,
    replay: createReplayGuard(redis),
    log: log.child({ component: 'auth' }),
    access: createAccessLog(redis, log.child({ component: 'access' }), { shards: streamShards }),
    now: () => clock.now(),
  });
  const live = new Map<string, LiveCall>();
  let invitesInFlight = 0;
  const registrations = createRegistrarStore(redis);

  const srf = new Srf();
  const fsTargets = opts.freeswitch === null ? [] : Array.isArray(opts.freeswitch) ? opts.freeswitch : [opts.freeswitch];
  const media = new MediaFarm(srf, log.child({ component: 'media' }), fsTargets.length);
  // One set of call dependencies for both directions: the same session, metrics and settings.
  const callRecord = {
    cdr, log: log.child({ component: 'recovery' }),
    onCdr: (c: Cdr, outcome: CdrOutcome) => {
      metrics.callEnded(c);
      metrics.cdrWritten(outcome);
    },
    // The call still counts (decision, attempts) when its record could not be written.
    onCdrFailed: (c: Cdr | null) => {
      metrics.cdrFailed();
      if (c) metrics.callEnded(c);
    },
  };
  // Issue 13: agent state shared by every instance (seats on a call, in wrap-up or away are not rung).
  const agents = new AgentStore(redis);
  const calls = {
    ...callRecord, srf, media, ledger, slots, clock, live, fraud: new FraudCounters(redis), onSpendCap, agents,
    onMediaDegraded: () => metrics.mediaDegraded(),
    onAnswered: (c: AnsweredCall) => metrics.callAnswered(c),
    settings: {
      chunkSeconds: 120,
      heartbeatMs,
      recordingsDir: opts.recordingsDir,
      defaultWarning: 'tone_stream://%(400,200,800);loops=3',
      sipDomain: opts.config().realm,
      ...opts.outbound,
    },
  };
  const outbound = new OutboundCallHandler({ ...calls, registrar: registrations, log: log.child({ component: 'outbound' }) });
  // Inbound 400 calls (issue 6): carriers' INVITEs to configured numbers, routed to seats and numbers.
  const inbound = new InboundCallHandler({
    ...calls, registrar: registrations, state: new InboundState(redis), log: log.child({ component: 'inbound' }),
  });
  const register = createRegisterHandler({ auth, store: registrations, config: opts.config, now: () => clock.now(), log: log.child({ component: 'registrar' }) });

  // A handler that throws must answer the request and never take the process down.
  const guard = (name: string, fn: (req: Srf.SrfRequest, res: Srf.SrfResponse) => Promise<void>) =>
    (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      fn(req, res).catch((err: Error) => {
        log.error({ err, method: req.method, callId: req.get('Call-ID') }, `${name} handler failed`);
        if (!res.finalResponseSent) res.send(500);
      });
    };

  // Per-source limits before anything costs a digest check or a Redis write. Scanners get no
  // answer at all; a source over its limit gets 503 + Retry-After until its ban ends.
  let floodLimitsOf: ServerSettings['security'] | undefined;
  let flood = new FloodGuard();
  // Tenants' allowed networks, listed once per config snapshot instead of on every request.
  const tenantNetworks = new WeakMap<ConfigSnapshot, NonNullable<Tenant['allowedSources']>[]>();
  const tenantNetworksOf = (cfg: ConfigSnapshot): NonNullable<Tenant['allowedSources']>[] => {
    let nets = tenantNetworks.get(cfg);
    if (!nets) {
      nets = [...cfg.tenants.values()].flatMap((t) => (t.allowedSources !== undefined ? [t.allowedSources] : []));
      tenantNetworks.set(cfg, nets);
    }
    return nets;
  };
  const admitted = (req: Srf.SrfRequest, res: Srf.SrfResponse): boolean => {
    const cfg = opts.config();
    if (cfg.server.security !== floodLimitsOf) {
      floodLimitsOf = cfg.server.security;
      const s = floodLimitsOf;
      if (s) flood = new FloodGuard({ ...DEFAULT_FLOOD_LIMITS, invite: s.invitePerSecond, register: s.registerPerSecond, options: s.optionsPerSecond, banMs: s.banSeconds * 1000 });
    }
    // Known networks are not limited: carriers, and the call centres of tenants that name theirs.
    const exempt = carrierTrunkFor(cfg, req.source_address, Number(req.source_port)) !== undefined
      || tenantNetworksOf(cfg).some((nets) => sourceAllowed(nets, req.source_address));
    const verdict = flood.admit(req.method, req.source_address, req.has('User-Agent') ? req.get('User-Agent') : undefined, Date.now(), exempt);
    if (verdict === 'ok') return true;
    if (verdict !== 'scanner') res.send(503, { headers: { 'Retry-After': String(Math.ceil((cfg.server.security?.banSeconds ?? 60))), Reason: 'SIP;cause=503;text="Too many requests"' } });
    return false;
  };
  // Overload control: a call's first INVITE gets 503 + Retry-After past the process's capacity.
  const overload = openOverloadDoor({ config: opts.config, log: log.child({ component: 'overload' }), onRefused: (r) => metrics.overloadRefused(r) });
  metrics.sources = {
    liveCalls: () => live.size,
    registeredSeats: async () => (await registrations.count(clock.now())).aors,
    up: () => connected,
    mediaConnected: () => media.available,
    spoolDepth: () => cdr.spoolDepth(),
    flood: () => ({ ...flood.counters, bannedNow: flood.bannedSources(Date.now()) }),
    overloadShedShare: () => overload.shedShare(),
  };

  // srf has register()/options() like invite(), though its bundled types omit them.
  const routes = srf as unknown as Record<'register' | 'options', (h: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void) => void>;
  routes.register(guard('register', async (req, res) => {
    if (!admitted(req, res)) return;
    await register(req, res);
    metrics.register(res.statusCode);
  }));
  srf.invite(guard('invite', async (req, res) => {
    // Counted from the first line: a call still authenticating is not in `live` yet, and a drain
    // must not end the process under it.
    invitesInFlight++;
    try {
      await handleInvite(req, res);
    } finally {
      invitesInFlight--;
    }
  }));
  const handleInvite = async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    if (!admitted(req, res) || overload.refuse(req, res)) return;
    // srf emits CANCEL once and only marks req.canceled inside createUAS: mark it from the start,
    // so a CANCEL during authentication is not lost (the call path checks req.canceled).
    req.on('cancel', () => { (req as { canceled?: boolean }).canceled = true; });
    const cfg = opts.config();
    // A carrier's call to a 400 number (source allow-list); everything else is a seat's call.
    if (inbound.accepts(req, cfg)) return inbound.handle(req, res, cfg);
    // The call's ledger view is read as soon as the digest is right, with the lockout's read.
    let view: Promise<LedgerView> | undefined;
    const a = await auth.authenticate(req, res, cfg, (seat) => { view = outbound.prefetchView(req, seat, cfg); });
    if (!a.ok) return;
    await outbound.handle(req, res, a.seat, cfg, view);
  };
  routes.options((req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    if (admitted(req, res)) res.send(200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, REFER' } });
  });
  // drachtio-server binds each dialog to the connection that created it (client-controller.cpp
  // findClientForDialog): once that connection is gone, nothing inside our calls (BYE, re-INVITE,
  // session refresh) can reach us again, even after we reconnect, and after a server restart the
  // server knows none of them. Such calls could never be seen to end, so they are ended: on
  // reconnect (BYE to both legs through the server, which delivers it if it kept the dialogs) or
  // after dropGraceMs without one, and settled then with hangupCause "drachtio-lost".
  let connected = false;
  let started = false;
  let lost: { calls: LiveCall[]; timer: NodeJS.Timeout } | null = null;
  const endLost = (why: string): void => {
    if (!lost) return;
    clearTimeout(lost.timer);
    const calls = lost.calls.filter((c) => live.get(c.callId) === c);
    lost = null;
    if (calls.length) log.warn({ calls: calls.length, why }, 'ending calls whose dialogs drachtio-server no longer routes to us');
    for (const call of calls) call.hangup('drachtio-lost');
  };
  srf.on('error', (err: Error) => log.error({ err }, 'drachtio connection error'));
  if (process.env.DIALGATE_NO_COALESCE !== '1') coalesceDrachtioWrites(srf);
  srf.on('connect', (err: Error | null) => {
    if (err) return;
    if (started && !connected) log.info({ host: opts.drachtio.host, port: opts.drachtio.port }, 'reconnected to drachtio-server');
    connected = true;
    endLost('reconnected');
  });
  // srf re-emits its socket's 'close' (it has no 'disconnect' event) and reconnects by itself.
  (srf as unknown as NodeJS.EventEmitter).on('close', () => {
    if (!connected) return;
    connected = false;
    log.error({ liveCalls: live.size }, 'disconnected from drachtio-server; reconnecting');
    if (live.size > 0 && !lost) {
      lost = { calls: [...live.values()], timer: setTimeout(() => endLost('not reconnected'), opts.drachtioDropGraceMs ?? 5000) };
      lost.timer.unref();
    }
  });

  // Reconnect attempts back off from 150 ms up to 1 s: a restarted server has us back within a second.
  await srf.connect({ host: opts.drachtio.host, port: opts.drachtio.port, secret: opts.drachtio.secret, reconnect: { retryMaxDelay: 1000 } } as Parameters<Srf['connect']>[0]);
  connected = true;
  started = true;
  log.info({ host: opts.drachtio.host, port: opts.drachtio.port, instanceId }, 'connected to drachtio-server');
  if (fsTargets.length) {
    await media.connect(fsTargets.map((t) => ({ address: t.host, port: t.port, secret: t.secret })), log.child({ component: 'media' }));
  }

  // Issue 14: our own event socket follows each FreeSWITCH's channels and load (the farm picks by
  // it), and every interval its reconciler kills channels no call of ours holds there.
  const watchers: FreeSwitchWatcher[] = [];
  const reconcilers: ChannelReconciler[] = [];
  fsTargets.forEach((t, i) => {
    const fsLog = log.child({ component: 'freeswitch', ...(fsTargets.length > 1 ? { server: i } : {}) });
    const watcher = new FreeSwitchWatcher({ host: t.host, port: t.port, password: t.secret }, { clock, log: fsLog });
    watcher.start();
    const gateway = media.gateways[i]!;
    media.setLoad(i, { sessions: () => (watcher.health().connected ? watcher.health().sessions : undefined) });
    const reconciler = new ChannelReconciler({
      watcher,
      held: () => new Set([...media.held(), ...[...live.values()].flatMap((c) => c.mediaUuids())]),
      self: () => gateway.outboundAddress,
      settings: () => {
        const r = opts.config().server.freeswitch.reconcile;
        return { enabled: r.enabled, intervalMs: r.intervalSeconds * 1000, graceMs: r.graceSeconds * 1000 };
      },
      clock,
      log: fsLog,
    });
    reconciler.start();
    watchers.push(watcher);
    reconcilers.push(reconciler);
  });
  const fsStatus = (i: number): FreeSwitchStatus => ({ ...watchers[i]!.health(), orphansKilled: reconcilers[i]!.killed, lastReconcile: reconcilers[i]!.lastReport });
  if (watchers.length) metrics.sources.freeswitch = () => fsStatus(0);
  const reconciler = reconcilers[0] ?? null;

  const recover = async (): Promise<number> => {
    const outcomes = await recoverOrphans(ledger, clock.now(), rateFromMeta, { skip: isDeferred });
    const cdrs = recoveryCdrs(outcomes);
    for (const c of cdrs) {
      await writeCdr(callRecord, c);
      log.warn({ callId: c.callId, cdrId: c.cdrId, cost: c.cost }, 'orphaned call settled by recovery');
    }
    return cdrs.length;
  };
  await recover().catch((err: unknown) => log.error({ err }, 'recovery failed'));
  const recoveryTimer = setInterval(() => {
    recover().catch((err: unknown) => log.error({ err }, 'recovery failed'));
  }, opts.recoveryIntervalMs ?? 30_000);
  recoveryTimer.unref();
  // CDRs spooled while Redis was away go into the stream as soon as it is back.
  const replay = (): void => {
    if (redis.status !== 'ready') return;
    cdr.replaySpool().then((left) => { if (left > 0) log.warn({ left }, 'cdr spool not empty'); },
      (err: unknown) => log.error({ err }, 'cdr spool replay failed'));
  };
  redis.on('ready', replay);
  const replayTimer = setInterval(replay, 2000);
  replayTimer.unref();
  replay();

  let drainStarted: Promise<DrainReport> | null = null;
  /** Waits until no call is live or being set up, or the deadline passes; true when none is left. */
  const settled = async (deadline: number): Promise<boolean> => {
    while ((live.size > 0 || invitesInFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return live.size === 0 && invitesInFlight === 0;
  };
  const drain = (limitMs: number): Promise<DrainReport> => {
    drainStarted ??= (async () => {
      const started = Date.now();
      const before = live.size;
      // remove_route: drachtio-server stops offering this connection new requests (it drops all
      // of the connection's routes, not just INVITE's: drachtio-server client-controller.cpp),
      // while requests inside our dialogs (BYE, re-INVITE) still reach us.
      try {
        (srf as unknown as { unregisterForMessages(verb: string): void }).unregisterForMessages('invite');
      } catch (err) {
        log.warn({ err }, 'drain: could not withdraw from drachtio-server');
      }
      log.info({ liveCalls: before, limitSeconds: limitMs / 1000 }, 'draining: no new calls; live calls finish');
      await settled(started + limitMs);
      const cut = live.size;
      for (const call of live.values()) call.hangup('shutdown');
      await settled(Date.now() + (opts.stopTimeoutMs ?? 10_000));
      const report = { live: before, finished: Math.max(0, before - cut), cut, durationMs: Date.now() - started };
      log.info(report, 'drained');
      return report;
    })();
    return drainStarted;
  };

  return {
    srf, redis, ledger, live, log, metrics, drain, agents, registrar: registrations, lockout, cdrStream: cdr.streams,
    draining: () => drainStarted !== null,
    overload: () => overload.status(),
    connected: () => connected,
    mediaConnected: () => media.available,
    freeswitch: () => metrics.sources.freeswitch?.() ?? null,
    freeswitchServers: () => watchers.map((_, i) => fsStatus(i)),
    reconciler,
    redisState: async () => ({ status: redis.status, spooledCdrs: await cdr.spoolDepth().catch(() => -1), deferredLedgerSteps: pendingRetries() }),
    registeredSeats: async () => (await registrations.count(clock.now())).aors,
    recover,
    async stop() {
      overload.stop();
      clearInterval(recoveryTimer);
      clearInterval(replayTimer);
      for (const call of live.values()) call.hangup('shutdown');
      // Hangups settle money and write CDRs before the connections close; a call still finishing
      // after this is settled by crash recovery (its reservation heartbeats stop).
      await settled(Date.now() + (opts.stopTimeoutMs ?? 10_000));
      await cdr.flush();
      for (const r of reconcilers) r.stop();
      for (const w of watchers) w.stop();
      media.disconnect();
      srf.disconnect();
      redis.disconnect();
    },
  };
}
