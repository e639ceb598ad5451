// Blind transfer (issue 13) end to end: seat 1001 (sipp, a desktop softphone) calls a number
// through the trunk (sipp), then sends REFER. The target passes the policy of a fresh call before
// anything moves; the trunk leg is moved to seat 1002 (sipp UAS registered as 1002) and billed on
// one reservation; refused targets are told in NOTIFY and the call stays up. Real redis-server,
// the drachtio and FreeSWITCH stand-ins (or the real servers, see run-real.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { freeUdpPort, runSipp, startSipp, type SippProcess } from '../bench/sipp.js';
import { injection, seatAnswerAndTransfer, seatRegister, seatTransfer, trunkUas, type SeatTransferOptions } from './scenarios.js';
import { carrierCalls, PACKAGE_ACCOUNT, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';
import { readCdrs, SEATS, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import type { Cdr } from '../../src/cdr/model.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
/** 2.5 s before the 19:30 end of the dialing window (004 §3.2): the call is allowed, a transfer 3 s later is not. */
const WINDOW_CLOSING = '2026-11-23T19:29:57.500+08:00';
const BALANCE = 1_000_000;

async function registerSeat(bench: Bench, seat: keyof typeof SEATS): Promise<number> {
  const port = await freeUdpPort();
  const reg = await runSipp({
    scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000, localPort: port,
    injectionFile: injection([[seat, SEATS[seat], '']]), auth: { username: seat, password: SEATS[seat] },
  });
  if (reg.exitCode !== 0) throw new Error(`seat ${seat} did not register: ${reg.errors}`);
  return port;
}

/** Seat 1001 calls `callee` and refers the call to `referTo` (generated scenario, or the desktop softphone's file). */
function transferCall(bench: Bench, callee: string, referTo: string, o: SeatTransferOptions | 'softphone') {
  return runSipp({
    scenario: o === 'softphone' ? 'seat-blind-transfer' : seatTransfer(o), target: bench.sipTarget, calls: 1, timeoutMs: 30_000, vars: { refer_to: referTo },
    ...(process.env.SIPP_TRACE ? { extraArgs: ['-trace_msg', '-message_file', process.env.SIPP_TRACE] } : {}),
    injectionFile: injection([['1001', SEATS['1001'], callee, '1001']]),
    auth: { username: '1001', password: SEATS['1001'], uri: `${callee}@${bench.sipTarget}` },
  });
}

async function lastCdr(bench: Bench, before: number): Promise<Cdr> {
  const cdrs = await waitForCdrs(bench, before + 1, 15_000);
  expect(cdrs.length).toBe(before + 1);
  return cdrs.at(-1)!;
}

for (const media of ['direct', 'anchored'] as const) {
  describe(`blind transfer from a seat (${media} media)`, () => {
    let bench: Bench;
    let ports: [number, number];
    let port1002: number;
    let peers: SippProcess[] = [];

    beforeAll(async () => {
      ports = [await freeUdpPort(), await freeUdpPort()];
      bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: BALANCE, media });
      port1002 = await registerSeat(bench, '1002');
    }, 60_000);
    afterAll(async () => {
      await bench?.stop();
    });
    afterEach(async () => {
      await Promise.all(peers.map((p) => p.stop()));
      peers = [];
      bench.clock.set(Date.parse(IN_WINDOW));
    });

    it('moves the trunk leg to seat 1002: NOTIFY 200 and BYE to 1001, one CDR, one reservation charged', async () => {
      // Direct media: the carrier is re-INVITEd with 1002's SDP. Anchored: its FreeSWITCH leg stays as it is.
      const trunk = await startTrunk(ports[0], media === 'direct' ? { answer: 200, reinvite: true } : { answer: 200 });
      const seat1002 = await startSipp({ scenario: trunkUas({ answer: 200, hangup: 'trunk', holdMs: 1500 }), localPort: port1002, timeoutMs: 60_000 });
      peers.push(trunk, seat1002);
      const balanceBefore = (await bench.app.ledger.getAccount('telesales'))!.balance;
      const before = readCdrs(bench).length;

      const r = await transferCall(bench, '13812345678', '1002', { holdMs: 1200, expectNotify: 200 });
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);

      const cdr = await lastCdr(bench, before);
      expect(cdr.decision).toBe('allow');
      expect(cdr.seat).toBe('1001');
      expect(cdr.calleeNormalised).toBe('13812345678');
      expect(cdr.transfers).toHaveLength(1);
      const t = cdr.transfers[0]!;
      expect(t).toMatchObject({ transferredBy: '1001', transferTo: '1002', outcome: 'connected', sipStatus: 200, reservation: null });
      expect(t.at).toBeGreaterThan(cdr.answerAt!);
      // 1001 talked ~1.2 s, 1002 ~1.5 s; the trunk leg is billed continuously across the transfer.
      expect(t.transferorSeconds).toBeGreaterThanOrEqual(1);
      expect(t.targetSeconds).toBeGreaterThanOrEqual(2);
      expect(cdr.billableSeconds).toBe(Math.ceil((cdr.endAt - cdr.answerAt!) / 1000));
      expect(Math.abs(t.transferorSeconds! + t.targetSeconds! - cdr.billableSeconds)).toBeLessThanOrEqual(1);
      expect(cdr.hangupBy).toBe('caller'); // 1002, now on the seat side, hung up
      // One reservation chain: the call's own reservation, one charge, the balance moved by exactly it.
      expect(cdr.charges).toEqual([{ account: 'telesales', reservation: cdr.callId, cost: 1300 }]);
      expect(cdr.cost).toBe(1300);
      const acct = (await bench.app.ledger.getAccount('telesales'))!;
      expect(acct.balance).toBe(balanceBefore - 1300);
      expect(acct.reserved).toBe(0);
      if (media === 'anchored') {
        // The recording on the seat side's endpoint goes on across the transfer: one file for the call.
        expect(cdr.media).toBe('anchored');
        expect(cdr.recordingPath && existsSync(cdr.recordingPath)).toBe(true);
      }
      // The carrier's side: its scenario (answer, [re-INVITE,] BYE) completed; 1002 answered and hung up.
      const tr = await trunk.stop();
      expect(tr.successful, tr.errors).toBe(1);
      const s2 = await seat1002.stop();
      expect(s2.successful, s2.errors).toBe(1);
    });

    it.runIf(media === 'direct')('goes on when the transferor hangs up right after NOTIFY 100, as many phones do', async () => {
      const trunk = await startTrunk(ports[0], { answer: 200, reinvite: true });
      const seat1002 = await startSipp({ scenario: trunkUas({ answer: 200, hangup: 'trunk', holdMs: 1500 }), localPort: port1002, timeoutMs: 60_000 });
      peers.push(trunk, seat1002);
      const before = readCdrs(bench).length;
      const r = await transferCall(bench, '13812345678', '1002', { holdMs: 500, expectNotify: 200, hangUpAfterTrying: true });
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const cdr = await lastCdr(bench, before);
      expect(cdr.transfers).toEqual([expect.objectContaining({ transferTo: '1002', outcome: 'connected' })]);
      // The carrier talked to 1002 until 1002 hung up, not until 1001 left.
      expect(cdr.endAt - cdr.transfers[0]!.at).toBeGreaterThanOrEqual(1400);
      expect((await trunk.stop()).successful).toBe(1);
      expect((await seat1002.stop()).successful).toBe(1);
    });

    it.runIf(media === 'direct')('cancels the ringing target when the remaining party hangs up during the transfer', async () => {
      const trunk = await startTrunk(ports[0], { answer: 200, hangup: 'trunk', holdMs: 1500 });
      const seat1002 = await startSipp({ scenario: trunkUas({ answer: 'cancel' }), localPort: port1002, timeoutMs: 60_000 });
      peers.push(trunk, seat1002);
      const before = readCdrs(bench).length;
      const r = await transferCall(bench, '13812345678', '1002', { holdMs: 300, expectNotify: 200, hangUpAfterTrying: true });
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const cdr = await lastCdr(bench, before);
      expect(cdr.hangupBy).toBe('callee');
      expect(cdr.transfers).toEqual([expect.objectContaining({ transferTo: '1002', outcome: 'cancelled', transferorSeconds: null })]);
      expect(cdr.charges).toHaveLength(1);
      // 1002 was rung and then CANCELled (its scenario: CANCEL → 200, 487, ACK).
      expect((await seat1002.stop()).successful).toBe(1);
      expect((await trunk.stop()).successful).toBe(1);
    });

    it.runIf(media === 'direct')('answers an attended transfer (Refer-To with Replaces) 501, and the call goes on', async () => {
      const trunk = await startTrunk(ports[0], { answer: 200 });
      peers.push(trunk);
      const before = readCdrs(bench).length;
      const r = await transferCall(bench, '13812345678', '1002', { holdMs: 300, expectNotify: 200, replacesExpect: 501 });
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const cdr = await lastCdr(bench, before);
      expect(cdr.transfers).toEqual([]);
      expect(cdr.hangupBy).toBe('caller');
      expect((await trunk.stop()).successful).toBe(1);
    });

    it('refuses a transfer to a number once the dialing window has closed: NOTIFY 403 with the Reason, the call stays up', async () => {
      bench.clock.set(Date.parse(WINDOW_CLOSING));
      const trunk = await startTrunk(ports[0], { answer: 200 });
      peers.push(trunk);
      const before = readCdrs(bench).length;
      const r = await transferCall(bench, '13812345678', '13812345679', {
        holdMs: 3000, expectNotify: { status: 403, reason: 'Outside dialing window' }, resumeMs: 800,
      });
      expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
      const cdr = await lastCdr(bench, before);
      expect(cdr.transfers).toEqual([expect.objectContaining({
        transferredBy: '1001', transferTo: '13812345679', outcome: 'outside-window', sipStatus: 403, transferorSeconds: null,
      })]);
      // The seat resumed and hung up itself; the carrier's leg lasted until then.
      expect(cdr.hangupBy).toBe('caller');
      expect(cdr.endAt - cdr.transfers[0]!.at).toBeGreaterThanOrEqual(700);
      expect(cdr.charges).toHaveLength(1);
      const tr = await trunk.stop();
      expect(tr.successful, tr.errors).toBe(1);
    });

    it('refuses a transfer to a blacklisted number, and to the transferring seat itself', async () => {
      for (const [target, status, reason, outcome] of [
        ['13900001111', 403, 'Callee on do-not-call list', 'blacklisted'],
        ['1001', 403, 'Cannot transfer to yourself', 'self-transfer'],
      ] as const) {
        const trunk = await startTrunk(ports[0], { answer: 200 });
        peers.push(trunk);
        const before = readCdrs(bench).length;
        const r = await transferCall(bench, '13812345678', target, { holdMs: 300, expectNotify: { status, reason } });
        expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
        const cdr = await lastCdr(bench, before);
        expect(cdr.transfers.map((t) => [t.transferTo, t.outcome, t.sipStatus])).toEqual([[target, outcome, status]]);
        expect(cdr.hangupBy).toBe('caller');
        await trunk.stop();
        peers = [];
      }
    });
  });
}

