// End-to-end bench: real redis-server, the drachtio and FreeSWITCH stand-ins, dialgate started
// through the same composition root as `dialgate serve`, and sipp trunks on loopback.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { shiftedClock } from '../../src/calls/clock.js';
import type { Cdr } from '../../src/cdr/model.js';
import { ConfigStore } from '../../src/config/index.js';
import { startApp, type App } from '../../src/ops/app.js';
import { startDrachtio, type DrachtioOptions, type DrachtioStandIn } from '../bench/drachtio/standin.js';
import { startFreeSwitch, type FreeSwitchOptions, type FreeSwitchStandIn } from '../bench/freeswitch/index.js';
import { runSipp, startSipp, type SippProcess, type SippResult } from '../bench/sipp.js';
import { startRedis, type RedisInstance, type StartRedisOptions } from '../helpers/redis.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { Redis } from 'ioredis';
import { startRedisSentinel, type RedisSentinel } from '../helpers/redis-sentinel.js';
import type { RedisTarget } from '../../src/ledger/redis-client.js';
import { REAL, realFreeSwitchView, rtpAudioFile, standInView, type MediaView } from './real-servers.js';
import { injection, seatCall, setScenarioAudio, trunkUas, type SeatCallOptions, type TrunkOptions } from './scenarios.js';

export const SEATS = { '1001': 'pw-1001-secret', '1002': 'pw-1002-secret' } as const;

export interface FixtureOptions {
  trunkPorts: [number, number];
  window?: string; // "08:00-19:30"
  increments?: string; // "60/60"
  ratePerMinute?: string; // yuan
  maxConcurrent?: number;
  media?: 'anchored' | 'direct';
  recording?: boolean | 'required';
  warningSeconds?: number;
  callerIdPolicy?: 'deny' | 'replace';
  trunkTimeoutSeconds?: number;
  /** Capacity of each trunk (default 50). */
  trunkMaxConcurrent?: number;
  /** Low-balance alert webhook (dialgate.yaml alerts.webhook). */
  alertWebhook?: string;
  /** Tenant announcements by deny reason (played as early media before the rejection). */
  announcements?: Record<string, string>;
  /** Extra tenant lines (issue 16 caps: maxCallSeconds, maxCallsPerSecond, maxSpendPerHour ...). */
  tenantExtra?: Record<string, string | number>;
  /** Kept for callers: the emergency route (110/119/120/122 over both trunks) is always there, as config check requires. */
  emergencyRoute?: boolean;
  /**
   * dialgate.yaml `overload` as a YAML flow mapping. Default `{ shedOnLoad: false }`: the bench's
   * process also runs the stand-ins and parses sipp's traffic, so its event loop's load is not
   * dialgate's; tests of overload control (and bench:b2bua) set their own.
   */
  overload?: string;
  /** dialgate.yaml freeswitch.reconcile (the orphan-channel reconciler); default: the product's. */
  reconcile?: { enabled?: boolean; intervalSeconds?: number; graceSeconds?: number };
}

