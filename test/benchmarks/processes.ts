// Child processes of the benchmarks: started apps (dialgate, the bare B2BUA) and their CPU time.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** CPU ms by thread name ("main" for the main thread, else /proc/PID/task/TID/comm), summed over threads of the same name: where a process's CPU goes besides JavaScript. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK);
      if (name === 'main') out.set('main(sys)', (Number(fields[12]) * 1000) / CLK_TCK);
    } catch { /* thread ended meanwhile */ }
  }
  return out;
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
