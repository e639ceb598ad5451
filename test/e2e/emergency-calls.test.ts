// Emergency numbers end to end (issue 4 §8, issue 3 policy): 110 and 120 dialled at 20:00 Beijing
// time — outside the tenant's 08:00-19:30 window — from an account with a zero balance are still
// connected through the bench; their CDRs show the measured seconds and cost 0, and the account is
// never touched (no reservation, no debit, no history entry). A normal number at the same moment is
// refused for the window, which shows the clock really is outside it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const AT = '2026-11-23T20:00:00+08:00'; // a Monday, 20:00 Beijing: after the 19:30 close
const HOLD_MS = 1500;

describe('emergency calls outside the window with a zero balance', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: AT, balance: 0, window: '08:00-19:30', emergencyRoute: true });
  });
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('a normal number at this moment is refused: outside the window, and nothing to pay with', async () => {
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.denyReason).toBe('outside-window');
    expect(cdr.trace.find((t) => t.step === 'window')?.detail).toMatch(/T20:00:\d\d(\.\d+)?\+08:00 mon workday, window 08:00-19:30/);
    expect((await bench.app.ledger.getAccount('telesales'))!.balance).toBe(0);
  });

  it.each(['110', '120'])('%s is connected, measured, and never charged', async (number) => {
    const trunk = await startTrunk(ports[0], { answer: 200, hangup: 'wait' });
    trunks.push(trunk);
    const acctBefore = await bench.app.ledger.getAccount('telesales');
    const historyBefore = await bench.app.ledger.history('telesales');
    const before = readCdrs(bench).length;

    const r = await seatCalls(bench, { callee: number, expect: 200, holdMs: HOLD_MS });
    expect(r.exitCode, `${r.errors}\n${r.stdout.slice(-2000)}`).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;

    // Connected through the trunk, not blocked for window or balance.
    expect(cdr).toMatchObject({
      calleeNormalised: number, numberClass: 'emergency', decision: 'allow', denyReason: null, sipStatus: 200,
      hangupBy: 'caller', recovered: false,
    });
    expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['trunk-a', 200]]);
    const steps = Object.fromEntries(cdr.trace.map((t) => [t.step, t.outcome]));
    expect(steps).toMatchObject({ emergency: 'pass', window: 'skip', balance: 'skip', concurrency: 'skip' });

    // Measured like any call (answer to BYE, whole seconds rounded up), never charged.
    expect(cdr.answerAt).not.toBeNull();
    const measured = Math.ceil((cdr.endAt - cdr.answerAt!) / 1000);
    expect(cdr.billableSeconds).toBe(measured);
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(Math.floor(HOLD_MS / 1000));
    expect(cdr.billableSeconds).toBeLessThanOrEqual(Math.ceil(HOLD_MS / 1000) + 2);
    expect(cdr.billedSeconds).toBe(measured);
    expect(cdr.cost).toBe(0);
    expect(cdr.balanceAfter).toBeNull();

    // The account is untouched: same balance (zero), nothing reserved, no ledger entry.
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(acct).toEqual(acctBefore);
    expect(acct).toMatchObject({ balance: 0, reserved: 0, debits: 0 });
    expect(await bench.app.ledger.history('telesales')).toEqual(historyBefore);
    expect(await bench.app.ledger.reservations('telesales')).toEqual([]);
  });
});
