// Child processes of the benchmarks: started apps (dialgate, the bare B2BUA) and their CPU time.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const CLK_TCK = 100; // Linux USER_HZ

/**
 * A /proc/…/stat line: the name (comm, which may hold spaces and parentheses) and the fields after
 * it, so that fields[11] is utime, [12] stime, [13] cutime, [14] cstime (proc(5) numbers them 14–17).
 */
function readStat(path: string): { name: string; fields: string[] } {
  const stat = readFileSync(path, 'utf8');
  const end = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
}

const ms = (ticks: number): number => (ticks * 1000) / CLK_TCK;

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const { fields } = readStat(`/proc/${pid}/stat`);
  return ms(Number(fields[11]) + Number(fields[12]));
}

/** CPU ms by thread name ("main" for the main thread, else /proc/PID/task/TID/comm), summed over threads of the same name: where a process's CPU goes besides JavaScript. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const { fields } = readStat(`/proc/${pid}/task/${tid}/stat`);
      out.set(name, (out.get(name) ?? 0) + ms(Number(fields[11]) + Number(fields[12])));
      if (name === 'main') out.set('main(sys)', ms(Number(fields[12])));
    } catch { /* thread ended meanwhile */ }
  }
  return out;
}

/**
 * The whole machine's CPU so far (/proc/stat's first line), in ms summed over cores: busy (user,
 * nice, system, irq, softirq, steal) and idle (idle, iowait). Every process of a run (drachtio-server,
 * the app, Redis, both sipps, the stand-ins) shares these cores: what a call costs them all is what
 * bounds the rate the machine can carry.
 */
export function machineCpuMs(): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: ms(user + nice + system + irq + softirq + steal), idle: ms(idle + iowait) };
}

/**
 * CPU ms of every process on the machine so far, by pid, with its name (comm): kernel threads,
 * sipps and servers too. For this process, its reaped children's CPU is included (cutime, cstime):
 * a sipp that ran and exited during a measurement is counted there.
 */
export function processCpuMs(): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { name, fields: f } = readStat(`/proc/${entry}/stat`);
      const own = Number(entry) === process.pid;
      const ticks = Number(f[11]) + Number(f[12]) + (own ? Number(f[13]) + Number(f[14]) : 0);
      out.set(Number(entry), { name: own ? 'bench+exited sipps' : name.replace(/\/\d+.*$/, ''), ms: ms(ticks) });
    } catch { /* ended meanwhile */ }
  }
  return out;
}

/** What each process name used between two processCpuMs() snapshots, in ms, largest first. */
export function cpuByName(before: Map<number, { name: string; ms: number }>, after: Map<number, { name: string; ms: number }>): [string, number][] {
  const by = new Map<string, number>();
  for (const [pid, a] of after) {
    const d = a.ms - (before.get(pid)?.name === a.name ? before.get(pid)!.ms : 0);
    if (d > 0) by.set(a.name, (by.get(a.name) ?? 0) + d);
  }
  return [...by].sort((x, y) => y[1] - x[1]);
}

/** read(2)/write(2)-family syscalls of a process so far (/proc/PID/io syscr + syscw): unlike CPU time, unmoved by other load. */
export function ioSyscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return field('syscr') + field('syscw');
}

/** Starts `node cmd…`; resolves once a stdout line matches `ready`. Every line goes to onLine. */
export function startChild(cmd: string[], env: NodeJS.ProcessEnv, ready: RegExp, onLine?: (line: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, cmd, { stdio: ['ignore', 'pipe', 'pipe'], env });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (l) => {
      onLine?.(l);
      if (ready.test(l)) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => { if (process.env.BENCH_LOG) process.stderr.write(d); });
    child.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited (${code})`)));
  });
}

export const stop = (c: ChildProcess) => new Promise<void>((r) => {
  if (c.exitCode !== null || c.signalCode !== null) return r();
  c.once('exit', () => r());
  c.kill('SIGTERM');
});
