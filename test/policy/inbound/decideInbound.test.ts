// The inbound (400) pipeline on the shipped example plan (config/plans400.yaml, contract 002),
// with an injected clock: region branches, time rules with statutory holidays and make-up working
// days, blacklists, number status and package balance.
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigSnapshot } from '../../../src/config/types.js';
import { decideInbound } from '../../../src/policy/inbound/decideInbound.js';
import type { InboundCall, InboundConnect, InboundDecision } from '../../../src/policy/inbound/types.js';
import { edit, exampleCopy, EXAMPLE_DIR, load, removeTempDirs } from '../../config/fixture.js';

afterAll(removeTempDirs);

async function snapshot(dir = EXAMPLE_DIR): Promise<ConfigSnapshot> {
  const r = await load(dir);
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
  return r.snapshot;
}

const at = (local: string): number => Date.parse(`${local}+08:00`);
const MONDAY_10 = at('2026-11-23T10:00:00');
const FULL = { available: 10_000_000 }; // 1000 yuan in the package account

function call(from: string, over: Partial<InboundCall> = {}): InboundCall {
  return { callId: 'c-1', sourceIp: '127.0.0.1', sourcePort: 5060, from, to: '4008050508', ...over };
}

function connect(d: InboundDecision): InboundConnect {
  if (d.kind !== 'connect') throw new Error(`expected connect, got ${d.kind}: ${JSON.stringify(d.trace)}`);
  return d;
}

describe('decideInbound: region strategy (002 §1.3 区域策略)', () => {
  it('a Beijing landline goes to the Beijing branch, overflowing to hq', async () => {
    const d = connect(decideInbound(call('01062345678'), await snapshot(), FULL, MONDAY_10));
    expect(d.branch).toEqual({ time: 'office', region: 'beijing' });
    expect(d.groups.map((g) => [g.id, g.strategy, g.members.map((m) => m.key)])).toEqual([
      ['beijing', 'round-robin', ['seat:1001', 'seat:1002']],
      ['hq', 'ring-all', ['seat:1001', 'seat:1002', 'seat:1003']],
    ]);
    expect(d.owner).toBe('telesales');
    expect(d.account).toBe('telesales-400');
    expect(d.trace.find((t) => t.step === 'region')!.detail).toContain('北京市 → branch beijing');
  });

  it('a Guangdong mobile goes to the Guangzhou branch; its bound mobile uses the owner\'s outbound route and tariff', async () => {
    const d = connect(decideInbound(call('+86 138 0241 2345'), await snapshot(), FULL, MONDAY_10));
    expect(d.branch.region).toBe('guangzhou');
    const [gz] = d.groups;
    expect(gz!.members.map((m) => [m.key, m.noAnswerSeconds])).toEqual([['seat:1003', 15], ['number:13800138000', 25]]);
    const bound = gz!.members[1]!;
    if (bound.kind !== 'number') throw new Error('expected a number member');
    expect(bound.trunks.map((t) => t.trunkId)).toEqual(['trunk-a', 'trunk-b']); // 004 §2.6 failover
    expect(bound.trunks[0]!.requestUri).toBe('sip:13800138000@127.0.0.1:5090');
    expect(bound.rate.ratePerMinute).toBe(1300);
    expect(d.caller?.region?.cityZh).toBe('广州市');
  });

  it('an unknown region (a new 199 segment) and an anonymous caller go to the default branch', async () => {
    const cfg = await snapshot();
    for (const from of ['19912345678', 'anonymous']) {
      const d = connect(decideInbound(call(from), cfg, FULL, MONDAY_10));
      expect(d.branch.region).toBe('default');
      expect(d.groups.map((g) => g.id)).toEqual(['hq']);
    }
  });
});

describe('decideInbound: time strategy (002 §1.3 时间策略) with statutory holidays', () => {
  it('after hours on a working day: the otherwise action (voicemail in the example)', async () => {
    const d = decideInbound(call('01062345678'), await snapshot(), FULL, at('2026-11-23T20:00:00'));
    expect(d.kind).toBe('voicemail');
    if (d.kind === 'voicemail') expect(d.action).toEqual({ kind: 'voicemail', prompt: 'dialgate/ivr/400/leave-message.wav', maxSeconds: 60 });
  });

  it('a closed announcement as `otherwise`: early media, then 480 with the reason', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['otherwise: { voicemail: { prompt: dialgate/ivr/400/leave-message.wav, maxSeconds: 60 } }', 'otherwise: { announcement: dialgate/ivr/400/closed.wav }']);
    const d = decideInbound(call('01062345678'), await snapshot(dir), FULL, at('2026-11-22T10:00:00')); // a Sunday
    expect(d).toMatchObject({ kind: 'reject', reason: 'closed', sipStatus: 480, announcement: 'dialgate/ivr/400/closed.wav' });
    expect(d.trace.at(-1)!.detail).toContain('sun weekend: no rule open');
  });

  it('on a statutory holiday (National Day, 2026-10-01) the holiday rule sends the call to the duty group', async () => {
    const d = connect(decideInbound(call('01062345678'), await snapshot(), FULL, at('2026-10-01T10:00:00')));
    expect(d.branch).toEqual({ time: 'holiday-duty', region: null });
    expect(d.groups.map((g) => [g.id, g.strategy])).toEqual([['duty', 'longest-idle']]);
    expect(d.trace.find((t) => t.step === 'time')!.detail).toContain('holiday National Day');
  });

  it('on a holiday outside the duty hours, and on the office rule (closed on holidays): otherwise', async () => {
    const d = decideInbound(call('01062345678'), await snapshot(), FULL, at('2026-10-01T18:00:00'));
    expect(d.kind).toBe('voicemail');
  });

  it('a make-up working day (调休, Saturday 2026-10-10) opens with the working-day hours; an ordinary Saturday afternoon does not', async () => {
    const cfg = await snapshot();
    const makeup = connect(decideInbound(call('01062345678'), cfg, FULL, at('2026-10-10T15:00:00')));
    expect(makeup.branch.time).toBe('office');
    expect(makeup.trace.find((t) => t.step === 'time')!.detail).toContain('makeup-workday');
    expect(decideInbound(call('01062345678'), cfg, FULL, at('2026-10-17T15:00:00')).kind).toBe('voicemail');
  });
});

