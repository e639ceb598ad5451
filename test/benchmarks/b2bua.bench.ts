// dialgate against a bare drachtio-srf B2BUA on the same drachtio stand-in, in one run (issue 12's
// yardstick): at each offered rate, calls completed and failed, achieved calls/s, the app's CPU
// milliseconds per call (from /proc, the app process only), and dialgate / bare. Every app runs as its own process (dialgate through
// `dialgate serve`, every policy on, seats authenticating with digest); the stand-ins too. A second
// baseline, "challenge" (bare-b2bua.ts --challenge), is the bare B2BUA demanding digest credentials
// of every INVITE: dialgate / challenge is dialgate's own overhead, challenge / bare what the 407
// exchange itself costs drachtio-server and the callers.
// Run: npx tsx test/benchmarks/b2bua.bench.ts   (env RATES=100,200,300 SECONDS=15 WARM_RATE=200)
// DIALGATE_NO_COALESCE=1 turns off the write coalescing on the Redis and drachtio sockets (src/ledger/coalesce-writes.ts,
// src/sip/drachtio-writes.ts) in dialgate, for an A/B run.
// On the real drachtio-server instead of the stand-in: DIALGATE_REAL_SERVERS=realstack (or
// drachtio=HOST:PORT/SECRET,sip=HOST:PORT,esl=...), as for test:real. dialgate runs dist/ when
// built (npm run build), else the sources through tsx; DIALGATE_BENCH_SOURCES=1 forces the sources.
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import { freeUdpPort, runSipp, startSipp } from '../bench/sipp.js';
import { SEATS, writeFixtureConfig } from '../e2e/harness.js';
import { injection, seatCall, trunkUas } from '../e2e/scenarios.js';
import { freeTcpPort, startRedis } from '../helpers/redis.js';
import { cpuByName, cpuMs, ioSyscalls, machineCpuMs, processCpuMs, startChild, stop, threadCpuMs } from './processes.js';
import { startStandIns } from './standins-child.js';
import { realServers } from '../e2e/real-servers.js';
import { existsSync } from 'node:fs';

const RATES = (process.env.RATES ?? '100,200,300').split(',').map(Number);
// 15 s per rate: long enough for an app that falls behind to show it (a 6 s run's queue drains in
// the tail and its calls still count as completed; see p50Last).
const SECONDS = Number(process.env.SECONDS ?? 15);
const BENCH_SEATS = Math.max(1, Number(process.env.BENCH_SEATS ?? 2000));
// Calls per second of an unmeasured run before the measured rates, for each app (0 = none): the
// first measured rate otherwise pays V8's optimising compiles (background threads, counted in the
// process's CPU time), ~0.5 ms per call more than the same rate measured warm, for both apps.
const WARM_RATE = Number(process.env.WARM_RATE ?? 200);
type AppKind = 'bare' | 'challenge' | 'dialgate';
// The baselines measured before dialgate (BENCH_BASELINES=bare,challenge by default; DIALGATE_BENCH_ONLY=1: none).
const BASELINES = (process.env.DIALGATE_BENCH_ONLY ? '' : process.env.BENCH_BASELINES ?? 'bare,challenge')
  .split(',').filter((k): k is 'bare' | 'challenge' => k === 'bare' || k === 'challenge');
// BENCH_WATCH_PIDS="drachtio=1234,...": other processes' CPU per call too (e.g. the real drachtio-server's)
const WATCH = (process.env.BENCH_WATCH_PIDS ?? '').split(',').filter(Boolean).map((p) => p.split('=') as [string, string]).map(([n, pid]) => [n, Number(pid)] as const);
/** Lines each child wrote to stdout (dialgate's log lines), by pid. */
const stdoutLines = new Map<number, number>();
const logSample = new Map<string, number>();

function startApp(cmd: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  let pid = 0;
  return startChild(cmd, env, ready, (l) => {
    stdoutLines.set(pid, (stdoutLines.get(pid) ?? 0) + 1);
    const msg = /"msg":"([^"]*)"/.exec(l)?.[1];
    if (msg) logSample.set(msg, (logSample.get(msg) ?? 0) + 1);
    if (process.env.BENCH_ERRORS && /"level":(40|50)|not connected/.test(l)) appendFileSync(join(process.env.BENCH_ERRORS, 'app-warnings.log'), `${l}\n`);
  }).then((c) => { pid = c.pid!; return c; });
}

