// Issue 14, FreeSWITCH kept honest: a channel left behind on the media server (made here with
// `originate null/… &park`, as a lost teardown leaves one) is killed by dialgate's reconciler within
// its grace period plus one interval, while the channels of a live anchored call are untouched and
// the call ends normally; /health and /metrics show FreeSWITCH's health, load and the kill. On the
// bench and, with `npm run test:real`, on the real FreeSWITCH.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pino from 'pino';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import { RawEsl } from '../bench/freeswitch/esl-reader.js';
import { parseExposition, valueOf } from '../helpers/prometheus-text.js';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { readCdrs, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { REAL } from './real-servers.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const INTERVAL_S = 2;
const GRACE_S = 5;
/** Grace + one interval, and room for a loaded machine (a round's ESL round trips, event delivery). */
const KILL_BOUND_MS = (GRACE_S + INTERVAL_S) * 1000 + 2000;

/** Our own event socket to the media server, as an admin's fs_cli would be. */
async function eventSocket(bench: Bench): Promise<{ api(cmd: string): Promise<string>; close(): void }> {
  const port = REAL ? REAL.esl.port : bench.fs!.eslPort;
  const password = REAL ? REAL.esl.password : bench.fs!.password;
  const esl = await RawEsl.connect(port);
  await esl.next((f) => f.head.includes('auth/request'));
  await esl.command(`auth ${password}`);
  return { api: async (cmd) => (await esl.command(`api ${cmd}`)).body, close: () => esl.close() };
}

describe('orphan FreeSWITCH channels', () => {
  let bench: Bench;
  let ports: [number, number];
  let ops: OpsHttp;
  let trunk: SippProcess | undefined;

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({
      trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, increments: '6/6',
      reconcile: { intervalSeconds: INTERVAL_S, graceSeconds: GRACE_S },
    });
    // The ops API as `dialgate serve` starts it (no tokens: open on loopback).
    ops = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'), log: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await trunk?.stop();
    await ops?.close();
    await bench?.stop();
  });

  it('one left behind is killed within grace + interval; a live call\'s channels are untouched and it ends normally', async () => {
    const esl = await eventSocket(bench);
    try {
      // The watcher is up and says so on /health.
      const deadline = Date.now() + 10_000;
      while (!bench.app.freeswitch()?.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const health = await (await fetch(`${ops.url}/health`)).json() as { freeswitch: Record<string, unknown> };
      expect(health.freeswitch).toMatchObject({ connected: true, maxSessions: expect.any(Number), orphansKilled: 0 });
      expect(health.freeswitch['idleCpu']).toEqual(expect.any(Number));
      expect(health.freeswitch['uptimeSeconds']).toEqual(expect.any(Number));

      // A live anchored call, 14 s long: the seat hangs up.
      trunk = await startTrunk(ports[0], { answer: 200 });
      const before = readCdrs(bench).length;
      const call = seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 14_000, timeoutMs: 40_000 });
      while (![...bench.app.live.values()].some((c) => c.answeredAt !== null && c.mediaUuids().length === 2)) {
        if (Date.now() > deadline + 20_000) throw new Error('the call was not answered through the media server');
        await new Promise((r) => setTimeout(r, 20));
      }
      const legs = [...bench.app.live.values()][0]!.mediaUuids();

      // The orphan: a parked channel nobody holds.
      const createdAt = Date.now();
      const orphan = /^\+OK (\S+)/.exec(await esl.api('originate null/dialgate-orphan-e2e &park'))?.[1];
      expect(orphan).toBeDefined();
      expect((await esl.api(`uuid_exists ${orphan}`)).trim()).toBe('true');
      let killedAt = 0;
      while (Date.now() - createdAt < KILL_BOUND_MS + 1000) {
        if ((await esl.api(`uuid_exists ${orphan}`)).trim() === 'false') {
          killedAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const tookMs = killedAt - createdAt;
      const fs = bench.app.freeswitch()!;
      console.log(`orphan killed ${tookMs} ms after it was created (grace ${GRACE_S} s, interval ${INTERVAL_S} s); FreeSWITCH sessions reported ${fs.sessions}, idle CPU ${fs.idleCpu} %, lastReconcile ${JSON.stringify(fs.lastReconcile)}`);
      expect(killedAt, 'the orphan was killed').toBeGreaterThan(0);
      expect(tookMs).toBeGreaterThanOrEqual(GRACE_S * 1000);
      expect(tookMs).toBeLessThan(KILL_BOUND_MS);

      // The call's own channels are still up, and so is the call.
      for (const uuid of legs) expect((await esl.api(`uuid_exists ${uuid}`)).trim(), uuid).toBe('true');
      expect(bench.app.live.size).toBe(1);
      const during = await (await fetch(`${ops.url}/health`)).json() as { freeswitch: Record<string, unknown> };
      expect(during.freeswitch).toMatchObject({ connected: true, orphansKilled: 1 });
      // The call's two endpoints (and nothing else of ours) are what FreeSWITCH has up now.
      expect(during.freeswitch['sessions']).toBe(2);
      const metrics = await (await fetch(`${ops.url}/metrics`)).text();
      const m = parseExposition(metrics);
      const fsAt = { freeswitch: `${REAL ? REAL.esl.host : '127.0.0.1'}:${REAL ? REAL.esl.port : bench.fs!.eslPort}` };
      expect(valueOf(m, 'dialgate_fs_orphans_killed_total')).toBe(1);
      expect(valueOf(m, 'dialgate_fs_connected', fsAt)).toBe(1);
      expect(valueOf(m, 'dialgate_fs_sessions', fsAt)).toBe(2);
      const idle = valueOf(m, 'dialgate_fs_idle_cpu_ratio', fsAt);
      expect(idle).toBeGreaterThanOrEqual(0);
      expect(idle).toBeLessThanOrEqual(1);

      const r = await call;
      expect(r.exitCode, r.errors).toBe(0);
      const cdr = (await waitForCdrs(bench, before + 1, 5000)).at(-1)!;
      expect(cdr).toMatchObject({ sipStatus: 200, hangupBy: 'caller', media: 'anchored', mediaNote: null });
      expect(cdr.endAt - cdr.answerAt!).toBeGreaterThan(13_000);
      // A normal teardown leaves nothing for the reconciler: the next round finds no channel.
      const since = bench.clock.now();
      const until = Date.now() + INTERVAL_S * 1000 + 3000;
      while ((bench.app.freeswitch()!.lastReconcile?.at ?? 0) <= since && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(bench.app.freeswitch()).toMatchObject({ orphansKilled: 1, sessions: 0, lastReconcile: { channels: 0, killed: 0 } });
    } finally {
      esl.close();
    }
  }, 90_000);
});
