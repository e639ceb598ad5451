// Two FreeSWITCH servers (issue 15): anchored calls spread over both by load; one is killed under
// load (SIGKILL: no BYE, sockets reset): its calls end and are settled, and the new anchored calls
// go to the other one. Bench only: the real FreeSWITCH is shared and must not be killed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { until } from '../calls/fakes.js';
import { startFreeSwitchProcess } from './freeswitch-child.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { REAL } from './real-servers.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';

describe.skipIf(REAL !== null)('a farm of two FreeSWITCH servers', () => {
  let bench: Bench;
  let trunk: SippProcess;
  let fsA: Awaited<ReturnType<typeof startFreeSwitchProcess>>;
  let fsB: Awaited<ReturnType<typeof startFreeSwitchProcess>>;

  beforeAll(async () => {
    [fsA, fsB] = await Promise.all([startFreeSwitchProcess(), startFreeSwitchProcess()]);
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: IN_WINDOW, balance: 5_000_000, increments: '1/1', media: 'anchored', maxConcurrent: 50,
      externalFreeSwitch: [{ port: fsA.port, password: fsA.password }, { port: fsB.port, password: fsB.password }],
    });
    await until(() => bench.app.freeswitchServers().every((s) => s.connected), 'both watchers', 10_000);
    trunk = await startTrunk(ports[0], { answer: 200, hangup: 'wait' });
  }, 30_000);
  afterAll(async () => {
    fsA?.child.kill('SIGKILL');
    fsB?.child.kill('SIGKILL');
    await trunk?.stop();
    await bench?.stop();
  });

  it('spreads anchored calls over both; after one is killed its calls are settled and new calls go to the other', async () => {
    // Six calls at once: each server gets some (least loaded first).
    const first = seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 20_000, calls: 6, rate: 20, timeoutMs: 30_000 });
    await until(() => [...bench.app.live.values()].filter((c) => c.answeredAt !== null).length === 6, 'six answered calls', 15_000);
    const sessions = () => bench.app.freeswitchServers().map((s) => s.sessions);
    await until(() => sessions().every((n) => n > 0), 'channels on both servers', 5000);
    const spread = sessions();
    // Two channels per anchored call; both servers carry calls.
    expect(spread.reduce((a, b) => a + b, 0)).toBe(12);
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(4);
    const onA = spread[0]! / 2;

    fsA.child.kill('SIGKILL');
    // The calls on A end (media lost) and are settled; those on B go on until we end them below.
    const lost = await waitForCdrs(bench, onA, 10_000);
    expect(lost).toHaveLength(onA);
    for (const c of lost) expect(c).toMatchObject({ sipStatus: 200, hangupCause: 'media-lost', media: 'anchored' });
    expect(lost.every((c) => c.cost > 0)).toBe(true);
    await until(() => !bench.app.freeswitchServers()[0]!.connected, 'A seen down', 5000);

    // New anchored calls: all on B (its channel count rises by two per call), anchored, not degraded.
    const bBefore = bench.app.freeswitchServers()[1]!.sessions;
    const next = seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 3000, calls: 3, rate: 10, timeoutMs: 20_000 });
    await until(() => bench.app.freeswitchServers()[1]!.sessions >= bBefore + 6, 'three more calls on B', 10_000);
    expect((await next).exitCode).toBe(0);
    const cdrs = await waitForCdrs(bench, onA + 3, 10_000);
    const fresh = cdrs.slice(onA);
    expect(fresh).toHaveLength(3);
    for (const c of fresh) expect(c).toMatchObject({ sipStatus: 200, media: 'anchored', mediaNote: null });

    // End the calls still on B: every reservation settles, Σ cost = balance change.
    for (const call of bench.app.live.values()) call.hangup('test-end');
    await first.catch(() => undefined);
    const all = await waitForCdrs(bench, 9, 10_000);
    expect(all).toHaveLength(9);
    expect(new Set(all.map((c) => c.callId)).size).toBe(9);
    const account = (await bench.app.ledger.getAccount('telesales'))!;
    expect(account.reserved).toBe(0);
    expect(5_000_000 - account.balance).toBe(all.reduce((s, c) => s + c.cost, 0));
    console.info(`media farm: channels per server before the kill ${spread.join('/')}; ${onA} calls on the killed server settled, 3 new calls on the other`);
    expect(readCdrs(bench)).toHaveLength(9);
  }, 90_000);
});
