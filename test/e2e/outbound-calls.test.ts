// Outbound seat calls end to end: sipp seats and trunks, the call bench, real Redis (issue 3).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { existsSync } from 'node:fs';
import { seatCancel, seatRegister, injection } from './scenarios.js';
import { expectAudio } from './audio.js';
import { promptDeadlineMs } from '../../src/media/deadlines.js';
import { channelsGone, PROMPTS, readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const AFTER_HOURS = '2026-11-23T20:00:00+08:00';

describe('outbound seat calls through the bench', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000 });
  });
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
    bench.clock.set(Date.parse(IN_WINDOW));
  });

  it('registers a seat with digest auth, and rejects a wrong password', async () => {
    const ok = await runSipp({ scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000,
      injectionFile: injection([['1001', 'pw-1001-secret', '']]), auth: { username: '1001', password: 'pw-1001-secret' } });
    expect(ok.exitCode, ok.errors).toBe(0);
    const bad = await runSipp({ scenario: seatRegister(403), target: bench.sipTarget, calls: 1, timeoutMs: 10_000,
      injectionFile: injection([['1002', 'wrong-password', '']]), auth: { username: '1002', password: 'wrong-password' } });
    expect(bad.exitCode, bad.errors).toBe(0);
  });

  it('bridges an allowed call to trunk A and bills the answered time', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 1500 });
    expect(r.exitCode, r.errors + r.stdout.slice(-2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, before + 1);
    const cdr = cdrs[cdrs.length - 1]!;
    expect(cdr.decision).toBe('allow');
    expect(cdr.sipStatus).toBe(200);
    expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['trunk-a', 200]]);
    expect(cdr.calleeNormalised).toBe('13812345678');
    expect(cdr.callerPresented).toBe('01088886601');
    const answeredMs = cdr.endAt - cdr.answerAt!;
    expect(cdr.billableSeconds).toBe(Math.ceil(answeredMs / 1000));
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(2);
    expect(cdr.billedSeconds).toBe(60);
    expect(cdr.cost).toBe(1300); // 0.13 yuan for one started minute (004 §3.1)
    expect(cdr.hangupBy).toBe('caller');
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(acct?.balance).toBe(cdr.balanceAfter);
  });

  it('denies the same call at 20:00 Beijing time with the window reason', async () => {
    bench.clock.set(Date.parse(AFTER_HOURS));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.decision).toBe('deny');
    expect(cdr.denyReason).toBe('outside-window');
    expect(cdr.sipStatus).toBe(403);
  });

  it.each([
    ['blacklisted callee', '13900001111', undefined, 403, 'blacklisted'],
    ['blacklisted prefix', '13900002225', undefined, 403, 'blacklisted'],
    ['do-not-call list file', '13700137000', undefined, 403, 'blacklisted'],
    ['unowned caller id', '13812345678', '13511112222', 403, 'caller-id-not-owned'],
    ['premium number', '16012345678', undefined, 403, 'out-of-scope'],
    ['international number', '0044207946000', undefined, 403, 'out-of-scope'],
    ['malformed number', '12ab34', undefined, 484, 'malformed-number'],
  ])('denies a %s with its own status and reason', async (_name, callee, callerId, status, reason) => {
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee, ...(callerId ? { callerId } : {}), expect: status });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.decision).toBe('deny');
    expect(cdr.denyReason).toBe(reason);
    expect(cdr.sipStatus).toBe(status);
    expect(cdr.trunks).toEqual([]);
  });

  it('fails over from trunk A answering 503 to trunk B, and the CDR lists both', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 503 }));
    trunks.push(await startTrunk(ports[1], { answer: 200 }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '02012345678', expect: 200, holdMs: 500 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['trunk-a', 503], ['trunk-b', 200]]);
    expect(cdr.sipStatus).toBe(200);
    expect(cdr.numberClass).toBe('landline');
  });

  it('never bridges an unauthenticated call: a wrong password gets 403 and no trunk is tried', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', password: 'nope', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    // Authentication failures are access-log events, not call attempts of a tenant.
    expect(readCdrs(bench).length).toBe(before);
  });
});

