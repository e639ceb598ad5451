// Runs sipp (Debian's sip-tester, /usr/bin/sipp) as the SIP peer for bench tests: callers (UAC
// scenarios that run N calls and exit) and trunks (UAS scenarios that run until a test stops them).
// Everything binds loopback, on ports from a range of the bench's own (takePorts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIPP_BIN = process.env.SIPP_BIN ?? '/usr/bin/sipp';
export const SCENARIO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../sipp');

export interface SippOptions {
  /** A scenario file: absolute path, or a name in test/sipp/ (with or without `.xml`). */
  scenario: string;
  /** `host:port` of the peer (UAC scenarios); omitted for a UAS. */
  target?: string;
  /** Local SIP port; default: a free port of the bench's range. */
  localPort?: number;
  /** -m: calls to process before exiting (UAS: calls to answer). */
  calls: number;
  /** -r calls per second (default sipp's 10). */
  rate?: number;
  /** -l: maximum simultaneous calls. */
  concurrency?: number;
  /** Global timeout; sipp fails (-timeout_error) and is killed shortly after if it hangs. */
  timeoutMs: number;
  /** -s: user part of the request-uri (`[service]`). */
  service?: string;
  /** -key name value: custom keywords `[name]` in the scenario. */
  vars?: Record<string, string>;
  /** -inf: CSV injection file. */
  injectionFile?: string;
  /** -au/-ap: credentials for `[authentication]` after a 401/407. */
  /**
   * Credentials for `[authentication]`; `uri` is the digest-uri (-auth_uri, without `sip:`). sipp's
   * default is the remote host:port, not the Request-URI RFC 7616 §3.4.6 asks for, which dialgate refuses.
   */
  auth?: { username: string; password: string; uri?: string };
  extraArgs?: string[];
  /** Collect each call's response time (sipp `rtd` marks, -trace_rtt) into SippResult.rtts. */
  rtts?: boolean;
}

export interface SippResult {
  exitCode: number;
  successful: number;
  failed: number;
  stdout: string;
  stderr: string;
  /** Contents of the -trace_err log (unexpected messages), if any. */
  errors: string;
  /**
   * One per call reaching an `rtd` mark (only with `rtts`): its response time in ms, and when the
   * call started (ms since the epoch: the mark's time less its response time).
   */
  rtts?: Array<{ startMs: number; rttMs: number }>;
}

export interface SippProcess {
  /** The local SIP port sipp listens on. */
  port: number;
  /** `127.0.0.1:port`, handy as a createUAC/B2BUA target host. */
  address: string;
  /** Resolves when sipp exits by itself (after `calls` calls or the timeout). */
  done: Promise<SippResult>;
  /** Stops it (SIGINT, then SIGKILL) and resolves with its result. */
  stop(): Promise<SippResult>;
}

// Ports a test holds on to across sipp runs (a seat's registered port, a trunk's, the carrier's)
// are free between two runs. An ephemeral bind by anyone in that gap (the kernel hands out
// 32768-60999), FreeSWITCH's RTP (the real stacks use 20000-39999, the stand-in 16384-32766) or
// another sipp's media block next to it would take them: CI once lost a seat's port that way.
// So every port the bench gives sipp comes from a range nobody else allocates from, handed out
// once per process, each one probed free first.
// A probe cannot see a port another test process has handed out but whose sipp has not bound yet
// (two runs at once: CI next to a developer's run, a bench next to the suite; CI lost a trunk's
// port that way). So a port handed out is also claimed in a lock directory shared by every
// process on the machine: one file per port, created exclusively, naming its owner (pid and start
// time), removed when the owner exits; a file whose owner is gone is taken over.
const RANGE_LO = 10_000;
const RANGE_HI = 16_383;
const LOCK_DIR = path.join(tmpdir(), 'dialgate-test-ports');
let nextPort = RANGE_LO + ((process.pid * 131) % (RANGE_HI - RANGE_LO));
const claimed = new Set<number>();

function lockFile(port: number): string {
  return path.join(LOCK_DIR, String(port));
}

/** This process as a claim names it: pid and start time (clock ticks since boot), so a reused pid is no owner. */
const SELF = `${process.pid} ${startTimeOf(process.pid) ?? ''}`.trim();

function startTimeOf(pid: number): string | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ..." with the start time as field 22; comm may hold spaces
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process a claim names still runs (vitest kills its workers, so claims outlive them). */
function alive(owner: string): boolean {
  const [pidText = '', start] = owner.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (start !== undefined) return startTimeOf(pid) === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `port` for this process; false when a live process holds it. */
function claim(port: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile(port), SELF, { flag: 'wx' });
      if (claimed.size === 0) process.once('exit', releaseAll);
      claimed.add(port);
      return true;
    } catch (e) {
      // no lock directory we may write to (another user's): the probe alone has to do
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true;
    }
    let owner: string | undefined;
    try {
      owner = readFileSync(lockFile(port), 'utf8');
    } catch {
      continue; // removed meanwhile: try again
    }
    // an empty file is a claim being written right now: leave it to its writer
    if (owner === '' || alive(owner)) return false;
    rmSync(lockFile(port), { force: true });
  }
  return false;
}

