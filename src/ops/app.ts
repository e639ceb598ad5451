// Composition root: wires the adapters (drachtio, FreeSWITCH, Redis, files) around the pure core.
// `serve` and the end-to-end tests both start dialgate through here, so tests run the real thing.
import { createHash, randomUUID } from 'node:crypto';
import Srf from 'drachtio-srf';
import { Redis } from 'ioredis';
import pino, { type Logger } from 'pino';
import { createAccessLog } from '../auth/access-log.js';
import { createDigestAuth } from '../auth/digest.js';
import { createLockout, type LockoutOptions } from '../auth/lockout.js';
import { buildCdr } from '../cdr/model.js';
import { CdrWriter } from '../cdr/writer.js';
import { systemClock, type Clock } from '../calls/clock.js';
import { OutboundCallHandler, type LiveCall, type OutboundSettings } from '../calls/outbound-call.js';
import { InboundCallHandler } from '../calls/inbound-call.js';
import { InboundState } from '../calls/inbound-state.js';
import type { ConfigSnapshot, TariffRate } from '../config/types.js';
import { ConcurrencySlots } from '../ledger/concurrency.js';
import { createAlertWebhook } from '../ledger/alert-webhook.js';
import { Ledger } from '../ledger/ledger.js';
import type { LowBalanceAlert } from '../ledger/types.js';
import { recoverOrphans } from '../ledger/recovery.js';
import { MediaGateway } from '../media/media-gateway.js';
import { preloadRegions } from '../numbers/region.js';
import { rateCall } from '../rating/rate.js';
import { createRegistrarStore } from '../registrar/store.js';
import { Authenticator } from '../sip/authenticator.js';
import { createRegisterHandler } from '../sip/registrar.js';
import { OpsMetrics } from './http.js';
import { LOG_REDACT_PATHS } from './log.js';

export interface AppOptions {
  /** The current config snapshot; read once per request (reloads swap it underneath). */
  config: () => ConfigSnapshot;
  redisUrl: string;
  drachtio: { host: string; port: number; secret: string };
  /** FreeSWITCH event socket; null = no media server (direct media only). */
  freeswitch: { host: string; port: number; secret: string } | null;
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
}

export interface App {
  srf: Srf;
  metrics: OpsMetrics;
  /** drachtio-server connection is up. */
  connected(): boolean;
  /** Seats with a live registration. */
  registeredSeats(): Promise<number>;
  /** The FreeSWITCH event socket is connected (anchored calls and recordings are possible). */
  mediaConnected(): boolean;
  redis: Redis;
  ledger: Ledger;
  live: Map<string, LiveCall>;
  log: Logger;
  /** Runs orphan recovery once now (also runs at start and on an interval). */
  recover(): Promise<number>;
  stop(): Promise<void>;
}

export function createLogger(level = process.env.DIALGATE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
}

