// Child processes of the benchmarks: started apps (dialgate, the bare B2BUA) and their CPU time.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
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
