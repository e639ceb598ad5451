// Redis goes away with calls up and calls arriving (issue 16): seats hear 503 with Retry-After
// within a second (nothing is bridged without a reservation), an emergency call still connects,
// every attempt keeps its CDR (spooled locally, replayed once Redis is back), every reservation is
// settled or released, the money adds up and no port stays taken.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotKey } from '../../src/ledger/concurrency.js';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { readCdrs, SEATS, seatCalls, startBench, startTrunk, type Bench } from './harness.js';
import { REAL } from './real-servers.js';
import { injection, seatRegister } from './scenarios.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const DEPOSIT = 1_000_000;
const OUTAGE_MS = 60_000;

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The test stops and restarts its own redis-server: bench lane only (same on the real servers).
describe.skipIf(REAL !== null)('Redis outage', () => {
  let bench: Bench;
  let ports: [number, number];
  let revived: RedisInstance | null = null;
  const trunks: SippProcess[] = [];
  const redisDir = mkdtempSync(join(tmpdir(), 'dialgate-outage-'));

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: IN_WINDOW, balance: DEPOSIT, media: 'direct', withMedia: false, increments: '6/6', heartbeatMs: 500, recoveryIntervalMs: 1000,
      redisOptions: { appendOnly: true, dir: redisDir },
    });
  });
  afterAll(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    await bench?.stop();
    await revived?.stop();
  });

  it('fails fast and closed, connects 110, and loses no record', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    // Two calls up before the outage; they end (seat BYE) while Redis is away.
    const talking = seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 4000, calls: 2, concurrency: 2, timeoutMs: 30_000 });
    await until('both calls answered', () => (bench.app.live.size === 2 && [...bench.app.live.values()].every((c) => c.answeredAt) ? true : undefined));

    const port = bench.redis.port;
    await bench.redis.stop();

    // A seat's call: 503 with Retry-After, within a second.
    const started = Date.now();
    const refused = await seatCalls(bench, { callee: '13900000001', expect: 503 });
    expect(refused.exitCode, refused.errors).toBe(0);
    expect(Date.now() - started).toBeLessThan(1500); // two SIP transactions (407 challenge, then 503) included
    // A REGISTER: 503 too, at once.
    const reg = await runSipp({ scenario: seatRegister(503), target: bench.sipTarget, calls: 1, timeoutMs: 5000,
      injectionFile: injection([['1002', SEATS['1002'], '']]), auth: { username: '1002', password: SEATS['1002'] } });
    expect(reg.exitCode, reg.errors).toBe(0);
    // An emergency call connects: it needs no money and no port.
    const emergency = await seatCalls(bench, { callee: '110', expect: 200, holdMs: 300 });
    expect(emergency.exitCode, emergency.errors).toBe(0);
    await until('the refused and the emergency call spooled', async () => ((await bench.app.redisState()).spooledCdrs >= 2 ? true : undefined), 5000);

    // The two calls end during the outage, which lasts a minute (longer than crash recovery's
    // staleness: this instance's deferred settlements must not be taken for orphans).
    expect((await talking).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - started))));

    revived = await startRedis({ port, dir: redisDir, appendOnly: true });
    const cdrs = await until('every CDR in the stream and files', async () => {
      const all = readCdrs(bench);
      return all.length >= 4 && (await bench.app.redisState()).spooledCdrs === 0 ? all : undefined;
    });
    // One CDR per attempt, none twice.
    expect(cdrs).toHaveLength(4);
    expect(new Set(cdrs.map((c) => c.cdrId)).size).toBe(4);
    expect(cdrs.find((c) => c.calleeNormalised === '13900000001')).toMatchObject({ decision: 'deny', denyReason: 'ledger-unavailable', sipStatus: 503 });
    expect(cdrs.find((c) => c.calleeNormalised === '110')).toMatchObject({ decision: 'allow', sipStatus: 200, cost: 0 });
    const paid = cdrs.filter((c) => c.calleeNormalised === '13812345678');
    expect(paid.map((c) => c.sipStatus)).toEqual([200, 200]);
    expect(paid.every((c) => c.cost > 0 && !c.recovered)).toBe(true);
    // The deferred settlements landed: nothing reserved, the balance is the deposit less the CDRs' costs.
    const acct = await until('settlements applied', async () => {
      const a = await bench.app.ledger.getAccount('telesales');
      return a && a.reserved === 0 ? a : undefined;
    });
    expect(acct.balance).toBe(DEPOSIT - cdrs.reduce((sum, c) => sum + c.cost, 0));
    expect(await bench.app.ledger.reservations('telesales')).toEqual([]);
    for (const key of [slotKey('tenant', 'telesales'), slotKey('trunk', 'trunk-a'), slotKey('trunk', 'trunk-b')]) {
      await until(`${key} free`, async () => ((await bench.app.redis.zcard(key)) === 0 ? true : undefined));
    }
  }, 120_000);
});
