// Starts the FreeSWITCH stand-in as a child process (freeswitch-process.ts), so a test can kill it
// (SIGKILL) mid-call the way a crashed FreeSWITCH goes, and start it again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startFreeSwitchProcess(port?: number): Promise<{ child: ChildProcess; port: number; password: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'freeswitch-process.ts'), ...(port ? [String(port)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`FreeSWITCH stand-in exited (${code})`)));
  });
  const { eslPort, password } = JSON.parse(line) as { eslPort: number; password: string };
  return { child, port: eslPort, password };
}