export async function startApp(opts: AppOptions): Promise<App> {
  const clock = opts.clock ?? systemClock;
  // Region data takes ~0.5 s to load: pay it at start, not on the first call.
  preloadRegions();
  const log = opts.logger ?? createLogger();
  const instanceId = opts.instanceId ?? `dg-${randomUUID().slice(0, 8)}`;
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', (err: Error) => log.error({ err: err.message }, 'redis error'));
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
  const ledger = new Ledger(redis, { instanceId, heartbeatMs, onAlert });
  const slots = new ConcurrencySlots(redis);
  const cdr = new CdrWriter({ redis, dir: opts.cdrDir });
  // Nonces are signed with a key every instance derives from the shared drachtio secret.
  const nonceKey = createHash('sha256').update(`dialgate-nonce:${opts.drachtio.secret}`).digest();
  const auth = new Authenticator({
    digest: createDigestAuth({ secrets: [nonceKey] }),
    lockout: createLockout(redis, opts.lockout),
    access: createAccessLog(redis, log.child({ component: 'access' })),
    now: () => clock.now(),
  });
  const live = new Map<string, LiveCall>();
  const metrics = new OpsMetrics();
  const registrations = createRegistrarStore(redis);

  const srf = new Srf();
  const media = new MediaGateway(srf, log.child({ component: 'media' }));
  const outbound = new OutboundCallHandler({
    srf, media, ledger, slots, cdr, clock, live, log: log.child({ component: 'outbound' }),
    onCdr: (c) => {
      metrics.decision(c.decision, c.denyReason ?? '');
      metrics.cdrWritten();
    },
    onMediaDegraded: () => metrics.mediaDegraded(),
    settings: {
      chunkSeconds: 120,
      heartbeatMs,
      recordingsDir: opts.recordingsDir,
      defaultWarning: 'tone_stream://%(400,200,800);loops=3',
      sipDomain: opts.config().realm,
      ...opts.outbound,
    },
  });
  // Inbound 400 calls (issue 6): carriers' INVITEs to configured numbers, routed to seats and numbers.
  const inbound = new InboundCallHandler({
    srf, media, ledger, slots, cdr, clock, live, registrar: registrations, state: new InboundState(redis),
    log: log.child({ component: 'inbound' }),
    onCdr: (c) => {
      metrics.decision(c.decision, c.denyReason ?? '');
      metrics.cdrWritten();
    },
    onMediaDegraded: () => metrics.mediaDegraded(),
    settings: {
      chunkSeconds: opts.outbound?.chunkSeconds ?? 120,
      heartbeatMs,
      recordingsDir: opts.recordingsDir,
      defaultWarning: opts.outbound?.defaultWarning ?? 'tone_stream://%(400,200,800);loops=3',
      sipDomain: opts.outbound?.sipDomain ?? opts.config().realm,
    },
  });
  const register = createRegisterHandler({ auth, store: registrations, config: opts.config, now: () => clock.now(), log: log.child({ component: 'registrar' }) });

  // A handler that throws must answer the request and never take the process down.
  const guard = (name: string, fn: (req: Srf.SrfRequest, res: Srf.SrfResponse) => Promise<void>) =>
    (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      fn(req, res).catch((err: Error) => {
        log.error({ err: err.message, stack: err.stack, method: req.method, callId: req.get('Call-ID') }, `${name} handler failed`);
        if (!res.finalResponseSent) res.send(500);
      });
    };

  // srf has register()/options() like invite(), though its bundled types omit them.
  const routes = srf as unknown as Record<'register' | 'options', (h: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void) => void>;
  routes.register(guard('register', register));
  srf.invite(guard('invite', async (req, res) => {
    // srf emits CANCEL once and only marks req.canceled inside createUAS: mark it from the start,
    // so a CANCEL during authentication is not lost (the call path checks req.canceled).
    req.on('cancel', () => { (req as { canceled?: boolean }).canceled = true; });
    const cfg = opts.config();
    // A carrier's call to a 400 number (source allow-list); everything else is a seat's call.
    if (inbound.accepts(req, cfg)) return inbound.handle(req, res, cfg);
    const a = await auth.authenticate(req, res, cfg);
    if (!a.ok) return;
    await outbound.handle(req, res, a.seat, cfg);
  }));
  routes.options((_req: Srf.SrfRequest, res: Srf.SrfResponse) => res.send(200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER' } }));
  let connected = false;
  srf.on('error', (err: Error) => log.error({ err: err.message }, 'drachtio connection error'));
  srf.on('connect', () => { connected = true; });
  srf.on('disconnect', () => {
    connected = false;
    log.error('disconnected from drachtio-server; srf reconnects');
  });

  await srf.connect({ host: opts.drachtio.host, port: opts.drachtio.port, secret: opts.drachtio.secret });
  connected = true;
  log.info({ host: opts.drachtio.host, port: opts.drachtio.port, instanceId }, 'connected to drachtio-server');
  if (opts.freeswitch) {
    const settings = { address: opts.freeswitch.host, port: opts.freeswitch.port, secret: opts.freeswitch.secret };
    try {
      await media.connect(settings);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'media server unavailable: anchored calls bridge direct until it is back');
      media.retryInBackground(settings);
    }
  }

  const recover = async (): Promise<number> => {
    const outcomes = await recoverOrphans(ledger, clock.now(), (r, billableMs) => {
      const meta = JSON.parse(r.meta || '{}') as { rate?: TariffRate };
      return meta.rate ? rateCall(meta.rate, billableMs).cost : 0;
    });
    let n = 0;
    for (const o of outcomes) {
      if ((o.outcome !== 'settled' && o.outcome !== 'released') || !o.reservation) continue;
      n++;
      const meta = JSON.parse(o.reservation.meta || '{}') as {
        rate?: TariffRate; tenant?: string; seat?: string; callee?: string; inviteAt?: number; direction?: string; cdrId?: string;
      };
      const direction = meta.direction?.startsWith('inbound') ? 'inbound' as const : 'outbound' as const;
      const rated = meta.rate && o.billableMs ? rateCall(meta.rate, o.billableMs) : null;
      const endAt = o.reservation.answeredAt ? o.reservation.answeredAt + (o.billableMs ?? 0) : o.reservation.lastHeartbeat;
      // The same cdrId the live call would have used: if it did write one, this one is dropped.
      await cdr.write(buildCdr({
        cdrId: meta.cdrId ?? `out-${o.callId}`, callId: o.callId, direction, tenant: meta.tenant ?? null, seat: meta.seat ?? null,
        callerRaw: '', calleeRaw: meta.callee ?? '', calleeNormalised: meta.callee ?? null, decision: 'allow',
        sipStatus: o.reservation.answeredAt ? 200 : 0, inviteAt: meta.inviteAt ?? o.reservation.startedAt, endAt,
        answerAt: o.reservation.answeredAt || null, billableSeconds: rated?.billableSeconds ?? 0,
        billedSeconds: rated?.billedSeconds ?? 0, cost: o.settlement?.debited ?? 0, balanceAfter: o.settlement?.balanceAfter ?? null,
        hangupBy: 'system', hangupCause: 'recovered-after-crash', configVersion: '', recovered: true,
      }));
      log.warn({ callId: o.callId, account: o.account, outcome: o.outcome, cost: o.settlement?.debited }, 'orphaned call settled by recovery');
    }
    return n;
  };
  await recover().catch((err: Error) => log.error({ err: err.message }, 'recovery failed'));
  const recoveryTimer = setInterval(() => {
    recover().catch((err: Error) => log.error({ err: err.message }, 'recovery failed'));
  }, opts.recoveryIntervalMs ?? 30_000);
  recoveryTimer.unref();

  return {
    srf, redis, ledger, live, log, metrics,
    connected: () => connected,
    mediaConnected: () => media.available,
    registeredSeats: async () => (await registrations.count(clock.now())).aors,
    recover,
    async stop() {
      clearInterval(recoveryTimer);
      for (const call of live.values()) call.hangup('shutdown');
      // Hangups settle money and write CDRs before the connections close; a call still finishing
      // after this is settled by crash recovery (its reservation heartbeats stop).
      const deadline = Date.now() + (opts.stopTimeoutMs ?? 10_000);
      while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await cdr.flush();
      media.disconnect();
      srf.disconnect();
      redis.disconnect();
    },
  };
}