describe('blind transfer to a number: a second carrier leg on the same account', () => {
  let bench: Bench;
  let ports: [number, number];
  let peers: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    // trunk-a takes one call: the transferred leg (a call of its own to the carrier) goes out on trunk-b.
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: BALANCE, media: 'direct', trunkMaxConcurrent: 1 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await bench?.stop();
  });

  it('dials the number on the next trunk, re-INVITEs the first carrier leg to it, and charges both legs', async () => {
    const first = await startTrunk(ports[0], { answer: 200, reinvite: true });
    const second = await startTrunk(ports[1], { answer: 200, hangup: 'trunk', holdMs: 1500 });
    peers.push(first, second);
    const balanceBefore = (await bench.app.ledger.getAccount('telesales'))!.balance;
    const before = readCdrs(bench).length;
    // The desktop softphone's scenario (test/sipp/seat-blind-transfer.xml), as a user would run it.
    const r = await transferCall(bench, '13812345678', '13812345679', 'softphone');
    expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
    const cdr = await lastCdr(bench, before);
    expect(cdr.transfers).toEqual([expect.objectContaining({
      transferredBy: '1001', transferTo: '13812345679', outcome: 'connected', sipStatus: 200, reservation: `${cdr.callId}:xfer1`,
    })]);
    expect(cdr.trunks.map((t) => t.trunk)).toEqual(['trunk-a']);
    // The call's own leg and the transferred leg, each at 0.13 yuan for its started minute.
    expect(cdr.charges).toEqual([
      { account: 'telesales', reservation: cdr.callId, cost: 1300 },
      { account: 'telesales', reservation: `${cdr.callId}:xfer1`, cost: 1300 },
    ]);
    const acct = (await bench.app.ledger.getAccount('telesales'))!;
    expect(acct.balance).toBe(balanceBefore - 2600);
    expect(acct.reserved).toBe(0);
    expect((await first.stop()).successful).toBe(1);
    expect((await second.stop()).successful).toBe(1);
    peers = [];
  });
});