/** Writes a complete config directory modelled on the telesales contract (004). */
export function writeFixtureConfig(dir: string, o: FixtureOptions): void {
  mkdirSync(join(dir, 'lists'), { recursive: true });
  const files: Record<string, string> = {
    'dialgate.yaml': `realm: dialgate.test
timezone: Asia/Shanghai
log: { level: info }
http: { host: 127.0.0.1, port: 18080 }
drachtio: { host: 127.0.0.1, port: 9022, secret: cymru }
freeswitch: { host: 127.0.0.1, port: 8021, secret: ClueCon, sipAddress: 127.0.0.1:5080, recordingDir: ${dir}/rec${o.reconcile ? `, reconcile: ${JSON.stringify(o.reconcile)}` : ''} }
redis: { url: "redis://127.0.0.1:6379" }
cdr: { dir: ${dir}/cdr }
overload: ${o.overload ?? '{ shedOnLoad: false }'}
${o.alertWebhook ? `alerts: { webhook: "${o.alertWebhook}", timeoutMs: 2000 }\n` : ''}`,
    'tenants.yaml': `tenants:
  - id: telesales
    name: telesales
    status: active
    account: telesales
    tariff: domestic
    window:
      timezone: Asia/Shanghai
      holidays: ignore
      weekly:
        all: ["${o.window ?? '08:00-19:30'}"]
    allowedClasses: [mobile, landline]
    maxConcurrent: ${o.maxConcurrent ?? 10}
    callerIdPool: ["01088886601", "01088886602"]
    callerIdPolicy: ${o.callerIdPolicy ?? 'deny'}
    recording: ${o.recording ?? true}
    warningSeconds: ${o.warningSeconds ?? 1}
${Object.entries(o.tenantExtra ?? {}).map(([k, v]) => `    ${k}: ${typeof v === 'string' ? `"${v}"` : v}\n`).join('')}${o.announcements ? `    announcements:\n${Object.entries(o.announcements).map(([k, v]) => `      ${k}: ${v}`).join('\n')}\n` : ''}    blacklist:
      numbers: ["13900001111"]
      prefixes: ["1390000222"]
      files: [lists/dnc.txt]
`,
    'seats.yaml': `seats:
${Object.entries(SEATS).map(([id, pw], i) => `  - id: "${id}"
    tenant: telesales
    password: ${pw}
    callerId: "0108888660${i + 1}"`).join('\n')}
`,
    'trunks.yaml': `trunks:
  - id: trunk-a
    uri: sip:127.0.0.1:${o.trunkPorts[0]}
    maxConcurrent: ${o.trunkMaxConcurrent ?? 50}
    timeoutSeconds: ${o.trunkTimeoutSeconds ?? 10}
    inboundSources: [127.0.0.1]
  - id: trunk-b
    uri: sip:127.0.0.1:${o.trunkPorts[1]}
    maxConcurrent: 50
    timeoutSeconds: ${o.trunkTimeoutSeconds ?? 10}
    inboundSources: [127.0.0.1]
`,
    'routes.yaml': `routes:
  - id: domestic
    priority: 10
    match:
      classes: [mobile, landline]
    trunks: [trunk-a, trunk-b]
    media: ${o.media ?? 'anchored'}
  - id: emergency
    priority: 1
    match:
      classes: [emergency]
    trunks: [trunk-a, trunk-b]
    media: ${o.media ?? 'anchored'}
`,
    'tariffs.yaml': `tariffs:
  - id: domestic
    rates:
      - class: mobile
        ratePerMinute: "${o.ratePerMinute ?? '0.13'}"
        increments: ${o.increments ?? '60/60'}
      - class: landline
        ratePerMinute: "${o.ratePerMinute ?? '0.13'}"
        increments: ${o.increments ?? '60/60'}
`,
    'blacklist.yaml': `blacklist:
  numbers: ["13800000000"]
`,
    'lists/dnc.txt': '# tenant do-not-call list\n13700137000\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/**
 * DIALGATE_TEST_REDIS=cluster: the bench's Redis is a 3 + 3 Redis Cluster (one per test file,
 * emptied for each bench) shared by TWO dialgate instances on the one drachtio stand-in, which
 * hands new requests to them in turn (issue 15). test/e2e/cluster-suites.test.ts runs the
 * outbound, prepaid-race and inbound suites this way.
 */
export function clusterMode(): boolean {
  return process.env.DIALGATE_TEST_REDIS === 'cluster';
}

/** DIALGATE_TEST_REDIS=sentinel: a master, a replica and three sentinels, two instances likewise. */
export function sentinelMode(): boolean {
  return process.env.DIALGATE_TEST_REDIS === 'sentinel';
}

let fileSentinel: Promise<RedisSentinel> | null = null;
/** The test file's Sentinel deployment, started on first use and killed when the process exits. */
export function sharedSentinel(): Promise<RedisSentinel> {
  if (!fileSentinel) {
    fileSentinel = startRedisSentinel();
    void fileSentinel.then((c) => process.once('exit', () => c.killNow()), () => undefined);
  }
  return fileSentinel;
}

async function sentinelInstance(): Promise<RedisInstance & { target: RedisTarget }> {
  const s = await sharedSentinel();
  const target: RedisTarget = { kind: 'sentinel', name: s.name, sentinels: s.sentinels };
  const client = () => new Redis({ sentinels: s.sentinels, name: s.name });
  const c = client();
  await c.flushall();
  c.disconnect();
  return { target, port: 0, url: '', client, stop: async () => undefined };
}

let fileCluster: Promise<RedisCluster> | null = null;
/** The test file's cluster, started on first use and killed when the file's process exits. */
export function sharedCluster(): Promise<RedisCluster> {
  if (!fileCluster) {
    fileCluster = startRedisCluster();
    void fileCluster.then((c) => process.once('exit', () => c.killNow()), () => undefined);
  }
  return fileCluster;
}

/**
 * Stops the file's cluster or Sentinel deployment: files that use them call it in afterAll (a
 * 'exit' hook alone is not enough: vitest may end its worker with a signal).
 */
export async function stopSharedRedis(): Promise<void> {
  const [c, s] = [fileCluster, fileSentinel];
  fileCluster = null;
  fileSentinel = null;
  await Promise.all([c?.then((x) => x.stop(), () => undefined), s?.then((x) => x.stop(), () => undefined)]);
}

/** The cluster as the bench's `redis`: clients are Cluster clients; stop() leaves it for the next bench. */
async function clusterInstance(): Promise<RedisInstance & { cluster: RedisCluster }> {
  const cluster = await sharedCluster();
  const c = cluster.client();
  await new Promise<void>((r) => c.once('ready', () => r()));
  await Promise.all(c.nodes('master').map((m) => m.flushall()));
  c.disconnect();
  return {
    cluster,
    port: cluster.nodes[0]!.port,
    url: '',
    // Suites that use bench.redis directly run on a single server; Cluster has the same commands.
    client: () => cluster.client() as unknown as Redis,
    stop: async () => undefined,
  };
}

export interface Bench {
  dir: string;
  redis: RedisInstance;
  /** Every dialgate instance (two in cluster mode); `app` is the first. */
  apps: App[];
  /** CDR directory of each instance (instances never share one). */
  cdrDirs: string[];
  /** The stand-ins: null on the real-server lane (DIALGATE_REAL_SERVERS). */
  drachtio: DrachtioStandIn | null;
  fs: FreeSwitchStandIn | null;
  /** The media server's events and channels, on either lane (null: no media server). */
  media: MediaView | null;
  /** True on the real-server lane. */
  real: boolean;
  store: ConfigStore;
  app: App;
  clock: ReturnType<typeof shiftedClock>;
  /** host:port seats send to. */
  sipTarget: string;
  stop(): Promise<void>;
}

export interface BenchOptions extends Omit<FixtureOptions, 'trunkPorts'> {
  trunkPorts: [number, number];
  /** Wall-clock time the app sees at start (ISO). */
  at: string;
  /** Balance of the tenant's prepaid account, in yuan units of 0.0001. */
  balance: number;
  withMedia?: boolean;
  /** Options for the test's redis-server (e.g. append-only, to restart it with its data). */
  redisOptions?: StartRedisOptions;
  /** Options for the FreeSWITCH stand-in (e.g. a profile without an RTP timer). */
  fsOptions?: FreeSwitchOptions;
  heartbeatMs?: number;
  /** How often crash recovery looks for orphans (default 30 s). */
  recoveryIntervalMs?: number;
  chunkSeconds?: number;
  /** Session timers below the 90 s floor, for tests (the app's override and the stand-in's floor). */
  sessionTimers?: { seconds: number; minSeconds: number };
  /** drachtio stand-in options (T1, session timer floor and jitter; ws/wss listeners, the wss one with its PEM key and cert). */
  drachtioOptions?: Omit<DrachtioOptions, 'log' | 'recordFrames'>;
  /** FreeSWITCH (stand-ins) the test runs itself, e.g. in child processes it can kill; several = a farm. */
  externalFreeSwitch?: { port: number; password: string } | { port: number; password: string }[];
}

export async function startBench(o: BenchOptions): Promise<Bench> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-e2e-'));
  writeFixtureConfig(dir, o);
  const cluster = clusterMode() ? await clusterInstance() : null;
  const sentinel = sentinelMode() ? await sentinelInstance() : null;
  const redis = cluster ?? sentinel ?? await startRedis(o.redisOptions);
  const shared: RedisTarget | null = cluster ? { kind: 'cluster', nodes: cluster.cluster.nodes } : sentinel?.target ?? null;
  const real = REAL;
  // Real media needs real RTP: the seats and trunks stream audio on the real lane.
  setScenarioAudio(real ? rtpAudioFile() : null);
  const drachtio = real ? null : await startDrachtio({ recordFrames: false, ...o.drachtioOptions, ...(process.env.E2E_LOG ? { log: (m: string) => console.log("[drachtio]", m) } : {}) });
  const external = o.externalFreeSwitch;
  const fs = real || o.withMedia === false || external ? null : await startFreeSwitch({ defaultPlaybackMs: 200, ...o.fsOptions });
  const media = o.withMedia === false || external ? null : real ? await realFreeSwitchView(real.esl) : standInView(fs!);
  const store = await ConfigStore.open(dir);
  const clock = shiftedClock(Date.parse(o.at));
  // E2E_LOG=debug (any pino level) logs the app at that level; E2E_LOG=1, as other tests take it, at debug.
  const e2eLog = process.env.E2E_LOG;
  const logger = pino({ level: !e2eLog ? 'silent' : e2eLog in pino.levels.values ? e2eLog : 'debug' });
  const instances = shared ? 2 : 1;
  const cdrDirs = Array.from({ length: instances }, (_, i) => join(dir, i === 0 ? 'cdr' : `cdr-${i + 1}`));
  const apps: App[] = [];
  for (let i = 0; i < instances; i++) apps.push(await startApp({
    config: () => store.current(),
    ...(shared ? { redis: shared, streamShards: cluster ? 4 : 1, instanceId: `dg-${i + 1}` } : { redisUrl: redis.url }),
    drachtio: real ? real.drachtio : { host: '127.0.0.1', port: drachtio!.adminPort, secret: 'cymru' },
    freeswitch: o.withMedia === false ? null
      : real ? { host: real.esl.host, port: real.esl.port, secret: real.esl.password }
        : external ? [external].flat().map((e) => ({ host: '127.0.0.1', port: e.port, secret: e.password })) : { host: '127.0.0.1', port: fs!.eslPort, secret: fs!.password },
    cdrDir: cdrDirs[i]!,
    recordingsDir: join(dir, 'rec'),
    clock,
    logger,
    ...(o.recoveryIntervalMs ? { recoveryIntervalMs: o.recoveryIntervalMs } : {}),
    outbound: {
      ...(o.heartbeatMs ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.chunkSeconds ? { chunkSeconds: o.chunkSeconds } : {}),
      ...(o.sessionTimers ? { sessionTimers: o.sessionTimers } : {}),
    },
  }));
  const app = apps[0]!;
  await app.ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 1_000_000 });
  if (o.balance > 0) await app.ledger.topUp('telesales', 'initial', o.balance, 'test deposit');
  return {
    dir, redis, drachtio, fs, media, real: real !== null, store, app, apps, cdrDirs, clock,
    sipTarget: real ? real.sip : `127.0.0.1:${drachtio!.sipPort}`,
    async stop() {
      await Promise.all(apps.map((a) => a.stop()));
      store.close();
      await media?.close();
      await drachtio?.stop();
      await fs?.stop();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startTrunk(port: number, o: TrunkOptions): Promise<SippProcess> {
  return startSipp({ scenario: trunkUas(o), localPort: port, timeoutMs: 120_000 });
}

export interface CallSpec extends SeatCallOptions {
  seat?: keyof typeof SEATS;
  password?: string;
  callee: string;
  callerId?: string;
  calls?: number;
  concurrency?: number;
  timeoutMs?: number;
  /** Calls per second sipp offers (default 50). */
  rate?: number;
}

/** Places seat calls through the bench with sipp; resolves with sipp's result. */
export function seatCalls(bench: Bench, c: CallSpec): Promise<SippResult> {
  const seat = c.seat ?? '1001';
  const calls = c.calls ?? 1;
  const rows = Array.from({ length: calls }, () => [seat, c.password ?? SEATS[seat], c.callee, c.callerId ?? seat] as [string, string, string, string]);
  return runSipp({
    scenario: seatCall(c),
    target: bench.sipTarget,
    calls,
    ...(c.concurrency ? { concurrency: c.concurrency } : {}),
    rate: c.rate ?? 50,
    timeoutMs: c.timeoutMs ?? 20_000,
    injectionFile: injection(rows),
    auth: { username: seat, password: c.password ?? SEATS[seat], uri: `${c.callee}@${bench.sipTarget}` },
  });
}

/** Per bench with several instances: CDRs in the order this process first saw them. */
const arrivals = new Map<string, { seen: Set<string>; order: Cdr[] }>();

/**
 * All CDRs written so far (daily JSONL files), oldest first. Several instances write several
 * directories: their CDRs are listed in the order they appeared (tests poll every 50 ms; CDRs new
 * in the same look are ordered by end time), since tests move the clock and end times alone mislead.
 */
export function readCdrs(bench: Pick<Bench, 'dir'> & Partial<Pick<Bench, 'cdrDirs'>>): Cdr[] {
  const dirs = bench.cdrDirs ?? [join(bench.dir, 'cdr')];
  if (dirs.length === 1) return readCdrDir(dirs[0]!);
  let a = arrivals.get(bench.dir);
  if (!a) arrivals.set(bench.dir, a = { seen: new Set(), order: [] });
  // Keyed by directory and line, not cdrId: a CDR written twice must show up twice.
  const fresh = dirs.flatMap((d) => readCdrLines(d).map(({ cdr: c, at }) => ({ c, key: `${d}/${at}` })))
    .filter((x) => !a.seen.has(x.key)).sort((x, y) => x.c.endAt - y.c.endAt);
  for (const x of fresh) { a.seen.add(x.key); a.order.push(x.c); }
  return [...a.order];
}

/** All CDRs in the `cdr/` directory of a config directory (e.g. of a `dialgate serve` child). */
export function readCdrsIn(configDir: string): Cdr[] {
  return readCdrDir(join(configDir, 'cdr'));
}

/** All CDRs in a CDR directory (an instance's DIALGATE_CDR_DIR), oldest file first. */
export function readCdrDir(dir: string): Cdr[] {
  return readCdrLines(dir).map((l) => l.cdr);
}

/** Each CDR with where it is (file#line): a day's file may sort before files written earlier. */
function readCdrLines(dir: string): { cdr: Cdr; at: string }[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  } catch {
    return [];
  }
  return files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l, i) => ({ cdr: JSON.parse(l) as Cdr, at: `${f}#${i}` })));
}

/** Waits until `n` CDRs exist (CDRs are written right after the final SIP message). */
export async function waitForCdrs(bench: Bench, n: number, timeoutMs = 10_000): Promise<Cdr[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cdrs = readCdrs(bench);
    if (cdrs.length >= n || Date.now() > deadline) return cdrs;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The project's prompts as dialgate reads their lengths. */
export const PROMPTS = { localDir: join(import.meta.dirname, '../../freeswitch/sounds') };

/** Waits up to `ms` for the media server to have no channel left; returns how many remain. */
export async function channelsGone(bench: Bench, ms = 2000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const n = bench.media ? await bench.media.channelCount() : 0;
    if (n === 0 || Date.now() > deadline) return n;
    await new Promise((res) => setTimeout(res, 20));
  }
}

