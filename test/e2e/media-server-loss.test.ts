// FreeSWITCH dies mid-call (its process killed: no BYE, no hangup event, sockets reset). The call
// must still end: both legs get our BYE, the talk time is settled, the CDR is complete, and the
// one-port tenant's slot is free again within RECOVERY_BOUND_MS, so its next call connects (direct,
// since the media server is gone) instead of 486 for the slot's 4 h TTL. Then FreeSWITCH comes
// back on its port: the watcher and fsmrf reconnect, /health says so, calls are anchored again.
// Bench only: the real FreeSWITCH is shared and must not be killed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotKey } from '../../src/ledger/concurrency.js';
import pino from 'pino';
import { startAppHttp } from '../../src/ops/app-http.js';
import { freeUdpPort } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { REAL } from './real-servers.js';
import { startFreeSwitchProcess } from './freeswitch-child.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
/**
 * From the kill to a finished call: the endpoints' release gives up after 2 s (uuid_kill to a dead
 * socket) and their BYE after 2 s more; the legs' BYEs run meanwhile. 6 s leaves room for a
 * loaded CI machine.
 */
const RECOVERY_BOUND_MS = 6_000;

describe.skipIf(REAL !== null)('FreeSWITCH killed mid-call', () => {
  let bench: Bench;
  let ports: [number, number];
  let fs: Awaited<ReturnType<typeof startFreeSwitchProcess>>;

  beforeAll(async () => {
    fs = await startFreeSwitchProcess();
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, increments: '6/6', maxConcurrent: 1,
      externalFreeSwitch: { port: fs.port, password: fs.password },
    });
  }, 30_000);
  afterAll(async () => {
    fs?.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    await bench?.stop();
  });
  let restarted: Awaited<ReturnType<typeof startFreeSwitchProcess>> | undefined;

  it('ends both legs, settles, writes a full CDR and frees the one port within the bound; the next call connects', async () => {
    const trunk = await startTrunk(ports[0], { answer: 200 });
    const before = readCdrs(bench).length;
    const balance = (await bench.app.ledger.getAccount('telesales'))!.balance;
    // The seat talks until dialgate hangs up; so does the carrier.
    const call = seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote', timeoutMs: 30_000 });
    const deadline = Date.now() + 10_000;
    while (![...bench.app.live.values()].some((c) => c.answeredAt !== null)) {
      if (Date.now() > deadline) throw new Error('the call was not answered');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    fs.child.kill('SIGKILL');

    const cdrs = await waitForCdrs(bench, before + 1, RECOVERY_BOUND_MS);
    expect(cdrs.length, 'CDR written within the bound').toBe(before + 1);
    const r = await call;
    expect(r.exitCode, `both legs got our BYE: ${r.errors}`).toBe(0);
    expect((await trunk.stop()).successful).toBe(1);
    const cdr = cdrs.at(-1)!;
    expect(cdr).toMatchObject({ sipStatus: 200, hangupBy: 'system', hangupCause: 'media-lost', media: 'anchored', recovered: false });
    expect(cdr.endAt - killedAt).toBeLessThan(RECOVERY_BOUND_MS);
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(1);
    expect(cdr.cost).toBeGreaterThan(0);
    // Settled: the reservation is gone and the balance paid exactly the CDR's cost.
    const account = (await bench.app.ledger.getAccount('telesales'))!;
    expect(account.reserved).toBe(0);
    expect(account.balance).toBe(balance - cdr.cost);
    for (const key of [slotKey('tenant', 'telesales'), slotKey('trunk', 'trunk-a')]) {
      expect(await bench.app.redis.zcard(key), key).toBe(0);
    }
    expect(bench.app.live.size).toBe(0);

    // The tenant has one port: its next call connects (direct: the media server is gone).
    const next = await startTrunk(ports[0], { answer: 200 });
    const again = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 500 });
    expect(again.exitCode, again.errors).toBe(0);
    await next.stop();
    const last = (await waitForCdrs(bench, before + 2)).at(-1)!;
    expect(last).toMatchObject({ sipStatus: 200, media: 'direct' });
  }, 60_000);

  it('FreeSWITCH restarted on its port: the watcher and fsmrf reconnect, /health says so, calls are anchored again', async () => {
    const api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'), log: pino({ level: 'silent' }),
    });
    const health = async () => (await (await fetch(`${api.url}/health`)).json()) as { status: string; freeswitch: Record<string, unknown>; warnings: string[] };
    // Down (the previous test killed it): /health is degraded and says what that means.
    const down = await health();
    expect(down.status).toBe('degraded');
    expect(down.freeswitch).toMatchObject({ connected: false, disconnects: 1 });
    expect(down.warnings).toContain('FreeSWITCH watcher not connected: its load is unknown and orphan channels are not reconciled');

    restarted = await startFreeSwitchProcess(fs.port);
    // Both connections back off (1 s doubling to 30 s) while it was away; within one step of it now.
    const deadline = Date.now() + 40_000;
    while (!(bench.app.freeswitch()?.connected && bench.app.mediaConnected())) {
      if (Date.now() > deadline) throw new Error(`not reconnected: ${JSON.stringify(bench.app.freeswitch())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const up = await health();
    expect(up.freeswitch).toMatchObject({ connected: true, sessions: 0, disconnects: 1, maxSessions: 1000, idleCpu: 97.9 });
    expect(up.warnings.some((w) => w.startsWith('FreeSWITCH watcher'))).toBe(false);

    const trunk = await startTrunk(ports[0], { answer: 200 });
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 500 });
    expect(r.exitCode, r.errors).toBe(0);
    await trunk.stop();
    expect((await waitForCdrs(bench, before + 1)).at(-1)).toMatchObject({ sipStatus: 200, media: 'anchored', mediaNote: null });
    await api.close();
  }, 60_000);
});
