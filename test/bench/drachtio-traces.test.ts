// Conformance against the recorded drachtio-server traces: each flow is replayed with sipp against
// an srf app connected to the stand-in, and the stand-in's frames must have the same shapes (kinds,
// filled fields, id references, SIP start lines and header names) as the real server's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrachtio, type DrachtioStandIn, type FrameRecord } from './drachtio/standin.js';
import { compareFlows, parseTraceFile } from './drachtio/trace.js';
import { sleep, startTraceApp, uacCall, type ConnectedApp } from './drachtio/harness.js';
import { runSipp, startSipp, type SippProcess } from './sipp.js';
import { sharedDir } from '../helpers/shared.js';

const TRACE_DIR = path.join(sharedDir(), 'traces/drachtio');
const trace = (name: string) => parseTraceFile(readFileSync(path.join(TRACE_DIR, `${name}.txt`), 'utf8'));

let dr: DrachtioStandIn;
let app: ConnectedApp;
let trunk: SippProcess;
let failTrunk: SippProcess;
let connectFrames: FrameRecord[] = [];

beforeAll(async () => {
  dr = await startDrachtio();
  trunk = await startSipp({ scenario: 'trunk-uas', timeoutMs: 120_000 });
  failTrunk = await startSipp({ scenario: 'trunk-503', timeoutMs: 120_000 });
  app = await startTraceApp(dr.adminPort, { trunk: trunk.address, failTrunk: failTrunk.address });
  await sleep(50);
  connectFrames = dr.frames.slice();
});

afterAll(async () => {
  await app?.close();
  await trunk?.stop();
  await failTrunk?.stop();
  await dr?.stop();
});

function report(name: string, cmp: ReturnType<typeof compareFlows>): string {
  return [`flow ${name}:`, ...cmp.problems, '--- expected', ...cmp.expected, '--- actual', ...cmp.actual].join('\n');
}

/** Runs `fn`, waits for the frames to settle, and returns the frames it produced. */
async function capture(fn: () => Promise<unknown>, settleMs = 300): Promise<FrameRecord[]> {
  const from = dr.frames.length;
  await fn();
  // wait until no frame has arrived for settleMs
  let n = -1;
  while (n !== dr.frames.length) {
    n = dr.frames.length;
    await sleep(settleMs);
  }
  return dr.frames.slice(from);
}

function caller(scenario: string, service: string) {
  return runSipp({ scenario, service, target: `127.0.0.1:${dr.sipPort}`, calls: 1, timeoutMs: 15_000 });
}

describe('trace files', () => {
  it('parse with lengths that match the declared frame lengths', () => {
    for (const name of ['connect', 'answer', 'appbye', 'reject', 'reason', 'early', 'cancel', 'b2b', 'b2bfail', 'register', 'uac']) {
      for (const f of trace(name)) expect(Buffer.byteLength(f.payload), `${name} +${f.at}ms`).toBe(f.len);
    }
  });
});

describe('stand-in frames match the real server traces', () => {
  it('connect: authenticate and route', () => {
    const cmp = compareFlows(trace('connect'), connectFrames);
    expect(cmp.ok, report('connect', cmp)).toBe(true);
  });

  const flows: Array<[name: string, scenario: string]> = [
    ['answer', 'call-basic'],
    ['appbye', 'call-recv-bye'],
    ['reject', 'call-expect-486'],
    ['reason', 'call-expect-403'],
    ['early', 'call-expect-480'],
    ['cancel', 'call-cancel'],
    ['b2b', 'call-basic'],
    ['b2bfail', 'call-expect-503'],
  ];
  for (const [name, scenario] of flows) {
    it(`${name}: sipp ${scenario}`, async () => {
      let result: Awaited<ReturnType<typeof caller>> | undefined;
      const frames = await capture(async () => {
        result = await caller(scenario, name);
      });
      expect(result?.exitCode, `${result?.stdout}\n${result?.stderr}\n${result?.errors}`).toBe(0);
      const cmp = compareFlows(trace(name), frames);
      expect(cmp.ok, report(name, cmp)).toBe(true);
      expect(app.events.errors).toEqual([]);
    });
  }

  it('register: 401 challenge then 200', async () => {
    let result: Awaited<ReturnType<typeof runSipp>> | undefined;
    const frames = await capture(async () => {
      result = await runSipp({
        scenario: 'register-digest', target: `127.0.0.1:${dr.sipPort}`, calls: 1, timeoutMs: 15_000,
        vars: { user: '1001', password: 'secret' },
      });
    });
    expect(result?.exitCode, `${result?.stdout}\n${result?.stderr}\n${result?.errors}`).toBe(0);
    const cmp = compareFlows(trace('register'), frames);
    expect(cmp.ok, report('register', cmp)).toBe(true);
  });

  it('uac: createUAC to the trunk, app hangs up', async () => {
    // uac.txt starts with the app connecting, so a fresh app does this one
    const from = dr.frames.length;
    const uacApp = await startTraceApp(dr.adminPort, {});
    try {
      await sleep(500);
      await uacCall(uacApp.srf, trunk.address, 1000);
      let n = -1;
      while (n !== dr.frames.length) {
        n = dr.frames.length;
        await sleep(300);
      }
      const frames = dr.frames.slice(from);
      const cmp = compareFlows(trace('uac'), frames);
      expect(cmp.ok, report('uac', cmp)).toBe(true);
    } finally {
      await uacApp.close();
    }
  });
});
