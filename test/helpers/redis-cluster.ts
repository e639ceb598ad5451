// A real Redis Cluster for one test file: 3 masters + 3 replicas of Debian's redis-server on free
// loopback ports (node and bus ports from the kernel's ephemeral range), joined by `redis-cli --cluster create`. A short cluster-node-timeout makes a
// killed master's replica take over in a second or two, so failover tests stay short.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freeTcpPort, probeClient, realClockEnv } from './redis.js';
import { confirmReplication } from './redis-replication.js';

const run = promisify(execFile);

export interface ClusterNode { port: number; proc: ChildProcess; alive: boolean }

export interface RedisCluster {
  /** Seed nodes (all six), as dialgate.yaml's cluster.nodes would list them. */
  nodes: { host: string; port: number }[];
  /** "127.0.0.1:p1,127.0.0.1:p2,…" for DIALGATE_REDIS_CLUSTER. */
  seedList: string;
  /** A fresh cluster client; the caller quits it. */
  client(): Cluster;
  /** Ports of the current masters, in slot order (master 0 holds slot 0). */
  masters(): Promise<number[]>;
  /**
   * SIGKILLs the master holding slot range i (0..2), once its replica has acknowledged every write
   * so far, and resolves once the replica is master and the cluster is ok again: the time that
   * took, in ms, and the dead and promoted ports.
   */
  killMaster(i: number): Promise<{ killed: number; promoted: number; promotionMs: number }>;
  stop(): Promise<void>;
  /** Synchronous SIGKILL of every process and removal of the data directory (for a process 'exit' hook). */
  killNow(): void;
}

export interface StartClusterOptions {
  /** Masters (each gets one replica). Default 3. */
  masters?: number;
  /** cluster-node-timeout: how long a silent master takes to be declared failed. Default 1000 ms. */
  nodeTimeoutMs?: number;
}

/** Two free loopback ports from the kernel's ephemeral range: the node's and its cluster bus. */
async function freePortPair(taken: Set<number>): Promise<[number, number]> {
  const pair: number[] = [];
  while (pair.length < 2) {
    const p = await freeTcpPort();
    if (!taken.has(p)) { taken.add(p); pair.push(p); }
  }
  return pair as [number, number];
}

async function info(port: number, section: string): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...section.split(' ')], { env: realClockEnv(), timeout: 2000 });
  return stdout;
}

/** Masters in slot order from CLUSTER SLOTS as one live node sees them. */
async function mastersOf(port: number): Promise<number[]> {
  const probe = probeClient(port);
  try {
    await probe.connect();
    const slots = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    return slots.sort((a, b) => a[0] - b[0]).map((s) => Number(s[2][1]));
  } finally {
    probe.disconnect();
  }
}

export async function startRedisCluster(o: StartClusterOptions = {}): Promise<RedisCluster> {
  const masterCount = o.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-cluster-'));
  const taken = new Set<number>();
  const pairs: [number, number][] = [];
  for (let i = 0; i < masterCount * 2; i++) pairs.push(await freePortPair(taken));
  const ports = pairs.map(([p]) => p);
  const nodes: ClusterNode[] = pairs.map(([port, bus]) => {
    const proc = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-port', String(bus),
      '--cluster-node-timeout', String(o.nodeTimeoutMs ?? 1000),
      // A replica's full sync starts at once instead of waiting 5 s for others to join it.
      '--repl-diskless-sync-delay', '0',
      '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: realClockEnv() });
    const n: ClusterNode = { port, proc, alive: true };
    proc.once('exit', () => { n.alive = false; });
    return n;
  });
  const stopAll = async () => {
    await Promise.all(nodes.filter((n) => n.alive).map((n) => new Promise<void>((r) => { n.proc.once('exit', () => r()); n.proc.kill('SIGKILL'); })));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 10_000;
    for (const n of nodes) {
      for (;;) {
        if (!n.alive) throw new Error('redis-server exited at start (is the redis-server package installed?)');
        if (await info(n.port, 'PING').then((s) => s.trim() === 'PONG', () => false)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} did not answer`);
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { env: realClockEnv(), timeout: 20_000 });
    // Every node must see the whole cluster ok (and every replica attached) before a test uses it.
    for (;;) {
      const states = await Promise.all(nodes.map((n) => info(n.port, 'CLUSTER INFO').catch(() => '')));
      const ok = states.every((s) => /cluster_state:ok/.test(s) && new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(s));
      if (ok) {
        const roles = await Promise.all(nodes.map((n) => info(n.port, 'ROLE').catch(() => '')));
        if (roles.filter((r) => r.startsWith('slave') && /\bconnected\b/.test(r)).length === masterCount) break;
      }
      if (Date.now() > deadline + 20_000) throw new Error('redis cluster did not reach cluster_state:ok');
      await new Promise((r) => setTimeout(r, 50));
    }
    // "connected" replicas may not be streaming yet (redis-replication.ts): wait until each has acked a write.
    await Promise.all((await mastersOf(ports[0]!)).map((m) => confirmReplication(m, { cluster: true })));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const seeds = ports.map((port) => ({ host: '127.0.0.1', port }));
  const live = () => nodes.find((n) => n.alive)!.port;
  return {
    nodes: seeds,
    seedList: seeds.map((s) => `${s.host}:${s.port}`).join(','),
    client: () => new Cluster(seeds, { redisOptions: { maxRetriesPerRequest: 3 } }),
    masters: () => mastersOf(live()),
    async killMaster(i) {
      const killed = (await mastersOf(live()))[i];
      const node = nodes.find((n) => n.port === killed);
      if (!node || killed === undefined) throw new Error(`no master ${i}`);
      // What the caller wrote so far is on the replica: the failover tests mean a master that dies
      // after replicating, not the async-replication window (writes after this line may be lost).
      await confirmReplication(killed, { cluster: true });
      const gone = new Promise<void>((r) => node.proc.once('exit', () => r()));
      const t0 = Date.now();
      node.proc.kill('SIGKILL');
      await gone;
      for (;;) {
        const others = nodes.filter((n) => n.alive);
        const states = await Promise.all(others.map((n) => info(n.port, 'CLUSTER INFO').catch(() => '')));
        if (states.every((s) => /cluster_state:ok/.test(s))) {
          const now = await mastersOf(others[0]!.port).catch(() => []);
          const promoted = now[i];
          if (promoted !== undefined && promoted !== killed) return { killed, promoted, promotionMs: Date.now() - t0 };
        }
        if (Date.now() - t0 > 30_000) throw new Error(`no replica took over from master ${killed}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: stopAll,
    killNow() {
      for (const n of nodes) if (n.alive) n.proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
