// Prepaid limits end to end (issue 4 §3-§5, issue 3 concurrency): a call whose balance runs out
// hears the warning and is cut off at the paid boundary; an empty balance is refused with 402;
// a tenant over its purchased ports gets 486.
import { writeFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const AT = '2026-11-23T10:00:00+08:00';
// 0.13 yuan / 60 s billed per second (1/1): 3 s cost ceil(1300 × 3 / 60) = 65 units.
const THREE_SECONDS = 65;

describe('prepaid limits on live calls', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: AT, balance: THREE_SECONDS, increments: '1/1', warningSeconds: 1, maxConcurrent: 1 });
  });
  afterAll(async () => {
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('warns, then cuts the call off at the paid boundary; the balance ends at zero, never below', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 200, hangup: 'remote', remoteByeTimeoutMs: 10_000 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.hangupBy).toBe('cutoff');
    expect(cdr.hangupCause).toBe('balance-exhausted');
    expect(cdr.billableSeconds).toBeLessThanOrEqual(3);
    expect(cdr.billableSeconds).toBeGreaterThanOrEqual(2);
    expect(cdr.cost).toBeLessThanOrEqual(THREE_SECONDS);
    expect(cdr.balanceAfter).toBe(THREE_SECONDS - cdr.cost);
    const acct = await bench.app.ledger.getAccount('telesales');
    expect(acct!.balance).toBeGreaterThanOrEqual(0);
    expect(acct!.reserved).toBe(0);
    // The warning tone was played to the seat through FreeSWITCH before the cut-off.
    const played = bench.media!.events.filter((e) => e.name === 'CHANNEL_EXECUTE' && /tone_stream/.test(e.event.get('Application-Data') ?? ''));
    expect(played.length).toBeGreaterThan(0);
  });

  it('refuses a call with 402 when the balance cannot pay one increment', async () => {
    const acct = await bench.app.ledger.getAccount('telesales');
    if (acct!.available > 0) await bench.app.ledger.adjust('telesales', 'drain', -acct!.available, 'test: empty the account');
    const before = readCdrs(bench).length;
    const r = await seatCalls(bench, { callee: '13812345678', expect: 402 });
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr.denyReason).toBe('insufficient-balance');
    expect(cdr.sipStatus).toBe(402);
  });

  it('refuses a second concurrent call beyond the tenant\'s purchased ports with 486', async () => {
    await bench.app.ledger.topUp('telesales', 'refill', 1_000_000, 'test refill');
    trunks.push(await startTrunk(ports[0], { answer: 200, hangup: 'wait' }));
    const before = readCdrs(bench).length;
    const long = seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 2500 });
    // Wait until the first call is up and holds the tenant's only port.
    const deadline = Date.now() + 5000;
    while (bench.app.live.size === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    while ([...bench.app.live.values()].every((c) => c.answeredAt === null) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const second = await seatCalls(bench, { seat: '1002', callee: '13812345679', expect: 486 });
    expect(second.exitCode, second.errors).toBe(0);
    expect((await long).exitCode).toBe(0);
    const cdrs = (await waitForCdrs(bench, before + 2)).slice(before);
    const busy = cdrs.find((c) => c.seat === '1002')!;
    expect(busy.denyReason).toBe('tenant-busy');
    expect(busy.sipStatus).toBe(486);
    expect(cdrs.find((c) => c.seat === '1001')!.sipStatus).toBe(200);
  });

  it('applies a valid config reload to new calls; an invalid one is rejected and the old config keeps running', async () => {
    const tenants = join(bench.dir, 'tenants.yaml');
    const original = readFileSync(tenants, 'utf8');
    writeFileSync(tenants, original.replace('08:00-19:30', '11:00-19:30'));
    const ok = await bench.store.reload('test');
    expect(ok.ok).toBe(true);
    const before = readCdrs(bench).length;
    let r = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    // The CDR follows the 403 (written after the final response): wait for it.
    expect((await waitForCdrs(bench, before + 1)).at(-1)!.denyReason).toBe('outside-window');

    writeFileSync(tenants, original.replace('08:00-19:30', '25:00-19:30'));
    const bad = await bench.store.reload('test');
    expect(bad.ok).toBe(false);
    expect(bench.store.status().lastError?.errors[0]?.file).toContain('tenants.yaml');
    // Still the 11:00 window: 10:00 is outside it.
    r = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(r.exitCode, r.errors).toBe(0);
    writeFileSync(tenants, original);
    expect((await bench.store.reload('test')).ok).toBe(true);
  });
});

describe('low-balance alert (003 §2.2)', () => {
  let bench: Bench;
  let ports: [number, number];
  let hook: Server;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const port = (hook.address() as AddressInfo).port;
    ports = [await freeUdpPort(), await freeUdpPort()];
    // Prepaid total 100 yuan (fixture); 10.05 yuan left: one 0.13-yuan call crosses below 10%.
    bench = await startBench({ trunkPorts: ports, at: AT, balance: 100_500, alertWebhook: `http://127.0.0.1:${port}/alerts` });
  });
  afterAll(async () => {
    await bench?.stop();
    await new Promise<void>((r) => hook.close(() => r()));
  });

  it('POSTs the alert to the configured webhook once per crossing', async () => {
    const trunk = await startTrunk(ports[0], { answer: 200 });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 300 });
        expect(r.exitCode, r.errors).toBe(0);
      }
    } finally {
      await trunk.stop();
    }
    const deadline = Date.now() + 3000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 300));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ account: 'telesales', reason: 'BELOW_10_PERCENT', balance: 100_500 - 1300 });
  });
});
