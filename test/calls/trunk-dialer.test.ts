// TrunkDialer races with a fake srf: cancel while a trunk slot is being taken, and a ring timeout
// that fires before drachtio has handed back the sent INVITE.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/calls/clock.js';
import { DialFailure, TrunkDialer, type DialOptions } from '../../src/calls/trunk-dialer.js';

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

/** Real time, but a "timeoutSeconds" timer fires after that many ms. */
const fastClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => ({ id: setTimeout(fn, ms / 1000) }),
  clearTimeout: (t) => clearTimeout(t.id as NodeJS.Timeout),
};

function fakeSrf(o: { requestDelayMs?: number } = {}) {
  const calls: Array<{ uri: string; cancels: number }> = [];
  const srf = {
    createUAC(uri: string, _opts: unknown, cbs: { cbRequest(err: unknown, req: unknown): void }) {
      const c = { uri, cancels: 0 };
      calls.push(c);
      return new Promise((_resolve, reject) => {
        const req = { cancel: (cb?: () => void) => { c.cancels++; cb?.(); reject(Object.assign(new Error('487'), { status: 487 })); } };
        setTimeout(() => cbs.cbRequest(null, req), o.requestDelayMs ?? 0);
      });
    },
  };
  return { srf, calls };
}

function options(over: Partial<DialOptions> = {}): DialOptions {
  return {
    targets: [
      { trunkId: 'a', requestUri: 'sip:1@a', callerId: '010', timeoutSeconds: 30 },
      { trunkId: 'b', requestUri: 'sip:1@b', callerId: '010', timeoutSeconds: 30 },
    ],
    localSdp: 'v=0',
    fromHost: 'dialgate.test',
    clock: fastClock,
    acquireTrunk: async () => true,
    releaseTrunk: async () => {},
    onProvisional: () => {},
    ...over,
  };
}

describe('TrunkDialer races', () => {
  it('a cancel while the trunk slot is being taken sends no INVITE and frees the slot', async () => {
    const { srf, calls } = fakeSrf();
    const dialer = new TrunkDialer(srf as never);
    let release!: (ok: boolean) => void;
    const released: string[] = [];
    const p = dialer.dial(options({
      acquireTrunk: () => new Promise<boolean>((r) => { release = r; }),
      releaseTrunk: async (id) => { released.push(id); },
    }));
    await tick();
    dialer.cancel();
    release(true);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialFailure);
    expect((err as DialFailure).cancelled).toBe(true);
    expect(calls).toHaveLength(0);
    expect(released).toEqual(['a']);
  });

  it('a ring timeout that fires before the INVITE is handed back still cancels it and fails over', async () => {
    // drachtio hands back the sent request after 50 ms; the trunk times out after 30 ms.
    const { srf, calls } = fakeSrf({ requestDelayMs: 50 });
    const dialer = new TrunkDialer(srf as never);
    const p = dialer.dial(options());
    const outcome = await Promise.race([p.catch((e: unknown) => e), tick(1000).then(() => 'stuck')]);
    expect(outcome).toBeInstanceOf(DialFailure);
    // Each INVITE is CANCELled once drachtio hands it back, even after the dialler moved on.
    await tick(100);
    expect(calls.map((c) => c.cancels)).toEqual([1, 1]);
    expect((outcome as DialFailure).attempts.map((a) => a.note)).toEqual(['timeout', 'timeout']);
  });

  it('a carrier that never answers the INVITE nor its CANCEL does not hold failover until Timer B', async () => {
    // Trunk a: silent (RFC 3261 §9.1: no provisional, so the CANCEL goes nowhere); trunk b answers.
    const late = { destroyed: 0, destroy: async () => { late.destroyed++; } };
    const answerA: Array<(d: unknown) => void> = [];
    const srf = {
      createUAC(uri: string, _opts: unknown, cbs: { cbRequest(err: unknown, req: unknown): void }) {
        return new Promise((resolve) => {
          setTimeout(() => cbs.cbRequest(null, { cancel: () => {} }), 0);
          if (uri === 'sip:1@a') answerA.push(resolve);
          else setTimeout(() => resolve({ b: true }), 5);
        });
      },
    };
    const dialer = new TrunkDialer(srf as never);
    const outcome = await Promise.race([dialer.dial(options()), tick(1000).then(() => 'stuck' as const)]);
    expect(outcome).not.toBe('stuck');
    const dialled = outcome as Awaited<ReturnType<TrunkDialer['dial']>>;
    expect(dialled.trunkId).toBe('b');
    expect(dialled.attempts.map((a) => [a.target, a.sipStatus, a.note])).toEqual([['a', 408, 'timeout'], ['b', 200, undefined]]);
    // Trunk a answers after all: that late leg is hung up at once.
    answerA[0]!(late);
    await tick(20);
    expect(late.destroyed).toBe(1);
  });
});
