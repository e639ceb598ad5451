// Starts a real redis-server (Debian's package) on a free loopback port for one test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisInstance {
  port: number;
  url: string;
  /** A fresh client; the caller quits it. */
  client(): Redis;
  stop(): Promise<void>;
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A client for one look at a server: not yet connected, no retries, no reconnect, errors left to the caller's await. */
export function probeClient(port: number): Redis {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {}); // a refused connect rejects connect() too: the 'error' event adds nothing
  return r;
}

/**
 * The environment without libfaketime: CI runs the suite a second time under `faketime` (another
 * year), and redis-server cannot run with a faked clock (its event loop and expiry stall).
 */
export function realClockEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k === 'LD_PRELOAD' || k.startsWith('FAKETIME')) delete env[k];
  return env;
}

export interface StartRedisOptions {
  /** Keep data in an append-only file (for crash/restart tests). */
  appendOnly?: boolean;
  /** With appendOnly: fsync each write (default: crash tests lose nothing) or once a second (as in production). */
  fsync?: 'always' | 'everysec';
  dir?: string;
  /** Listen here instead of a free port (a restart on the same address). */
  port?: number;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisInstance> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'dialgate-redis-'));
  const port = opts.port ?? await freeTcpPort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', opts.appendOnly ? 'yes' : 'no', '--daemonize', 'no', '--loglevel', 'warning',
    // With everysec, a busy disk makes Redis hold the AOF write back up to 2 s, and a SIGKILL then
    // loses acknowledged writes; crash tests measure our recovery, not that window.
    ...(opts.appendOnly ? ['--appendfsync', opts.fsync ?? 'always'] : []),
  ];
  const proc: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], env: realClockEnv() });
  let exited = false;
  proc.once('exit', () => { exited = true; });
  const url = `redis://127.0.0.1:${port}`;
  // Wait until it answers PING.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error('redis-server exited at start (is the redis-server package installed?)');
    const probe = probeClient(port); // refused until the server is up: expected while polling
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') { probe.disconnect(); break; }
    } catch {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${url}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url,
    client: () => new Redis(url),
    async stop() {
      if (!exited) {
        const done = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        await done;
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