/** INFO commandstats as command → calls, and → microseconds spent (a script's includes its commands'). */
async function commandStats(client: { info(section: string): Promise<string> }): Promise<{ calls: Map<string, number>; usec: Map<string, number> }> {
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  for (const m of (await client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    calls.set(m[1]!, Number(m[2]));
    usec.set(m[1]!, Number(m[3]));
  }
  return { calls, usec };
}

interface Row { ok: number; refused: number; failed: number; cps: number; cpuPerCall: number; ioPerCall: number; p50: number; p99: number; p50Last: number; machinePerCall: number; machinePerOk: number; idleShare: number }

/** dialgate's /metrics (unset for the baselines, which have none). */
let metricsUrl: string | undefined;
/** The sum of a series' samples over all its labels, from dialgate's /metrics. */
async function metricSum(name: string): Promise<number> {
  if (!metricsUrl) return 0;
  const text = await (await fetch(metricsUrl)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
}
/** New calls overload control refused so far. */
const overloadRefused = (): Promise<number> => metricSum('dialgate_overload_refused_total');
/** Main-thread GC pauses so far, ms (prom-client's histogram of PerformanceObserver 'gc' entries). */
const gcPauseMs = async (): Promise<number> => 1000 * await metricSum('nodejs_gc_duration_seconds_sum');

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

async function main(): Promise<void> {
  // BENCH_REDIS_AOF=everysec|always: Redis keeps an append-only file, as docker-compose.yml's does
  // (everysec); without it Redis keeps nothing on disk and costs less per call than in production.
  const aof = process.env.BENCH_REDIS_AOF || undefined;
  if (aof !== undefined && aof !== 'everysec' && aof !== 'always') throw new Error(`BENCH_REDIS_AOF: everysec or always, not ${aof}`);
  const redis = await startRedis(aof ? { appendOnly: true, fsync: aof } : {});
  if (aof) console.error(`redis-server with an append-only file, appendfsync ${aof}`);
  const real = realServers();
  const standIns = real
    ? { ports: { adminPort: real.drachtio.port, sipPort: Number(real.sip.split(':')[1]), secret: real.drachtio.secret, sipHost: real.sip }, stop: async () => {} }
    : await startStandIns();
  const secret = real?.drachtio.secret ?? 'cymru';
  const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  // The trunk answers for the whole run (startTrunk's sipp gives up after 120 s).
  // Each app gets a fresh trunk, and the server a rest between the two (transactions of the first
  // app's calls linger for Timer J/D, 32 s, on the real drachtio-server): measured in one run, the
  // second app otherwise inherits the first one's leftovers.
  const newTrunk = () => startSipp({ scenario: trunkUas({ answer: 200, ringMs: 0 }), localPort: trunkPorts[0], concurrency: 100_000, timeoutMs: 3_600_000 });
  const COOL_DOWN_MS = Number(process.env.COOL_DOWN_SECONDS ?? (real ? 35 : 5)) * 1000;
  let trunk = await newTrunk();
  const target = real ? real.sip : `127.0.0.1:${standIns.ports.sipPort}`;
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-b2bua-'));
  // BENCH_OVERLOAD: dialgate.yaml `overload` (YAML flow mapping); default: the product's defaults
  writeFixtureConfig(dir, { trunkPorts, media: 'direct', recording: false, window: '00:00-24:00', maxConcurrent: 10_000, trunkMaxConcurrent: 10_000, overload: process.env.BENCH_OVERLOAD ?? '{}' });
  // Calls come from BENCH_SEATS seats in turn (default 2000: at 700 calls/s of 1.5 s each, a seat's
  // previous call has ended before its next), as in a call centre where an agent has one call at a
  // time. One seat carrying every call makes its agent record hold hundreds of open calls, which
  // Redis then decodes on every call: a cost no real seat has. BENCH_SEATS=1: one seat, as before.
  const seatIds = Array.from({ length: BENCH_SEATS }, (_, i) => String(100_000 + i));
  mkdirSync(join(dir, 'seats'), { recursive: true });
  writeFileSync(join(dir, 'seats', 'bench.yaml'), `seats:\n${seatIds.map((id) => `  - id: "${id}"\n    tenant: telesales\n    password: pw-${id}-bench\n    callerId: "01088886601"`).join('\n')}\n`);
  // Each call authenticates as its own seat: sipp takes the whole [authentication …] keyword from an
  // injection field (its documented way to vary credentials per call; nested [fieldN] inside the
  // keyword is not expanded).
  // (sipp's files live outside the config directory: dialgate watches that one and would reload)
  const work = mkdtempSync(join(tmpdir(), 'dialgate-b2bua-sipp-'));
  const seatScenario = join(work, 'seat-call.xml');
  // a seat refused at the door (overload control's 503) ACKs and is done, as a phone would
  writeFileSync(seatScenario, readFileSync(seatCall({ expect: 200, holdMs: 1500, refusedWith: 503 }), 'utf8').replaceAll('[authentication]', '[field4]'));
  let injections = 0;
  const seatInjection = (calls: number, from: number): string => {
    const file = join(work, `seats-${++injections}.csv`);
    writeFileSync(file, `SEQUENTIAL\n${Array.from({ length: calls }, (_, i) => {
      const id = seatIds[(from + i) % seatIds.length]!;
      return `${id};pw-${id}-bench;13812345678;${id};[authentication username=${id} password=pw-${id}-bench]`;
    }).join('\n')}\n`);
    return file;
  };
  const ledgerClient = redis.client();
  const ledger = new Ledger(ledgerClient, { instanceId: 'bench' });
  await ledger.createAccount('telesales', { tenant: 'telesales', prepaidTotal: 1_000_000_000 });
  await ledger.topUp('telesales', 'bench', 1_000_000_000, 'bench deposit');

  // Redis shares the cores: its CPU per call is part of what a call costs the machine.
  const redisPid = Number(/process_id:(\d+)/.exec(await ledgerClient.info('server'))?.[1]);
  let nextSeat = 0;
  const measure = async (app: ChildProcess, rate: number, kind: AppKind): Promise<Row> => {
    const seat = kind !== 'bare';
    const refused0 = kind === 'dialgate' ? await overloadRefused() : 0;
    const gc0 = kind === 'dialgate' ? await gcPauseMs() : 0;
    const calls = rate * SECONDS;
    const cpu0 = cpuMs(app.pid!);
    const io0 = ioSyscalls(app.pid!);
    const threads0 = threadCpuMs(app.pid!);
    const redisCpu0 = cpuMs(redisPid);
    const watched0 = WATCH.map(([, pid]) => cpuMs(pid));
    const machine0 = machineCpuMs();
    const procs0 = processCpuMs();
    const r = seat
      ? await runSipp({
        scenario: seatScenario, target, calls, rate, concurrency: 20_000, timeoutMs: 120_000, rtts: true,
        injectionFile: seatInjection(calls, nextSeat),
        auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${target}` },
      })
      : await runSipp({ scenario: 'call-basic', target, calls, rate, concurrency: 20_000, timeoutMs: 120_000, service: '13812345678', rtts: true });
    if (seat) nextSeat += calls;
    // sipp counts a call refused with 503 as done: it is no completed call
    const refused = kind === 'dialgate' ? (await overloadRefused()) - refused0 : 0;
    // Part of the main thread's CPU above; V8's helper threads' share of GC is in the other threads'.
    const gcLine = kind === 'dialgate' ? `; of main, GC pauses ${(((await gcPauseMs()) - gc0) / Math.max(1, calls)).toFixed(2)}` : '';
    const cpu = cpuMs(app.pid!) - cpu0;
    const attempts = Math.max(1, r.successful + r.failed);
    const machine1 = machineCpuMs();
    const byName = cpuByName(procs0, processCpuMs());
    const machineBusy = machine1.busy - machine0.busy;
    const machineIdle = machine1.idle - machine0.idle;
    const io = ioSyscalls(app.pid!) - io0;
    const threads = [...threadCpuMs(app.pid!)].map(([name, ms]) => [name, ms - (threads0.get(name) ?? 0)] as const).filter(([, ms]) => ms > 0);
    console.error(`${kind} @${rate} cps: CPU ms/call by thread: ${threads.sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${(ms / Math.max(1, calls)).toFixed(2)}`).join(', ')}${gcLine}; redis-server ${((cpuMs(redisPid) - redisCpu0) / Math.max(1, calls)).toFixed(2)}${WATCH.map(([name, pid], i) => `; ${name} ${((cpuMs(pid) - watched0[i]!) / Math.max(1, calls)).toFixed(2)}`).join('')}`);
    // where the machine's CPU went (the app is "node" or "MainThread"; the kernel's own threads count too)
    console.error(`${kind} @${rate} cps: machine CPU ms/call ${(machineBusy / attempts).toFixed(2)}, by process: ${byName.filter(([, ms]) => ms / attempts >= 0.02).map(([n, ms]) => `${n} ${(ms / attempts).toFixed(2)}`).join(', ')}`);
    // BENCH_ERRORS=DIR: sipp's error log of each run with failures, for reading
    if (r.failed > 0 && process.env.BENCH_ERRORS) writeFileSync(join(process.env.BENCH_ERRORS, `${kind}-${rate}.log`), r.errors);
    const rtts = (r.rtts ?? []).map((x) => x.rttMs).sort((a, b) => a - b);
    // Setup time of the calls offered in the run's last second: an app that keeps up answers them
    // as fast as the first ones; one that falls behind has built a queue (in drachtio-server's
    // socket, its own loop or Redis) that a longer run would turn into timeouts.
    const lastStart = (r.rtts ?? []).reduce((m, x) => Math.max(m, x.startMs), -Infinity);
    const lastSecond = (r.rtts ?? []).filter((x) => x.startMs > lastStart - 1000).map((x) => x.rttMs).sort((a, b) => a - b);
    // completed calls per second of offered load (a slow tail of retransmissions does not dilute it)
    return { ok: r.successful - refused, refused, failed: r.failed, cps: (r.successful - refused) / SECONDS, cpuPerCall: cpu / attempts, ioPerCall: io / attempts, p50: percentile(rtts, 50), p99: percentile(rtts, 99), p50Last: percentile(lastSecond, 50),
      machinePerCall: machineBusy / attempts, machinePerOk: machineBusy / Math.max(1, r.successful - refused), idleShare: machineIdle / Math.max(1, machineBusy + machineIdle) };
  };

  const results = new Map<number, Partial<Record<AppKind, Row>>>(RATES.map((rate) => [rate, {}]));
  try {
    for (const kind of BASELINES) {
      const app = await startApp(['--import', 'tsx', join(import.meta.dirname, 'bare-b2bua.ts'), String(standIns.ports.adminPort), String(trunkPorts[0]), secret, ...(kind === 'challenge' ? ['--challenge'] : [])], process.env, /^ready$/);
      if (WARM_RATE > 0) await measure(app, WARM_RATE, kind);
      for (const rate of RATES) results.get(rate)![kind] = await measure(app, rate, kind);
      await stop(app);
      await trunk.stop();
      await new Promise((r) => setTimeout(r, COOL_DOWN_MS));
      trunk = await newTrunk();
    }
    const dist = join(import.meta.dirname, '../../dist/cli.js');
    // DIALGATE_BENCH_ENTRY: another build's cli.js (an A/B against an earlier commit's dist/)
    const entry = process.env.DIALGATE_BENCH_ENTRY ?? (existsSync(dist) && !process.env.DIALGATE_BENCH_SOURCES ? dist : join(import.meta.dirname, '../../src/dialgate.js'));
    console.error(`dialgate runs ${entry}${real ? `; real drachtio-server ${real.drachtio.host}:${real.drachtio.port}` : '; drachtio stand-in'}`);
    // DIALGATE_BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile dialgate under this load
    const nodeArgs = (process.env.DIALGATE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const httpPort = await freeTcpPort();
    metricsUrl = `http://127.0.0.1:${httpPort}/metrics`;
    const dialgate = await startApp([...nodeArgs, entry, 'serve', '--config', dir], {
      ...process.env, DIALGATE_DRACHTIO_PORT: String(standIns.ports.adminPort), DIALGATE_DRACHTIO_SECRET: secret,
      DIALGATE_REDIS_URL: redis.url, DIALGATE_HTTP_PORT: String(httpPort), DIALGATE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', DIALGATE_ESL_PORT: '1',
    }, /ops http listening/);
    // Round trips: 50 calls with MONITOR on (commands run inside Lua scripts are tagged `lua` and
    // are not round trips), before the measured rates so MONITOR's cost does not skew them.
    // Commands sent to Redis per call (each one Redis answers; commands inside Lua scripts are
    // tagged `lua` and not counted), with MONITOR on, before the measured rates so MONITOR's cost
    // does not skew them. Twice: seats calling for the first time (the first call of a seat from an
    // address also refreshes its lockout trust, once an hour), then the same seats again.
    const tripRate = Number(process.env.BENCH_TRIP_RATE ?? 25);
    const countTrips = async (label: string): Promise<void> => {
      const monitor = await ledgerClient.duplicate().monitor();
      const trips = new Map<string, number>();
      monitor.on('monitor', (_t: string, args: string[], source: string) => {
        if (source.includes('lua') || /^(info|monitor)$/i.test(args[0] ?? '')) return;
        const cmd = args[0]!.toLowerCase();
        if (process.env.BENCH_TRACE_REDIS) console.error(args.map((a) => a.slice(0, 60).replace(/\s+/g, ' ')).join(' '));
        trips.set(cmd, (trips.get(cmd) ?? 0) + 1);
      });
      const calls = await measure(dialgate, tripRate, 'dialgate').then((r) => r.ok + r.failed);
      await new Promise((r) => setTimeout(r, 2000));
      monitor.disconnect();
      const tripList = [...trips].map(([c, n]) => [c, n / Math.max(1, calls)] as const).sort((a, b) => b[1] - a[1]);
      const tripTotal = tripList.reduce((a, [, n]) => a + n, 0);
      console.log(`Redis commands sent per call attempt, ${label} (dialgate, ${calls} calls at ${tripRate}/s with MONITOR): ${tripTotal.toFixed(1)} — ${tripList.map(([c, n]) => `${c} ${n.toFixed(1)}`).join(', ')}`);
    };
    const firstSeat = nextSeat;
    await countTrips('seats calling for the first time');
    nextSeat = firstSeat;
    await countTrips('the same seats again');
    if (WARM_RATE > 0) await measure(dialgate, WARM_RATE, 'dialgate');
    const before = await commandStats(ledgerClient);
    const linesBefore = stdoutLines.get(dialgate.pid!) ?? 0;
    logSample.clear();
    let attempts = 0;
    for (const rate of RATES) {
      const row = await measure(dialgate, rate, 'dialgate');
      attempts += row.ok + row.failed;
      results.get(rate)!.dialgate = row;
    }
    await new Promise((r) => setTimeout(r, 2000)); // CDR writes and settlements after the last BYE
    const after = await commandStats(ledgerClient);
    const perCall = [...after.calls].map(([cmd, n]) => [cmd, (n - (before.calls.get(cmd) ?? 0)) / Math.max(1, attempts)] as const)
      .filter(([cmd, n]) => n >= 0.05 && cmd !== 'info').sort((a, b) => b[1] - a[1]);
    const total = perCall.reduce((a, [, n]) => a + n, 0);
    const logLines = (stdoutLines.get(dialgate.pid!) ?? 0) - linesBefore;
    console.log(`dialgate log lines per call attempt: ${(logLines / Math.max(1, attempts)).toFixed(2)} — ${[...logSample].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([m, n]) => `"${m}" ${(n / Math.max(1, attempts)).toFixed(2)}`).join(', ')}`);
    console.log(`Redis commands executed per call attempt, scripts' included (dialgate, ${attempts} attempts): ${total.toFixed(1)} — ${perCall.map(([c, n]) => `${c} ${n.toFixed(1)}`).join(', ')}`);
    // Time inside commands (Redis's own accounting; a script's time includes the commands it runs, so
    // evalsha's figure is the scripts' whole cost). The rest of redis-server's CPU is reading,
    // parsing and answering: per command sent, not per command run.
    const usec = (cmd: string) => ((after.usec.get(cmd) ?? 0) - (before.usec.get(cmd) ?? 0)) / Math.max(1, attempts);
    const topLevel = ['evalsha', 'eval'].filter((c) => usec(c) > 0);
    console.log(`Redis µs inside commands per call attempt: ${topLevel.map((c) => `${c} ${usec(c).toFixed(1)}`).join(', ')}`);
    await stop(dialgate);
    console.log(await auditMoney(ledger, ledgerClient));
  } finally {
    const trunkResult = await trunk.stop();
    if (process.env.BENCH_ERRORS) writeFileSync(join(process.env.BENCH_ERRORS, "trunk.log"), trunkResult.errors);
    await standIns.stop();
    ledgerClient.disconnect();
    await redis.stop();
  }
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(`${real ? 'real drachtio-server' : 'drachtio stand-in'}; ${SECONDS} s per rate, calls of 1.5 s; setup = INVITE to 200 OK as the caller sees it (dialgate's includes the digest challenge)`);
  const none: Row = { ok: NaN, refused: NaN, failed: NaN, cps: NaN, cpuPerCall: NaN, ioPerCall: NaN, p50: NaN, p99: NaN, p50Last: NaN, machinePerCall: NaN, machinePerOk: NaN, idleShare: NaN };
  const cells = (r: Row) => `${r.ok}/${r.refused ? `${r.refused} refused/` : ''}${r.failed}, ${f(r.cps, 0)}, ${f(r.cpuPerCall)}, ${f(r.ioPerCall, 1)}, ${f(r.p50, 0)}/${f(r.p99, 0)}/${f(r.p50Last, 0)}`;
  console.log('each app: ok/failed (ok/refused/failed when overload control refused calls with 503), completed cps, app CPU ms/call, I/O syscalls/call, setup p50/p99/p50 of the last second\'s calls (ms); "challenge" is the bare B2BUA that also demands digest credentials (407) of every INVITE');
  console.log('offered cps | bare | challenge | dialgate | cps ratio dialgate/bare | challenge/bare | dialgate/challenge | CPU ratio dialgate/bare');
  for (const [rate, row] of results) {
    const d = row.dialgate;
    if (!d) continue;
    const b = row.bare ?? none;
    const c = row.challenge ?? none;
    console.log(`${rate} | ${cells(b)} | ${cells(c)} | ${cells(d)} | ${f(d.cps / b.cps)} | ${f(c.cps / b.cps)} | ${f(d.cps / c.cps)} | ${f(d.cpuPerCall / b.cpuPerCall, 1)}`);
  }
  // What a call costs the whole machine (every process of the run, the kernel's share included)
  // bounds the rate these cores can carry: cores × 1000 / ms per call, once idle is near 0.
  const cores = availableParallelism();
  // A refused attempt (503) costs far less than a call: with refusals, per attempt flatters the app
  // and per completed call overstates it; the truth lies between.
  console.log(`machine CPU ms per call attempt [per completed call, when some were refused] (share of ${cores} cores idle) and the rate that CPU alone would allow (cores × 1000 / ms per attempt)`);
  console.log('offered cps | bare | challenge | dialgate | dialgate − bare | dialgate − challenge');
  const m = (r: Row) => `${f(r.machinePerCall)}${r.refused ? ` [${f(r.machinePerOk)}]` : ''} (${f(100 * r.idleShare, 0)}% idle) → ${f((cores * 1000) / r.machinePerCall, 0)}`;
  for (const [rate, row] of results) {
    const b = row.bare ?? none;
    const c = row.challenge ?? none;
    const d = row.dialgate ?? none;
    console.log(`${rate} | ${m(b)} | ${m(c)} | ${m(d)} | ${f(d.machinePerCall - b.machinePerCall)} | ${f(d.machinePerCall - c.machinePerCall)}`);
  }
}

/**
 * After dialgate has drained its calls: one CDR per cdrId in the stream, and the account's debits
 * are exactly what the CDRs say was charged, nothing still reserved, balance = credits − debits.
 */
async function auditMoney(ledger: Ledger, redis: Redis): Promise<string> {
  const ids = new Set<string>();
  let cdrs = 0;
  let cost = 0;
  let from = '-';
  for (;;) {
    const page = await redis.xrange('dialgate:cdr', from, '+', 'COUNT', 5000);
    for (const [, fields] of page) {
      const cdr = JSON.parse(fields[fields.indexOf('json') + 1]!) as { cdrId: string; cost: number };
      cdrs++;
      ids.add(cdr.cdrId);
      cost += cdr.cost;
    }
    if (page.length < 5000) break;
    from = `(${page[page.length - 1]![0]}`;
  }
  const a = (await ledger.getAccount('telesales'))!;
  const wrong = [
    ids.size !== cdrs ? `${cdrs - ids.size} duplicate CDRs` : '',
    a.debits !== cost ? `debits ${a.debits} ≠ Σ CDR cost ${cost}` : '',
    a.reserved !== 0 ? `${a.reserved} still reserved` : '',
    a.balance !== a.credits - a.debits || a.balance < 0 ? `balance ${a.balance} ≠ credits − debits` : '',
  ].filter(Boolean);
  return `money and CDRs after dialgate's runs: ${cdrs} CDRs, Σ cost ${cost} = debits ${a.debits}, reserved ${a.reserved}, balance ${a.balance}: ${wrong.length ? `WRONG: ${wrong.join('; ')}` : 'exact'}`;
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