describe('decideInbound: refusals', () => {
  it('a caller on the number\'s blacklist, and on the owner tenant\'s caller blacklist (prefix), is rejected 403', async () => {
    const cfg = await snapshot();
    expect(decideInbound(call('13500001111'), cfg, FULL, MONDAY_10)).toMatchObject({ kind: 'reject', reason: 'caller-blacklisted', sipStatus: 403 });
    const t = decideInbound(call('010-6000-1234'), cfg, FULL, MONDAY_10);
    expect(t).toMatchObject({ kind: 'reject', reason: 'caller-blacklisted' });
    expect(t.kind === 'reject' && t.detail).toContain('tenant telesales caller blacklist: 0106000*');
  });

  it('an unknown number gets a bare 404; a source that is no carrier a bare 403', async () => {
    const cfg = await snapshot();
    const unknown = decideInbound(call('01062345678', { to: '4001234567' }), cfg, FULL, MONDAY_10);
    expect(unknown).toMatchObject({ kind: 'reject', reason: 'unknown-number', sipStatus: 404, reasonHeader: null });
    const source = decideInbound(call('01062345678', { sourceIp: '10.9.9.9' }), cfg, FULL, MONDAY_10);
    expect(source).toMatchObject({ kind: 'reject', reason: 'unknown-source', sipStatus: 403, reasonHeader: null });
  });

  it('a used-up package stops the service: not-in-service announcement, 480 (002 §2.3)', async () => {
    const cfg = await snapshot();
    const d = decideInbound(call('01062345678'), cfg, { available: 2499 }, MONDAY_10); // 0.25 yuan/min = 2500
    expect(d).toMatchObject({ kind: 'reject', reason: 'package-used-up', sipStatus: 480, announcement: 'dialgate/ivr/400/not-in-service.wav' });
    expect(decideInbound(call('01062345678'), cfg, { available: null }, MONDAY_10)).toMatchObject({ reason: 'package-used-up' });
    expect(connect(decideInbound(call('01062345678'), cfg, { available: 2500 }, MONDAY_10)).maxDurationSeconds).toBe(60);
  });

  it('a package account in arrears or closed: not in service (480 + announcement), never a 403 telling the caller why', async () => {
    const cfg = await snapshot();
    const since = at('2026-03-01T00:10:00');
    for (const standing of [{ status: 'active' as const, arrears: 1, arrearsSince: since }, { status: 'closed' as const, arrears: 0, arrearsSince: null }]) {
      const d = decideInbound(call('01062345678'), cfg, { ...FULL, standing }, MONDAY_10);
      expect(d).toMatchObject({ kind: 'reject', reason: 'not-in-service', sipStatus: 480, reasonHeader: 'SIP ;cause=480 ;text="Number not in service"',
        announcement: 'dialgate/ivr/400/not-in-service.wav' });
    }
    expect(decideInbound(call('01062345678'), cfg, { ...FULL, standing: { status: 'active', arrears: 0, arrearsSince: null } }, MONDAY_10).kind).toBe('connect');
  });

  it('an expired package: not in service, then after 7 days reclaimed with a bare 404 (002 §2.3)', async () => {
    const cfg = await snapshot(); // package 2026-01-01 + 120 months → ends 2036-01-01
    expect(decideInbound(call('01062345678'), cfg, FULL, at('2035-12-31T10:00:00')).kind).toBe('connect'); // last day
    expect(decideInbound(call('01062345678'), cfg, FULL, at('2036-01-07T10:00:00'))).toMatchObject({ reason: 'not-in-service', sipStatus: 480 });
    expect(decideInbound(call('01062345678'), cfg, FULL, at('2036-01-08T10:00:00'))).toMatchObject({ reason: 'number-reclaimed', sipStatus: 404, reasonHeader: null });
  });

  it('a suspended number: not in service for 6 days, reclaimed from the 7th', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['    status: active', '    status: suspended\n    suspendedSince: "2026-11-16"']);
    const cfg = await snapshot(dir);
    expect(decideInbound(call('01062345678'), cfg, FULL, at('2026-11-22T10:00:00'))).toMatchObject({ reason: 'not-in-service' });
    expect(decideInbound(call('01062345678'), cfg, FULL, MONDAY_10)).toMatchObject({ reason: 'number-reclaimed', sipStatus: 404 });
  });
});

describe('decideInbound: PIN and welcome', () => {
  it('carries the PIN and the welcome prompt; the trace never shows the PIN', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['    # pin:', '    pin: { digits: "2468", maxAttempts: 3 }\n    # pin:']);
    const d = connect(decideInbound(call('01062345678'), await snapshot(dir), FULL, MONDAY_10));
    expect(d.pin).toMatchObject({ digits: '2468', maxAttempts: 3 });
    expect(d.welcome).toBe('dialgate/ivr/400/welcome.wav');
    expect(JSON.stringify(d.trace)).not.toContain('2468');
  });
});
