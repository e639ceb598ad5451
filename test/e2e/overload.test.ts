// Overload control at the door (sip/overload.ts): past the configured calls per second, or while
// the event loop cannot keep up, a call's first INVITE gets 503 with Retry-After at once, while an
// INVITE answering our challenge and an emergency call always go on, and calls are taken again
// once the load has passed. The phones here are udp-sip.ts clients (to see every header of the
// 503) and sipp (a whole call after the cap, to its CDR).
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppHttp } from '../../src/ops/app-http.js';
import { freeUdpPort, type SippProcess } from '../bench/sipp.js';
import { readCdrs, SEATS, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { digestAnswer, UdpSipClient, type SipResponse } from './udp-sip.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const final = (rs: SipResponse[]) => rs.at(-1);

function overloadBench(overload: string): () => { bench: Bench; client: UdpSipClient; ports: [number, number] } {
  let bench: Bench;
  let client: UdpSipClient;
  let ports: [number, number];
  let trunk: SippProcess | undefined;
  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, media: 'direct', withMedia: false, overload });
    trunk = await startTrunk(ports[0], { answer: 200, ringMs: 0, hangup: 'trunk', holdMs: 300 });
    const [host = '127.0.0.1', port = '5060'] = bench.sipTarget.split(':');
    client = new UdpSipClient('127.0.0.1', { host, port: Number(port) });
    await client.open();
  });
  afterAll(async () => {
    client?.close();
    await trunk?.stop();
    await bench?.stop();
  });
  return () => ({ bench, client, ports });
}

/** A seat's first INVITE (no credentials) to `callee`. */
function firstInvite(c: UdpSipClient, bench: Bench, callee: string, callId?: string): Promise<SipResponse[]> {
  return c.request({ method: 'INVITE', uri: `sip:${callee}@${bench.sipTarget}`, from: '1001', to: callee, ...(callId ? { callId } : {}) });
}

describe('a calls-per-second cap', () => {
  const ctx = overloadBench('{ shedOnLoad: false, maxCallsPerSecond: 5, retryAfterSeconds: 7 }');

  it('takes a second\'s worth at once, refuses the rest with 503 + Retry-After, and never an emergency call', async () => {
    const { bench, client } = ctx();
    const cdrs0 = readCdrs(bench).length;
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => firstInvite(client, bench, '13812345678', `burst-${i}`)));
    const emergency = await firstInvite(client, bench, '110');
    const statuses = burst.map((r) => final(r)?.status);
    const taken = statuses.filter((s) => s === 407).length;
    // 5 at once; a sixth if the burst took more than 200 ms to arrive
    expect(taken).toBeGreaterThanOrEqual(5);
    expect(taken).toBeLessThanOrEqual(6);
    const refused = burst.map(final).filter((r) => r?.status === 503);
    expect(refused).toHaveLength(12 - taken);
    for (const r of refused) {
      expect(r!.headers.get('retry-after')).toBe('7');
      expect(r!.headers.get('reason')).toBe('SIP;cause=503;text="Calls per second limit"');
    }
    // the emergency call is challenged like any call of a seat, never refused for load
    expect(final(emergency)?.status).toBe(407);
    // ... and the challenged call's second INVITE is not a new call: it goes through with the cap spent
    const first = burst[statuses.indexOf(407)]!;
    const uri = `sip:13812345678@${bench.sipTarget}`;
    const auth = digestAnswer(final(first)!.headers.get('proxy-authenticate')!, { user: '1001', password: SEATS['1001'], method: 'INVITE', uri });
    for (let i = 0; i < 10; i++) await firstInvite(client, bench, '13812345678'); // spend what refilled
    const second = await client.request({ method: 'INVITE', uri, from: '1001', to: '13812345678', callId: `burst-${statuses.indexOf(407)}`, cseq: 2, headers: { 'Proxy-Authorization': auth } }, 5000);
    expect(second.map((r) => r.status)).toContain(200);
    // refused INVITEs were never calls: no CDR, no charge; the metric counts them
    const cdrs = await waitForCdrs(bench, cdrs0 + 1);
    expect(cdrs.slice(cdrs0).map((c) => c.sipStatus)).toEqual([200]);
    expect(await bench.app.metrics.render({ liveCalls: 0 })).toMatch(/dialgate_overload_refused_total\{reason="calls-per-second"\} ([1-9]\d*)/);

    // a second later a seat's whole call goes through (sipp: challenge, answer, BYE)
    await new Promise((r) => setTimeout(r, 1200));
    const r = await seatCalls(bench, { callee: '13912345678', expect: 200, hangup: 'remote' });
    expect(r.failed, r.errors.slice(0, 1000)).toBe(0);
  });
});

describe('an event loop that cannot keep up', () => {
  const ctx = overloadBench('{ maxLoopLagMs: 40, maxLoopUtilization: 1 }');

  it('refuses a share of new calls with 503 while it lasts, and takes every call again once it has passed', async () => {
    const { bench, client } = ctx();
    // The app runs in this process: keep its loop busy 60 ms of every 70 (timers fire ~60 ms late)
    const hog = setInterval(() => {
      const until = Date.now() + 60;
      while (Date.now() < until);
    }, 10);
    const api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'), log: pino({ level: 'silent' }),
    });
    const health = async () => (await (await fetch(`${api.url}/health`)).json()) as { status: string; overload: { shedShare: number; refused: { overload: number } }; warnings: string[] };
    expect((await health()).overload).toEqual({ shedShare: 0, refused: { overload: 0, callsPerSecond: 0 } });
    let during: SipResponse[][];
    let emergency: SipResponse[];
    let busy: Awaited<ReturnType<typeof health>>;
    try {
      await new Promise((r) => setTimeout(r, 2000));
      during = await Promise.all(Array.from({ length: 20 }, () => firstInvite(client, bench, '13812345678')));
      emergency = await firstInvite(client, bench, '120');
      busy = await health();
    } finally {
      clearInterval(hog);
    }
    const refused = during.map(final).filter((r) => r?.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeLessThan(20);
    expect(refused[0]!.headers.get('retry-after')).toBe('5');
    expect(refused[0]!.headers.get('reason')).toBe('SIP;cause=503;text="Server overloaded"');
    expect(during.map(final).every((r) => r?.status === 503 || r?.status === 407)).toBe(true);
    expect(final(emergency)?.status).toBe(407);
    // /health (and `dialgate status`) says so while it lasts: degraded, with the share refused
    expect(busy.status).toBe('degraded');
    expect(busy.overload.shedShare).toBeGreaterThan(0);
    expect(busy.overload.refused.overload).toBe(refused.length);
    expect(busy.warnings.some((w) => /^overloaded: \d+% of new calls are refused with 503/.test(w))).toBe(true);

    // Once the loop is free the refused share falls back within seconds: ten calls in a row taken.
    const deadline = Date.now() + 10_000;
    let streak = 0;
    while (streak < 10 && Date.now() < deadline) {
      streak = final(await firstInvite(client, bench, '13812345678'))?.status === 407 ? streak + 1 : 0;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(streak).toBe(10);
    const calm = await health();
    expect(calm.overload.shedShare).toBe(0);
    expect(calm.warnings.some((w) => w.startsWith('overloaded'))).toBe(false);
    await api.close();
  }, 30_000);
});
