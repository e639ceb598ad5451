// Issue 5 acceptance: hot reload while sipp keeps calls flowing through the bench. A valid change
// is picked up by the file watcher and new calls follow it; an invalid edit is rejected and calls
// keep flowing on the running config; no call fails because of either.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { injection, seatCall } from './scenarios.js';
import { readCdrs, SEATS, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';

const CALLS = 60;

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('config reload while calls flow', () => {
  let bench: Bench;
  let trunk: SippProcess;

  beforeAll(async () => {
    const ports: [number, number] = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: '2026-11-23T10:00:00+08:00', balance: 10_000_000, media: 'direct', withMedia: false, maxConcurrent: 100 });
    await bench.store.watch();
    trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0 });
  });
  afterAll(async () => {
    await trunk?.stop();
    bench?.store.close();
    await bench?.stop();
  });

  it('applies a valid edit, rejects an invalid one, and no call fails', async () => {
    const tenants = join(bench.dir, 'tenants.yaml');
    const original = readFileSync(tenants, 'utf8');
    const v0 = bench.store.current().version;
    const flow = runSipp({
      scenario: seatCall({ expect: 200, holdMs: 300 }), target: bench.sipTarget, calls: CALLS, rate: 20, concurrency: 50,
      timeoutMs: 60_000, injectionFile: injection(Array.from({ length: CALLS }, () => ['1001', SEATS['1001'], '13812345678'] as [string, string, string])),
      auth: { username: '1001', password: SEATS['1001'], uri: `13812345678@${bench.sipTarget}` },
    });
    // While calls flow (CDRs are written into cdr/ inside the config directory, which must not
    // hold reloads back): narrow the window to 09:00-19:30 (10:00 stays inside), through the watcher.
    await new Promise((r) => setTimeout(r, 800));
    writeFileSync(tenants, original.replace('08:00-19:30', '09:00-19:30'));
    await until(() => bench.store.current().version !== v0);
    const v1 = bench.store.current().version;
    // Then a broken edit: rejected, the 09:00 config keeps running.
    await new Promise((r) => setTimeout(r, 800));
    writeFileSync(tenants, original.replace('08:00-19:30', '09:00-25:00'));
    await until(() => bench.store.status().lastError !== null);
    expect(bench.store.current().version).toBe(v1);
    expect(bench.store.status().lastError?.errors[0]?.file).toContain('tenants.yaml');

    const r = await flow;
    expect(r.failed, r.errors.slice(0, 2000)).toBe(0);
    const cdrs = await waitForCdrs(bench, CALLS);
    expect(cdrs.filter((c) => c.sipStatus !== 200).map((c) => [c.sipStatus, c.denyReason])).toEqual([]);
    const versions = new Set(cdrs.map((c) => c.configVersion));
    expect([...versions].map((v) => v.slice(0, 8)).sort()).toEqual([v0.slice(0, 8), v1.slice(0, 8)].sort());

    // New calls follow the reloaded window: 08:30 was allowed before, is denied now.
    bench.clock.set(Date.parse('2026-11-23T08:30:00+08:00'));
    const before = readCdrs(bench).length;
    const early = await seatCalls(bench, { callee: '13812345678', expect: 403 });
    expect(early.exitCode, early.errors).toBe(0);
    // The CDR follows the 403 (written after the final response): wait for it.
    expect((await waitForCdrs(bench, before + 1)).at(-1)).toMatchObject({ denyReason: 'outside-window', configVersion: v1 });
    writeFileSync(tenants, original);
  });
});