function releaseAll(): void {
  for (const port of claimed) {
    try {
      if (readFileSync(lockFile(port), 'utf8') === SELF) rmSync(lockFile(port), { force: true });
    } catch {
      /* already gone */
    }
  }
  claimed.clear();
}

function makeLockDir(): void {
  try {
    mkdirSync(LOCK_DIR, { recursive: true });
    chmodSync(LOCK_DIR, 0o1777); // any user's runs share it; umask would narrow mkdir's mode
  } catch {
    /* someone else's directory: claim() falls back to the probe */
  }
}

async function takePorts(count: number): Promise<number> {
  if (claimed.size === 0) makeLockDir();
  for (let tries = 0; tries < RANGE_HI - RANGE_LO; tries += count) {
    if (nextPort + count - 1 > RANGE_HI) nextPort = RANGE_LO;
    const first = nextPort;
    nextPort += count;
    const ports = Array.from({ length: count }, (_, i) => first + i);
    // ports this process claimed earlier are its own to hand out again after a wrap
    if (!ports.every((p) => claimed.has(p) || claim(p))) continue;
    const busy = await Promise.all(ports.map(udpPortInUse));
    if (!busy.some(Boolean)) return first;
  }
  throw new Error(`no ${count} free UDP ports left in ${RANGE_LO}-${RANGE_HI}`);
}

/** A free UDP port on loopback that no ephemeral bind will take while the test is between sipp runs. */
export function freeUdpPort(): Promise<number> {
  return takePorts(1);
}

/** A media block: sipp binds audio at -mp and video at -mp + 2 (each with RTCP +1). */
function freeMediaPorts(): Promise<number> {
  return takePorts(4);
}

async function udpPortInUse(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  return new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(true));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/**
 * Whether a UDP socket is bound to `port`, read from the kernel's table. Waiting for sipp by
 * binding the port ourselves would, for an instant, hold the very port sipp is about to bind.
 */
function udpPortListed(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      // each row: "sl local_address rem_address ...", local_address as HEXADDR:HEXPORT
      if (readFileSync(table, 'utf8').split('\n').some((row) => row.trim().split(/\s+/)[1]?.endsWith(hex))) return true;
    } catch {
      /* no such table (no IPv6) */
    }
  }
  return false;
}

export function scenarioPath(name: string): string {
  if (path.isAbsolute(name) && existsSync(name)) return name;
  const file = name.endsWith('.xml') ? name : `${name}.xml`;
  const p = path.join(SCENARIO_DIR, file);
  if (!existsSync(p)) throw new Error(`sipp scenario not found: ${name}`);
  return p;
}

/** Final cumulative counters from the -trace_stat CSV (its last line). */
function parseStats(file: string): { successful: number; failed: number } | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  const head = lines[0]?.split(';');
  const last = lines[lines.length - 1]?.split(';');
  if (!head || !last || lines.length < 2) return undefined;
  const col = (name: string) => {
    const i = head.indexOf(name);
    return i >= 0 ? Number(last[i] ?? 0) : 0;
  };
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)') };
}

/** -trace_rtt lines: `date_ms;response_time_ms;rtd_no` after a header line. */
function parseRtts(file: string): Array<{ startMs: number; rttMs: number }> {
  return readFileSync(file, 'utf8').split('\n').slice(1)
    .map((l) => l.split(';').map(Number))
    .filter(([at, rtt]) => Number.isFinite(at) && Number.isFinite(rtt))
    .map(([at, rtt]) => ({ startMs: at! - rtt!, rttMs: rtt! }));
}

interface Launch {
  child: ChildProcess;
  port: number;
  result: Promise<SippResult>;
}

