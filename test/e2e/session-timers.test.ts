// RFC 4028 session timers on 400 calls and the 422 exchange with trunks. Inbound: the member
// INVITEs offer timers, the carrier's 200 carries Session-Expires, a carrier offering less than our
// Min-SE gets 422 (no call, no CDR), and a member or caller gone silent ends the call within one
// interval, both legs BYE'd, billed to the refresh that failed. Outbound: a trunk answering 422
// with its Min-SE is retried once, within the same attempt. Short intervals (8 s) come from the
// app's settings override and the stand-in's floor; 90 s on the real-server lane.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SippProcess } from '../bench/sipp.js';
import { REAL } from './real-servers.js';
import { readCdrs, seatCalls, startTrunk, waitForCdrs } from './harness.js';
import { carrierCalls, PACKAGE_ACCOUNT, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';
import { startSipp } from '../bench/sipp.js';
import { seatAnswerAndTransfer } from './scenarios.js';

const AT = '2026-11-23T10:00:00+08:00';
const INTERVAL = REAL ? 90 : 8;
/** drachtio-server sends a refresh at half the interval ± 5 s; the stand-in here exactly at half. */
const JITTER = REAL ? 5 : 0;
const HALF = INTERVAL / 2;
const WAIT_MS = (INTERVAL + 30) * 1000;

const PLANS = `plans400:
  - number: "4008050520"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: g
    groups:
      - { id: g, members: [{ seat: "1001" }] }
`;

describe('session timers: 400 calls and 422 from trunks', () => {
  let bench: InboundBench;
  let procs: SippProcess[] = [];

  beforeAll(async () => {
    bench = await startInboundBench({
      at: AT, balance: 1_000_000, packageBalance: 10_000_000, plans400: PLANS, increments: '1/1', media: 'direct', withMedia: false,
      sessionTimers: { seconds: INTERVAL, minSeconds: INTERVAL },
      // T1 50 ms: an unanswered refresh times out (Timer B, 64×T1) in 3.2 s instead of 32 s.
      drachtioOptions: { t1Ms: 50, sessionTimerFloorSeconds: INTERVAL, sessionTimerJitterMs: 0 },
    });
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  it('a seat that goes silent after answering a 400 call: ended at its unanswered refresh, both legs BYE, billed to the refresh', async () => {
    // The seat echoes our offer (we refresh), then answers nothing: no refresh answer, no BYE.
    const seat = await startSeat(bench, '1001', { answer: 200, sessionTimer: { seconds: INTERVAL, refresh: 'ignore' } });
    procs.push(seat);
    const before = readCdrs(bench).length;
    const started = Date.now();
    // The carrier's 200 must carry Session-Expires; the carrier answers our refreshes meanwhile.
    const r = await carrierCalls(bench, {
      from: '13802412345', to: '4008050520', expect: 200, hangup: 'remote', refresh: 'answer', expectSessionExpires: true,
      remoteByeTimeoutMs: WAIT_MS, timeoutMs: WAIT_MS + 10_000,
    });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'inbound', decision: 'allow', seat: '1001', hangupBy: 'system', hangupCause: 'session-timer-callee' });
    // The refresh to the seat went out at half the interval: talk time stops there.
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(HALF - 1 - JITTER);
    expect(cdr.billableSeconds).toBeLessThanOrEqual(HALF + 1 + JITTER);
    expect(cdr.endAt - cdr.answerAt!).toBeLessThan(INTERVAL * 1000);
    expect(Date.now() - started).toBeLessThan((INTERVAL + 8) * 1000);
    // The seat got drachtio's BYE (its scenario ends only on one).
    const s = await procs.pop()!.stop();
    expect(s.successful, s.errors).toBe(1);
    const acct = (await bench.app.ledger.getAccount(PACKAGE_ACCOUNT))!;
    expect(acct.reserved).toBe(0);
    expect(cdr.balanceAfter).toBe(acct.balance);
  }, WAIT_MS + 30_000);

  it('a transfer target gets timers too: seat 1002, transferred to and then silent, is ended at its unanswered refresh', async () => {
    // 1001 answers the 400 call and transfers it to 1002; 1002's INVITE must offer Session-Expires
    // (its scenario fails otherwise), it echoes it (we refresh) and then answers nothing.
    const seat1001 = await startSipp({
      scenario: seatAnswerAndTransfer({ holdMs: 1500, seat: '1001' }), localPort: bench.seatPorts['1001']!, timeoutMs: WAIT_MS, vars: { refer_to: '1002' },
    });
    const seat1002 = await startSeat(bench, '1002', { answer: 200, sessionTimer: { seconds: INTERVAL, refresh: 'ignore' } });
    procs.push(seat1001, seat1002);
    const before = readCdrs(bench).length;
    const r = await carrierCalls(bench, {
      from: '13802412345', to: '4008050520', expect: 200, hangup: 'remote', refresh: 'answer',
      remoteByeTimeoutMs: WAIT_MS, timeoutMs: WAIT_MS + 10_000,
    });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.transfers).toEqual([expect.objectContaining({ transferTo: '1002', outcome: 'connected' })]);
    expect(cdr).toMatchObject({ hangupBy: 'system', hangupCause: 'session-timer-callee' });
    // Billed to 1002's refresh that went unanswered, half an interval after it answered.
    const toRefresh = (cdr.endAt - cdr.transfers[0]!.at) / 1000;
    expect(toRefresh).toBeGreaterThanOrEqual(HALF - 0.5 - JITTER);
    expect(toRefresh).toBeLessThanOrEqual(HALF + 0.5 + JITTER);
    expect((await seat1002.stop()).successful).toBe(1);
    expect((await ledgerOf(bench)).reserved).toBe(0);
  }, WAIT_MS + 30_000);

  it('a carrier caller that goes silent: ended at its unanswered refresh (session-timer-caller), the seat gets our BYE', async () => {
    procs.push(await startSeat(bench, '1001', { answer: 200, sessionTimer: { seconds: INTERVAL, refresh: 'answer' } }));
    const before = readCdrs(bench).length;
    const r = await carrierCalls(bench, {
      from: '13802412346', to: '4008050520', expect: 200, hangup: 'remote', refresh: 'ignore',
      remoteByeTimeoutMs: WAIT_MS, timeoutMs: WAIT_MS + 10_000,
    });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ hangupBy: 'system', hangupCause: 'session-timer-caller' });
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(HALF - 1 - JITTER);
    expect(cdr.billableSeconds).toBeLessThanOrEqual(HALF + 1 + JITTER);
    const s = await procs.pop()!.stop();
    expect(s.successful, s.errors).toBe(1);
  }, WAIT_MS + 30_000);

  it('a carrier offering less than our Min-SE gets 422 before anything else: nothing rings, no CDR', async () => {
    const before = readCdrs(bench).length;
    const r = await carrierCalls(bench, { from: '13802412347', to: '4008050520', expect: 422, sessionExpires: INTERVAL - 4 });
    expect(r.exitCode, r.errors).toBe(0);
    await new Promise((res) => setTimeout(res, 500));
    expect(readCdrs(bench).length).toBe(before);
    expect(bench.app.live.size).toBe(0);
  });

  it('a trunk answering 422 with its Min-SE is retried once with it, same call, same attempt (RFC 4028 §8.2)', async () => {
    // The trunk refuses our Session-Expires (INTERVAL) and checks the retry offers its Min-SE.
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200, hangup: 'wait', reject422MinSe: INTERVAL * 2 });
    procs.push(trunk);
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 500 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'outbound', sipStatus: 200, hangupBy: 'caller' });
    expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['trunk-a', 200]]);
    const t = await procs.pop()!.stop();
    expect(t.successful, t.errors).toBe(1);
  });
});

const ledgerOf = async (bench: InboundBench) => (await bench.app.ledger.getAccount(PACKAGE_ACCOUNT))!;