describe('blind transfer to a number under the tenant\'s toll-fraud caps', () => {
  let bench: Bench;
  let ports: [number, number];
  let peers: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: BALANCE, media: 'direct', tenantExtra: { maxAttemptsPerCalleePerDay: 1 } });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await bench?.stop();
  });

  it('counts the transfer\'s new carrier leg as an attempt: a second attempt to the number today is refused, the call stays up', async () => {
    const trunk = await startTrunk(ports[0], { answer: 200 });
    peers.push(trunk);
    const before = readCdrs(bench).length;
    // The call itself is today's one attempt to 13812345678; the transfer to it would be the second.
    const r = await transferCall(bench, '13812345678', '13812345678', {
      holdMs: 300, expectNotify: { status: 403, reason: 'Daily attempts to this number reached' }, resumeMs: 300,
    });
    expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
    const cdr = await lastCdr(bench, before);
    expect(cdr.transfers).toEqual([expect.objectContaining({ transferTo: '13812345678', outcome: 'callee-attempts', sipStatus: 403 })]);
    expect(cdr.charges).toHaveLength(1);
    expect((await trunk.stop()).successful).toBe(1);
    peers = [];
  });
});

const PLANS = `plans400:
  - number: "4008050515"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: desk
    groups:
      - { id: desk, members: [{ seat: "1001" }] }
`;

