// Toll-fraud caps per tenant (issue 16 B), end to end through the bench with counters in Redis:
// a spend-per-hour cap crossed mid-burst denies the next call (403, its Reason, its CDR) and
// alerts once; the N+1th attempt of the day to one number is denied while another number goes
// through; a burst beyond the calls-per-second cap is refused with 503. A 400 call forwarded to a
// number is paid from the owner's account: that spend counts toward the owner's cap too.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSipp, freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { injection, seatCallOrDeny } from './scenarios.js';
import { readCdrs, SEATS, seatCalls, startBench, startTrunk, waitForCdrs, type Bench, type BenchOptions } from './harness.js';
import { carrierCalls, PACKAGE_ACCOUNT, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';

const AT = '2026-11-23T10:00:00+08:00';

function capsBench(ports: [number, number], caps: Record<string, string | number>, extra: Partial<BenchOptions> = {}): Promise<Bench> {
  // 60/60: every answered call costs one minute, 0.13 yuan = 1300 units, however short.
  return startBench({ trunkPorts: ports, at: AT, balance: 1_000_000, increments: '60/60', media: 'direct', withMedia: false, tenantExtra: caps, ...extra });
}

describe('spend per hour', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];
  let hook: Server;
  const alerts: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { alerts.push(JSON.parse(body) as Record<string, unknown>); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await capsBench(ports, { maxSpendPerHour: '0.20' }, { alertWebhook: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alert` });
  }, 30_000);
  afterAll(async () => {
    await bench?.stop();
    await new Promise((r) => hook?.close(r));
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('crossed mid-burst: the next call is denied with spend-per-hour, and one alert goes out', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    // 1300 spent (under the 2000 cap), then 2600: this settlement crosses it.
    for (const callee of ['13812340001', '13812340002']) {
      const r = await seatCalls(bench, { callee, expect: 200, holdMs: 300 });
      expect(r.exitCode, r.errors).toBe(0);
    }
    await waitForCdrs(bench, before + 2);
    const denied = await seatCalls(bench, { callee: '13812340003', expect: 403 });
    expect(denied.exitCode, denied.errors).toBe(0);
    const cdrs = (await waitForCdrs(bench, before + 3)).slice(before);
    expect(cdrs.map((c) => c.cost)).toEqual([1300, 1300, 0]);
    expect(cdrs[2]!.decision).toBe('deny');
    expect(cdrs[2]!.denyReason).toBe('spend-per-hour');
    expect(cdrs[2]!.sipStatus).toBe(403);
    // One more denied call does not alert again.
    expect((await seatCalls(bench, { callee: '13812340004', expect: 403 })).exitCode).toBe(0);
    const deadline = Date.now() + 3000;
    while (alerts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const spend = alerts.filter((a) => a.type === 'spend-cap');
    expect(spend).toHaveLength(1);
    expect(spend[0]).toMatchObject({ tenant: 'telesales', cap: 'hour', limit: 2000, spent: 2600 });
  }, 60_000);
});

describe('attempts per callee per day', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await capsBench(ports, { maxAttemptsPerCalleePerDay: 2 });
  }, 30_000);
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('the third attempt of the day to one number is denied; another number still goes through', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    for (let i = 0; i < 2; i++) expect((await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 100 })).exitCode).toBe(0);
    const third = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(third.exitCode, third.errors).toBe(0);
    expect((await seatCalls(bench, { callee: '13812345679', expect: 200, holdMs: 100 })).exitCode).toBe(0);
    const cdrs = (await waitForCdrs(bench, before + 4)).slice(before);
    expect(cdrs.map((c) => c.denyReason)).toEqual([null, null, 'callee-attempts', null]);
  }, 60_000);
});

describe('calls per second', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await capsBench(ports, { maxCallsPerSecond: 2 });
  }, 30_000);
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('a burst of 8 calls at once to one number: at most 2 a second are let through, the rest get 503 calls-per-second', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    const rows = Array.from({ length: 8 }, () => ['1001', SEATS['1001'], '13812345000', '1001'] as [string, string, string, string]);
    const r = await runSipp({
      scenario: seatCallOrDeny(503, 200), target: bench.sipTarget, calls: 8, concurrency: 8, rate: 200, timeoutMs: 20_000,
      injectionFile: injection(rows), auth: { username: '1001', password: SEATS['1001'], uri: `13812345000@${bench.sipTarget}` },
    });
    expect(r.exitCode, r.errors).toBe(0);
    const cdrs = (await waitForCdrs(bench, before + 8)).slice(before);
    const allowed = cdrs.filter((c) => c.decision === 'allow');
    const denied = cdrs.filter((c) => c.decision === 'deny');
    // The burst may straddle a second boundary: two seconds' worth at most.
    expect(allowed.length).toBeGreaterThanOrEqual(1);
    expect(allowed.length).toBeLessThanOrEqual(4);
    expect(denied.length).toBe(8 - allowed.length);
    for (const d of denied) {
      expect(d.denyReason).toBe('calls-per-second');
      expect(d.sipStatus).toBe(503);
    }
  }, 60_000);
});

describe('spend per hour: a 400 call forwarded to a number', () => {
  let bench: InboundBench;

  beforeAll(async () => {
    bench = await startInboundBench({
      at: AT, balance: 1_000_000, packageBalance: 10_000_000, increments: '60/60', media: 'direct', withMedia: false,
      tenantExtra: { maxSpendPerHour: '0.20' },
      plans400: `plans400:
  - number: "4008050530"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: mobile
    groups:
      - { id: mobile, members: [{ number: "13800138000" }] }
  - number: "4008050531"
    owner: telesales
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: desk
    groups:
      - { id: desk, members: [{ seat: "1001" }] }
`,
    });
  }, 60_000);
  afterAll(async () => { await bench?.stop(); });

  it('a 400 call answered by a seat, on a plan whose package is the owner\'s own account, is not spend: outbound calls still go', async () => {
    const seat = await startSeat(bench, '1001', { answer: 200 });
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200 });
    try {
      const before = readCdrs(bench).length;
      const r = await carrierCalls(bench, { from: '01062345678', to: '4008050531', expect: 200, holdMs: 300 });
      expect(r.exitCode, r.errors).toBe(0);
      const [call] = (await waitForCdrs(bench, before + 1)).slice(before);
      expect(call!.cost).toBe(2500); // the package minute: 0.25 yuan, over the 0.20 cap were it spend
      const out = await seatCalls(bench, { callee: '13812340008', expect: 200, holdMs: 200 });
      expect(out.exitCode, out.errors).toBe(0);
      // Its CDR is in before the next test counts CDRs (files are appended in batches).
      await waitForCdrs(bench, before + 2);
    } finally {
      await seat.stop();
      await trunk.stop();
    }
    // (the outbound call's own 0.13 is spend: the next test starts from 1300 of the 2000)
  }, 60_000);

  it('the forwarded leg\'s cost (paid by the owner) crosses the owner\'s cap: its next outbound call is denied', async () => {
    const trunk = await startTrunk(bench.trunkPorts[0], { answer: 200 });
    try {
      const before = readCdrs(bench).length;
      const r = await carrierCalls(bench, { from: '01062345678', to: '4008050530', expect: 200, holdMs: 300 });
      expect(r.exitCode, r.errors).toBe(0);
      const [call] = (await waitForCdrs(bench, before + 1)).slice(before);
      // The forward: 0.13 yuan for its minute from the owner's account: 2600 spent, over the 0.20 cap.
      expect(call!.charges).toContainEqual(expect.objectContaining({ account: 'telesales', cost: 1300 }));
      const denied = await seatCalls(bench, { callee: '13812340009', expect: 403 });
      expect(denied.exitCode, denied.errors).toBe(0);
      const last = (await waitForCdrs(bench, before + 2)).at(-1)!;
      expect(last).toMatchObject({ decision: 'deny', denyReason: 'spend-per-hour' });
    } finally {
      await trunk.stop();
    }
  }, 60_000);
});
