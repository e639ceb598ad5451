// `dialgate serve` as a real child process (`node src/dialgate.js serve --config DIR`), for the
// end-to-end tests that kill, drain or restart instances: its pino lines parsed, ready once the
// ops API listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIALGATE = join(ROOT, 'src', 'dialgate.js');

/** A `dialgate serve` child process. */
export interface ServeChild {
  proc: ChildProcess;
  /** pino JSON lines from stdout (non-JSON lines kept as { msg }). */
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export const children = new Set<ServeChild>();

export function startServe(configDir: string, env: Record<string, string>, timeoutMs = 20_000): Promise<ServeChild> {
  const proc = spawn(process.execPath, [DIALGATE, 'serve', '--config', configDir], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let pending = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const child: ServeChild = {
    proc, logs, exited,
    stderr: () => stderr,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      children.delete(child);
    },
  };
  children.add(child);
  const listeners: Array<() => void> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const l of listeners) l();
    if (process.env.E2E_LOG) process.stdout.write(d);
  });
  proc.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 100_000) stderr += d.toString();
  });
  return new Promise<ServeChild>((resolve, reject) => {
    const timer = setTimeout(() => {
      void child.kill('SIGKILL');
      reject(new Error(`dialgate serve not ready after ${timeoutMs} ms\n${stderr}\n${JSON.stringify(logs.slice(-20))}`));
    }, timeoutMs);
    listeners.push(() => {
      if (logs.some((l) => l.msg === 'ops http listening')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`dialgate serve exited at start (${code ?? signal})\n${stderr}\n${JSON.stringify(logs.slice(-20))}`));
    });
  });
}

