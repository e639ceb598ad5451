// A Sentinel deployment for one test file: a master, one replica and three sentinels (Debian's
// redis-server started with --sentinel) on free loopback ports. Short down-after and failover
// timeouts make a killed master's replica take over within a few seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freeTcpPort, probeClient, realClockEnv } from './redis.js';
import { confirmReplication } from './redis-replication.js';

export interface RedisSentinel {
  name: string;
  sentinels: { host: string; port: number }[];
  /** SIGKILLs the current master once its replica has acknowledged every write so far; resolves
   *  once the sentinels name the replica, with the time taken. */
  killMaster(): Promise<{ killed: number; promoted: number; promotionMs: number }>;
  stop(): Promise<void>;
  /** Synchronous SIGKILL of every process and removal of the data directory (for a process 'exit' hook). */
  killNow(): void;
}

interface Proc { port: number; proc: ChildProcess; alive: boolean }

function start(args: string[], port: number): Proc {
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'], env: realClockEnv() });
  const p: Proc = { port, proc, alive: true };
  proc.once('exit', () => { p.alive = false; });
  return p;
}

async function answers(port: number): Promise<Redis | null> {
  const r = probeClient(port);
  try { await r.connect(); return r; } catch { r.disconnect(); return null; }
}

async function until<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`redis sentinel: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisSentinel(name = 'ledger'): Promise<RedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-sentinel-'));
  const [mPort, rPort] = [await freeTcpPort(), await freeTcpPort()];
  const common = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning',
    '--repl-diskless-sync-delay', '0'];
  const data = [start(['--port', String(mPort), ...common], mPort), start(['--port', String(rPort), ...common, '--replicaof', '127.0.0.1', String(mPort)], rPort)];
  const sentinels: Proc[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeTcpPort();
    const conf = join(dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its config file: each gets its own, writable.
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${mPort} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      `sentinel parallel-syncs ${name} 1`, '',
    ].join('\n'));
    sentinels.push(start([conf, '--sentinel', '--loglevel', 'warning'], port));
  }
  const all = [...data, ...sentinels];
  const stop = async () => {
    await Promise.all(all.filter((p) => p.alive).map((p) => new Promise<void>((r) => { p.proc.once('exit', () => r()); p.proc.kill('SIGKILL'); })));
    rmSync(dir, { recursive: true, force: true });
  };
  const masterAddr = async (): Promise<number | null> => {
    for (const s of sentinels.filter((p) => p.alive)) {
      const c = await answers(s.port);
      if (!c) continue;
      try {
        const a = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string] | null;
        if (a) return Number(a[1]);
      } finally { c.disconnect(); }
    }
    return null;
  };
  try {
    await until('the replica in sync', 15_000, async () => {
      const c = await answers(rPort);
      if (!c) return false;
      try { return /master_link_status:up/.test(await c.info('replication')); } finally { c.disconnect(); }
    });
    // "up" is not yet streaming (redis-replication.ts): wait until the replica has acked a write.
    await confirmReplication(mPort);
    // Every sentinel knows the master, the replica and the two other sentinels.
    await until('sentinels agreeing', 15_000, async () => {
      for (const s of sentinels) {
        const c = await answers(s.port);
        if (!c) return false;
        try {
          const m = (await c.call('SENTINEL', 'MASTER', name)) as string[];
          const f = (k: string) => m[m.indexOf(k) + 1];
          if (f('num-other-sentinels') !== '2' || f('num-slaves') !== '1') return false;
        } finally { c.disconnect(); }
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async killMaster() {
      const killed = (await masterAddr())!;
      const node = data.find((d) => d.port === killed)!;
      // What the caller wrote so far is on the replica; writes after this line may be lost, as in
      // any asynchronous replication.
      await confirmReplication(killed);
      const t0 = Date.now();
      await new Promise<void>((r) => { node.proc.once('exit', () => r()); node.proc.kill('SIGKILL'); });
      const promoted = await until('a failover', 30_000, async () => {
        const p = await masterAddr();
        if (!p || p === killed) return null;
        const c = await answers(p);
        if (!c) return null;
        try { return (await c.info('replication')).includes('role:master') ? p : null; } finally { c.disconnect(); }
      });
      return { killed, promoted, promotionMs: Date.now() - t0 };
    },
    stop,
    killNow() {
      for (const p of all) if (p.alive) p.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