function launch(opts: SippOptions, port: number, mediaPort: number): Launch {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipp-'));
  const statFile = path.join(dir, 'stat.csv');
  const errFile = path.join(dir, 'errors.log');
  const args = [
    '-sf', scenarioPath(opts.scenario),
    '-i', '127.0.0.1', '-p', String(port), '-mp', String(mediaPort),
    '-m', String(opts.calls),
    '-nostdin',
    '-timeout', `${Math.max(1, Math.ceil(opts.timeoutMs / 1000))}s`, '-timeout_error',
    '-trace_err', '-error_file', errFile,
    '-trace_stat', '-stf', statFile, '-fd', '1',
  ];
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.concurrency !== undefined) args.push('-l', String(opts.concurrency));
  if (opts.service !== undefined) args.push('-s', opts.service);
  if (opts.injectionFile !== undefined) args.push('-inf', opts.injectionFile);
  if (opts.auth) args.push('-au', opts.auth.username, '-ap', opts.auth.password);
  if (opts.auth?.uri) args.push('-auth_uri', opts.auth.uri);
  for (const [k, v] of Object.entries(opts.vars ?? {})) args.push('-key', k, v);
  args.push(...(opts.extraArgs ?? []));
  if (opts.rtts) args.push('-trace_rtt', '-rtt_freq', '1');
  if (opts.target !== undefined) args.push(opts.target);

  const child = spawn(SIPP_BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < 1_000_000) stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 1_000_000) stderr += d.toString();
  });
  // belt and braces: sipp's own -timeout should end it, this kills a wedged process
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs + 5000);
  const result = new Promise<SippResult>((resolve) => {
    const finish = (code: number) => {
      clearTimeout(killer);
      const stats = parseStats(statFile);
      let errors = '';
      let rtts: Array<{ startMs: number; rttMs: number }> | undefined;
      try {
        if (opts.rtts) rtts = readdirSync(dir).filter((f) => f.endsWith('_rtt.csv')).flatMap((f) => parseRtts(path.join(dir, f)));
        errors = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
        for (const f of readdirSync(dir)) if (f.endsWith('_errors.log')) errors += readFileSync(path.join(dir, f), 'utf8');
      } catch {
        /* best effort */
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({
        exitCode: code,
        successful: stats?.successful ?? (code === 0 ? opts.calls : 0),
        failed: stats?.failed ?? 0,
        stdout, stderr, errors,
        ...(rtts ? { rtts } : {}),
      });
    };
    child.on('error', (err) => {
      stderr += String(err);
      finish(-1);
    });
    child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : -1)));
  });
  return { child, port, result };
}

/** Who holds a UDP port (for the error when sipp cannot bind it), as far as ss can tell. */
function holderOf(port: number): string {
  try {
    const out = execFileSync('ss', ['-uanpH', `sport = :${port}`], { encoding: 'utf8', timeout: 2000 }).trim();
    return `; port ${port} is held by: ${out || 'nobody now'}`;
  } catch {
    return '';
  }
}

function bindFailure(r: SippResult): boolean {
  return /bind|address already in use/i.test(r.stderr + r.stdout) && r.exitCode !== 0 && r.successful === 0;
}

/**
 * Whether to launch sipp again after it could not bind. A port of our own range was grabbed
 * between the claim and sipp's bind: a port we chose is swapped for another; a port the test
 * fixed (a trunk the config names) is tried again shortly, which outlasts a brief holder such as
 * another process's probe.
 */
async function retryBind(attempt: number, opts: SippOptions, r: SippResult): Promise<boolean> {
  if (attempt >= 3 || !bindFailure(r)) return false;
  if (opts.localPort !== undefined) await new Promise((res) => setTimeout(res, 250 * (attempt + 1)));
  return true;
}

/** Runs a sipp scenario to completion. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  for (let attempt = 0; ; attempt++) {
    const port = opts.localPort ?? (await freeUdpPort());
    const l = launch(opts, port, await freeMediaPorts());
    const r = await l.result;
    if (await retryBind(attempt, opts, r)) continue;
    return r;
  }
}

/** Starts a long-running sipp (typically a trunk UAS) and waits until it is listening. */
export async function startSipp(opts: Omit<SippOptions, 'calls'> & { calls?: number }): Promise<SippProcess> {
  const full: SippOptions = { ...opts, calls: opts.calls ?? 1_000_000 };
  for (let attempt = 0; ; attempt++) {
    const port = opts.localPort ?? (await freeUdpPort());
    const l = launch(full, port, await freeMediaPorts());
    let exited: SippResult | undefined;
    void l.result.then((r) => {
      exited = r;
    });
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline && !udpPortListed(port)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (exited) {
      if (await retryBind(attempt, full, exited)) continue;
      throw new Error(`sipp exited early (${exited.exitCode}): ${exited.stderr || exited.stdout}${bindFailure(exited) ? holderOf(port) : ''}`);
    }
    const stop = async (): Promise<SippResult> => {
      if (l.child.exitCode === null && l.child.signalCode === null) {
        l.child.kill('SIGINT');
        const t = setTimeout(() => l.child.kill('SIGKILL'), 2000);
        const r = await l.result;
        clearTimeout(t);
        return r;
      }
      return l.result;
    };
    return { port, address: `127.0.0.1:${port}`, done: l.result, stop };
  }
}