describe('outbound call teardown paths', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000 });
  });
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('ends both legs when the callee hangs up, and records the call to a file named in the CDR', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'trunk', holdMs: 1200 }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote' });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.hangupBy).toBe('callee');
    expect(cdr.recordingPath).toMatch(/rec\/telesales\/2026-11-23\/.+\.wav$/);
    expect(existsSync(cdr.recordingPath!)).toBe(true);
    if (bench.real) expectAudio(cdr.recordingPath!, cdr.endAt - cdr.answerAt!);
    // Both FreeSWITCH endpoints are gone once the call ended.
    expect(await channelsGone(bench)).toBe(0);
  });

  it('stops dialling when the seat cancels before the callee answers', async () => {
    const trunk = await startTrunk(ports[0], { answer: 'cancel' });
    const before = readCdrs(bench).length;
    const r = await runSipp({ scenario: seatCancel(800), target: bench.sipTarget, calls: 1, timeoutMs: 15_000,
      injectionFile: injection([['1001', 'pw-1001-secret', '13812345678']]), auth: { username: '1001', password: 'pw-1001-secret', uri: `13812345678@${bench.sipTarget}` } });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.sipStatus).toBe(487);
    expect(cdr.answerAt).toBeNull();
    expect(cdr.hangupBy).toBe('caller');
    expect(cdr.cost).toBe(0);
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(acct!.reserved).toBe(0);
    // The carrier got the CANCEL too: its scenario (CANCEL → 200, 487, ACK) completed.
    const t = await trunk.stop();
    expect(t.successful, t.errors).toBe(1);
  });
});

describe('denial announcements', () => {
  let bench: Bench;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: AFTER_HOURS, balance: 1_000_000,
      announcements: { 'outside-window': 'dialgate/window-closed.wav' } });
    bench.fs?.setPlaybackDuration('window-closed.wav', 400);
  });
  afterAll(async () => {
    await bench?.stop();
  });

  it('plays the tenant\'s announcement as early media through FreeSWITCH, then rejects with 403', async () => {
    const before = readCdrs(bench).length;
    const started = Date.now();
    const r = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    // The prompt took its time before the final response.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    // The seat sends no RTP in early media (as most softphones): the prompt must end all the same.
    expect(Date.now() - started).toBeLessThan(promptDeadlineMs('dialgate/window-closed.wav', PROMPTS) + 3000);
    const played = bench.media!.events.filter((e) => e.name === 'CHANNEL_EXECUTE_COMPLETE' && /window-closed\.wav/.test(e.event.get('Application-Data') ?? ''));
    expect(played).toHaveLength(1);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ decision: 'deny', denyReason: 'outside-window', sipStatus: 403 });
    // The announcement's endpoint is gone afterwards.
    expect(await channelsGone(bench)).toBe(0);
  });
});

describe('trunk timeout failover', () => {
  let bench: Bench;
  let ports: [number, number];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, trunkTimeoutSeconds: 1, media: 'direct', withMedia: false });
  });
  afterAll(async () => {
    await bench?.stop();
  });

  it('moves on to trunk B when trunk A rings past its timeout (004 §2.6), and the carrier gets a CANCEL', async () => {
    const slow = await startTrunk(ports[0], { answer: 'cancel' });
    const good = await startTrunk(ports[1], { answer: 200 });
    try {
      const before = readCdrs(bench).length;
      const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 300 });
      expect(r.exitCode, r.errors).toBe(0);
      const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
      expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['trunk-a', 408], ['trunk-b', 200]]);
      expect(cdr.sipStatus).toBe(200);
      expect(cdr.ringAt! - cdr.inviteAt).toBeLessThan(1000);
      expect(cdr.answerAt! - cdr.inviteAt).toBeGreaterThanOrEqual(1000);
    } finally {
      expect((await slow.stop()).successful).toBe(1);
      await good.stop();
    }
  });
});
