// The call bench's stand-ins in a child process (standins-process.ts), so a benchmark's app has
// its own event loop.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface StandInPorts { adminPort: number; sipPort: number; eslPort: number; password: string }

export async function startStandIns(): Promise<{ ports: StandInPorts; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'standins-process.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`stand-ins exited (${code})`)));
  });
  return {
    ports: JSON.parse(line) as StandInPorts,
    stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}
