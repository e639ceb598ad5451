// drachtio-server restarted under a live call (issue 15): the app reconnects within 2 s and takes
// new calls; the call that was up is ended and settled (its dialogs died with the server, so no
// BYE could ever reach us), one CDR with hangupCause "drachtio-lost". On the real lane the real
// drachtio-server of ../shared/realstack is restarted (REALSTACK_HOME names its build).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrachtio, type DrachtioStandIn } from '../bench/drachtio/standin.js';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { until } from '../calls/fakes.js';
import { seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { REAL } from './real-servers.js';

const AT = '2026-11-23T10:00:00+08:00';
const REALSTACK_HOME = process.env.REALSTACK_HOME;

/** Restarts realstack's drachtio-server with its own config, keeping its pid file true for down.sh. */
async function restartRealstackDrachtio(home: string): Promise<{ stopped: () => Promise<void>; start: () => Promise<void> }> {
  const pidFile = join(home, 'run', 'drachtio.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return {
    async stopped() {
      process.kill(pid, 'SIGTERM');
      await until(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 'drachtio-server to exit', 10_000);
    },
    async start() {
      const child = spawn(join(home, 'bin', 'drachtio'), ['-f', join(home, 'run', 'drachtio.conf.xml')], { detached: true, stdio: 'ignore' });
      child.unref();
      writeFileSync(pidFile, `${child.pid}\n`);
    },
  };
}

describe.skipIf(REAL && !REALSTACK_HOME)('drachtio-server restart', () => {
  let bench: Bench;
  let trunk: SippProcess;
  let second: DrachtioStandIn | null = null;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: AT, balance: 1_000_000, increments: '1/1', media: 'direct', withMedia: false });
    trunk = await startTrunk(ports[0], { answer: 200, hangup: 'wait' });
  }, 30_000);
  afterAll(async () => {
    await trunk?.stop();
    await bench?.stop();
    await second?.stop();
  });

  it('reconnects within 2 s, takes new calls, and settles the call that was up', async () => {
    const first = bench.drachtio;
    const real = REAL && REALSTACK_HOME ? await restartRealstackDrachtio(REALSTACK_HOME) : null;
    const sipPort = first ? first.sipPort : Number(bench.sipTarget.split(':')[1]);
    // A call held long: only its end by us can produce its CDR in time.
    const held = seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 8000, timeoutMs: 15_000 });
    await until(() => [...bench.app.live.values()].some((c) => c.answeredAt !== null), 'the call to be answered', 10_000);
    const balanceBefore = (await bench.app.ledger.getAccount('telesales'))!.balance;
    await new Promise((r) => setTimeout(r, 1500));

    if (real) await real.stopped();
    else await first!.stop();
    await until(() => !bench.app.connected(), 'the app to notice', 5000);
    const restartedAt = Date.now();
    if (real) await real.start();
    else second = await startDrachtio({ adminPort: first!.adminPort, sipPort, recordFrames: false });
    await until(() => bench.app.connected(), 'the app to reconnect', 5000);
    const reconnectMs = Date.now() - restartedAt;
    expect(reconnectMs).toBeLessThan(2000);

    const [cdr] = await waitForCdrs(bench, 1, 5000);
    expect(cdr).toMatchObject({ hangupBy: 'system', hangupCause: 'drachtio-lost' });
    expect(cdr!.billableSeconds).toBeGreaterThanOrEqual(1);
    expect(cdr!.cost).toBeGreaterThan(0);
    const balanceAfter = (await bench.app.ledger.getAccount('telesales'))!.balance;
    expect(balanceBefore - balanceAfter).toBe(cdr!.cost);
    expect((await bench.app.ledger.liveIndex('telesales')).size).toBe(0);
    expect(bench.app.live.size).toBe(0);

    // New calls go through the restarted server.
    const r = await seatCalls({ ...bench, sipTarget: `127.0.0.1:${sipPort}` }, { callee: '13812345678', expect: 200, holdMs: 300 });
    expect(r.exitCode, r.errors).toBe(0);
    expect(await waitForCdrs(bench, 2, 5000)).toHaveLength(2);
    console.info(`drachtio restart: reconnected ${reconnectMs} ms after the server came back; the held call settled at ${cdr!.billableSeconds} s`);
    await held.catch(() => undefined); // the seat's own BYE found no dialog on the new server
  }, 60_000);
});
