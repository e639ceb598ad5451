// Hung calls (issue 16 A): a leg that vanishes without a BYE is found by its session timer (RFC
// 4028) and the call ends within one interval, both legs BYE'd, billed only to the failed refresh;
// a call that outlives the tenant's maxCallSeconds is ended there. Short intervals (8 s) come from
// the app's settings override and the stand-in's floor option. On the real-server lane the
// interval is 90 s (drachtio-server's floor), refreshes spread ±5 s and Timer B is 32 s.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { REAL } from './real-servers.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench, type BenchOptions } from './harness.js';

const AT = '2026-11-23T10:00:00+08:00';
const INTERVAL = REAL ? 90 : 8;
/** drachtio-server sends a refresh at half the interval ± 5 s; the stand-in here exactly at half. */
const JITTER = REAL ? 5 : 0;
const HALF = INTERVAL / 2;
const WAIT_MS = (INTERVAL + 30) * 1000;

function hungBench(ports: [number, number], extra: Partial<BenchOptions> = {}): Promise<Bench> {
  return startBench({
    trunkPorts: ports, at: AT, balance: 1_000_000, increments: '1/1', media: 'direct', withMedia: false,
    sessionTimers: { seconds: INTERVAL, minSeconds: INTERVAL },
    // T1 50 ms: an unanswered refresh times out (Timer B, 64×T1) in 3.2 s instead of 32 s.
    drachtioOptions: { t1Ms: 50, sessionTimerFloorSeconds: INTERVAL, sessionTimerJitterMs: 0 },
    ...extra,
  });
}

describe('hung calls: session timers', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await hungBench(ports);
  }, 30_000);
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('a seat that goes silent after the 200 OK: ended at its unanswered refresh, both legs BYE, billed to the refresh', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    const started = Date.now();
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote', refresh: 'ignore', remoteByeTimeoutMs: WAIT_MS, timeoutMs: WAIT_MS + 10_000 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.hangupBy).toBe('system');
    expect(cdr.hangupCause).toBe('session-timer-caller');
    // The refresh went out at half the interval (4 s); talk time stops there, not at the teardown (7.2 s).
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(HALF - 1 - JITTER);
    expect(cdr.billableSeconds).toBeLessThanOrEqual(HALF + 1 + JITTER);
    expect(cdr.endAt - cdr.answerAt!).toBeLessThan(INTERVAL * 1000);
    expect(Date.now() - started).toBeLessThan((INTERVAL + 8) * 1000);
    // The trunk leg got our BYE (its scenario ends only on one).
    const trunk = await trunks.pop()!.stop();
    expect(trunk.successful, trunk.errors).toBe(1);
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(acct!.reserved).toBe(0);
    expect(cdr.balanceAfter).toBe(1_000_000 - cdr.cost);
  }, WAIT_MS + 30_000);

  it('a trunk that goes silent: ended at its unanswered refresh; the seat (answering its own refresh) gets our BYE', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, sessionTimer: { seconds: INTERVAL, refresh: 'ignore' } }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345679', expect: 200, hangup: 'remote', refresh: 'answer', remoteByeTimeoutMs: WAIT_MS, timeoutMs: WAIT_MS + 10_000 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.hangupCause).toBe('session-timer-callee');
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(HALF - 1 - JITTER);
    expect(cdr.billableSeconds).toBeLessThanOrEqual(HALF + 1 + JITTER);
    const trunk = await trunks.pop()!.stop();
    expect(trunk.successful, trunk.errors).toBe(1);
  }, WAIT_MS + 30_000);
});

describe('hung calls: the longest call (maxCallSeconds)', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await hungBench(ports, { tenantExtra: { maxCallSeconds: 3 } });
  }, 30_000);
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('ends an answered call at maxCallSeconds with cause max-duration, billed exactly to the limit', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote', refresh: 'answer', remoteByeTimeoutMs: 20_000 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.hangupBy).toBe('system');
    expect(cdr.hangupCause).toBe('max-duration');
    expect(cdr.billableSeconds).toBe(3);
    expect(cdr.endAt - cdr.answerAt!).toBe(3000);
    const trunk = await trunks.pop()!.stop();
    expect(trunk.successful, trunk.errors).toBe(1);
  }, 40_000);
});