describe('blind transfer of a 400 call by the seat that answered it', () => {
  let bench: InboundBench;
  let peers: SippProcess[] = [];

  beforeAll(async () => {
    bench = await startInboundBench({ at: IN_WINDOW, balance: BALANCE, packageBalance: 10_000_000, plans400: PLANS });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    await bench?.stop();
  });

  it('moves the caller from seat 1001 to seat 1002; the package pays one continuous leg', async () => {
    const seat1001 = await startSipp({
      scenario: seatAnswerAndTransfer({ holdMs: 1000, seat: '1001' }), localPort: bench.seatPorts['1001']!, timeoutMs: 60_000, vars: { refer_to: '1002' },
    });
    const seat1002 = await startSeat(bench, '1002', { answer: 200, hangup: 'trunk', holdMs: 1500 });
    peers.push(seat1001, seat1002);
    const pkgBefore = (await bench.app.ledger.getAccount(PACKAGE_ACCOUNT))!.balance;
    const before = readCdrs(bench).length;
    // The carrier's caller stays on the line (answering any re-INVITE) until dialgate's BYE.
    const r = await carrierCalls(bench, { from: '13812345678', to: '4008050515', expect: 200, hangup: 'remote', refresh: 'answer' });
    expect(r.exitCode, r.errors + r.stdout.slice(-1500)).toBe(0);
    const cdr = await lastCdr(bench, before);
    expect(cdr.direction).toBe('inbound');
    expect(cdr.transfers).toEqual([expect.objectContaining({ transferredBy: '1001', transferTo: '1002', outcome: 'connected', sipStatus: 200 })]);
    const t = cdr.transfers[0]!;
    expect(t.transferorSeconds).toBeGreaterThanOrEqual(1);
    expect(t.targetSeconds).toBeGreaterThanOrEqual(2);
    expect(cdr.charges).toEqual([{ account: PACKAGE_ACCOUNT, reservation: cdr.callId, cost: 2500 }]); // 0.25 yuan, one started minute
    expect((await bench.app.ledger.getAccount(PACKAGE_ACCOUNT))!.balance).toBe(pkgBefore - 2500);
    expect((await seat1001.stop()).successful, 'seat 1001 got 202, NOTIFY 100 and 200, then BYE').toBe(1);
    expect((await seat1002.stop()).successful).toBe(1);
    peers = [];
  });
});
