// `dialgate explain` and what-if as pure functions over real config snapshots.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigSnapshot } from '../../src/config/types.js';
import { decideOutbound } from '../../src/policy/decideOutbound.js';
import {
  compareDecisions, explain, ExplainInputError, formatWhatIf, parseCallsCsv, parseMoneyArg, parseTime, summarize, whatIf,
} from '../../src/ops/explain.js';

const SHIPPED = new URL('../../config', import.meta.url).pathname;
const CALLEE = '13812345678';

async function load(dir: string): Promise<ConfigSnapshot> {
  const r = await loadConfig(dir);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.snapshot;
}

let cfg: ConfigSnapshot;
let tmp: string;
beforeAll(async () => {
  cfg = await load(SHIPPED);
  tmp = mkdtempSync(join(tmpdir(), 'dialgate-explain-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseTime', () => {
  it('reads offsets, Z, and local Beijing time without an offset', () => {
    const at = Date.parse('2026-11-23T12:00:00Z');
    expect(parseTime('2026-11-23T20:00:00+08:00')).toBe(at);
    expect(parseTime('2026-11-23T20:00')).toBe(at);
    expect(parseTime('2026-11-23 20:00:00')).toBe(at);
    expect(parseTime('2026-11-23T12:00:00Z')).toBe(at);
    expect(parseTime('2026-11-23T20:00:00+0800')).toBe(at);
    expect(parseTime('2026-11-23')).toBe(Date.parse('2026-11-22T16:00:00Z'));
  });
  it('refuses what is not a time', () => {
    expect(() => parseTime('tomorrow')).toThrow(ExplainInputError);
    expect(() => parseTime('2026-02-30T10:00')).toThrow(/not a valid date/);
    expect(() => parseTime('2026-11-23T25:00')).toThrow(ExplainInputError);
  });
});

describe('parseMoneyArg', () => {
  it('converts yuan exactly and refuses sub-unit amounts', () => {
    expect(parseMoneyArg('0.13')).toBe(1300);
    expect(parseMoneyArg('100')).toBe(1_000_000);
    expect(parseMoneyArg('-5.5', 'amount', true)).toBe(-55_000);
    expect(() => parseMoneyArg('-5.5')).toThrow(/negative/);
    expect(() => parseMoneyArg('0.00001')).toThrow(/4 decimals/);
  });
});

describe('explain on the shipped config (telesales, 08:00-19:30 Beijing)', () => {
  const at10 = parseTime('2026-11-23T10:00:00+08:00');
  const at20 = parseTime('2026-11-23T20:00:00+08:00');

  it('allows at 10:00 with trunks in failover order, request URIs, rate and cut-off', () => {
    const { decision, json } = explain(cfg, { call: { seatId: '1001', to: CALLEE }, now: at10, ledger: { available: parseMoneyArg('1.00') } });
    expect(json.decision).toBe('allow');
    expect(json.reason).toBeNull();
    expect(json.trunks.map((t) => t.trunk)).toEqual(['trunk-a', 'trunk-b']);
    expect(json.trunks[0]!.requestUri).toBe(`sip:${CALLEE}@127.0.0.1:5090`);
    expect(json.rate).toMatchObject({ ratePerMinute: 1300, ratePerMinuteYuan: '0.13', increments: '60/60' });
    // 1.00 yuan at 0.13 / 60 s pays 7 whole minutes.
    expect(json.maxDurationSeconds).toBe(420);
    expect(json.balance).toMatchObject({ source: 'argument', available: 10_000, availableYuan: '1.00' });
    expect(json.call).toMatchObject({ seatId: '1001', tenantId: 'telesales', from: '01088886601' });
    // The shipped tenant sets toll-fraud caps; explain does not read live counters, so the step is skipped.
    expect(json.trace.find((t) => t.step === 'fraud')).toMatchObject({ outcome: 'skip' });
    expect(json.trace.map((t) => t.step)).toEqual(['tenant', 'number', 'emergency', 'window', 'scope', 'blacklist', 'caller-id', 'concurrency', 'fraud', 'route', 'balance']);
    expect(decision.kind).toBe('allow');
  });

  it('denies at 20:00 outside the window, with the same reason and status as decideOutbound', () => {
    const { json } = explain(cfg, { call: { seatId: '1001', to: CALLEE }, now: at20, ledger: {} });
    const direct = decideOutbound({ callId: 'explain', seatId: '1001', tenantId: 'telesales', from: '01088886601', to: CALLEE }, cfg,
      { available: Number.MAX_SAFE_INTEGER, tenantActiveCalls: 0, trunkActiveCalls: new Map() }, at20);
    expect(direct.kind).toBe('deny');
    expect(json.decision).toBe('deny');
    expect(json.reason).toBe('outside-window');
    expect(json.reason).toBe(direct.kind === 'deny' ? direct.reason : null);
    expect(json.sipStatus).toBe(403);
    expect(json.reasonHeader).toBe('SIP ;cause=403 ;text="Outside dialing window"');
    expect(json.trace).toEqual(direct.trace);
    expect(json.trace.at(-1)).toMatchObject({ step: 'window', outcome: 'deny' });
  });

  it('a tenant alone uses its first seat; the balance is assumed unlimited and said so', () => {
    const { json } = explain(cfg, { call: { tenantId: 'telesales', to: CALLEE }, now: at10, ledger: {} });
    expect(json.decision).toBe('allow');
    expect(json.call.seatId).toBe('1001');
    expect(json.call.note).toMatch(/first seat/);
    expect(json.balance.source).toBe('assumed-unlimited');
    expect(json.maxDurationSeconds).toBeNull();
    expect(json.trace.at(-1)!.detail).toMatch(/assumed unlimited/);
  });

  it('denies 402 on a balance below one increment, and 486 when the ports are in use', () => {
    expect(explain(cfg, { call: { seatId: '1001', to: CALLEE }, now: at10, ledger: { available: 1299 } }).json)
      .toMatchObject({ decision: 'deny', reason: 'insufficient-balance', sipStatus: 402 });
    const max = cfg.tenants.get('telesales')!.maxConcurrent;
    expect(explain(cfg, { call: { seatId: '1001', to: CALLEE }, now: at10, ledger: { tenantActiveCalls: max } }).json)
      .toMatchObject({ decision: 'deny', reason: 'tenant-busy', sipStatus: 486 });
  });

  it('rejects a seat of another tenant as a user error; an unknown seat is denied like a live call', () => {
    expect(() => explain(cfg, { call: { seatId: '1001', tenantId: 'other', to: CALLEE }, now: at10, ledger: {} })).toThrow(ExplainInputError);
    expect(explain(cfg, { call: { seatId: '9999', to: CALLEE }, now: at10, ledger: {} }).json).toMatchObject({ decision: 'deny', reason: 'unknown-seat' });
  });

  it('never prints a secret', () => {
    const withSecret = { ...cfg, trunks: new Map([...cfg.trunks].map(([k, t]) => [k, { ...t, username: 'u', password: 'hunter2-secret' }])) } as ConfigSnapshot;
    const { json } = explain(withSecret, { call: { seatId: '1001', to: CALLEE }, now: at10, ledger: {} });
    expect(JSON.stringify(json)).not.toContain('hunter2');
    expect(JSON.stringify(json)).not.toMatch(/ha1/i);
  });
});

describe('what-if', () => {
  const CSV = [
    'from,to,time,tenant,seat,balance',
    `,${CALLEE},2026-11-23T08:30,telesales,,`,
    `01088886601,${CALLEE},2026-11-23T10:00:00+08:00,telesales,1001,`,
    `,${CALLEE},2026-11-23T19:00,telesales,1002,0.10`,
    `,${CALLEE},2026-11-23T20:00,telesales,,`,
    `"",${CALLEE},2026-11-23T18:30,telesales,,`,
  ].join('\r\n');

  it('parses the sample CSV (quotes, CRLF, optional columns) and reports bad rows by line', () => {
    const calls = parseCallsCsv(CSV);
    expect(calls).toHaveLength(5);
    expect(calls[1]).toEqual({ line: 3, from: '01088886601', to: CALLEE, time: '2026-11-23T10:00:00+08:00', tenant: 'telesales', seat: '1001' });
    expect(calls[2]!.balance).toBe('0.10');
    expect(() => parseCallsCsv('from,to,tenant\n1,2,3')).toThrow(/missing column "time"/);
    expect(() => parseCallsCsv('from,to,time,tenant,colour\n')).toThrow(/unknown column "colour"/);
    expect(() => parseCallsCsv(`from,to,time,tenant\n1,${CALLEE},,telesales`)).toThrow(/line 2/);
  });

  it('finds exactly the calls a narrower window changes', async () => {
    const proposedDir = join(tmp, 'proposed');
    cpSync(SHIPPED, proposedDir, { recursive: true });
    const tenants = join(proposedDir, 'tenants.yaml');
    writeFileSync(tenants, readFileSync(tenants, 'utf8').replace('"08:00-19:30"', '"09:00-18:00"'));
    const proposed = await load(proposedDir);
    expect(proposed.version).not.toBe(cfg.version);

    const report = whatIf(cfg, proposed, parseCallsCsv(CSV));
    expect(report.calls).toBe(5);
    // 08:30 and 18:30 flip allow → deny; 19:00 was a 402 (0.10 yuan) and becomes a window 403;
    // 10:00 stays allowed and 20:00 stays a window denial.
    expect(report.rows.map((r) => r.line)).toEqual([2, 4, 6]);
    expect(report).toMatchObject({ changed: 3, unchanged: 2, allowToDeny: 2, denyToAllow: 0 });
    const first = report.rows[0]!;
    expect(first.running).toMatchObject({ decision: 'allow', trunks: ['trunk-a', 'trunk-b'] });
    expect(first.proposed).toMatchObject({ decision: 'deny', reason: 'outside-window', sipStatus: 403 });
    expect(first.changes).toEqual(['decision', 'reason', 'status']);
    expect(report.rows[1]!.changes).toEqual(['reason', 'status']);
    expect(report.byChange).toEqual({ decision: 2, reason: 3, status: 3 });
    const text = formatWhatIf(report);
    expect(text).toMatch(/5 call\(s\): 3 changed, 2 unchanged \(allow→deny 2, deny→allow 0/);
    expect(text).toMatch(/line 2: .*08:30:00\+08:00/);
  });

  it('the same config changes nothing; a swapped trunk order is a trunks change', async () => {
    expect(whatIf(cfg, cfg, parseCallsCsv(CSV))).toMatchObject({ changed: 0, unchanged: 5, rows: [] });
    const dir = join(tmp, 'swapped');
    cpSync(SHIPPED, dir, { recursive: true });
    const routes = join(dir, 'routes.yaml');
    writeFileSync(routes, readFileSync(routes, 'utf8').replace('[trunk-a, trunk-b]', '[trunk-b, trunk-a]'));
    const report = whatIf(cfg, await load(dir), parseCallsCsv(CSV));
    expect(report.changed).toBe(3); // the allowed calls (08:30, 10:00, 18:30)
    expect(report.rows.every((r) => r.changes.join() === 'trunks')).toBe(true);
    expect(report.rows[0]!.proposed.trunks).toEqual(['trunk-b', 'trunk-a']);
  });

  it('compareDecisions lists each kind of change', () => {
    const at = parseTime('2026-11-23T10:00');
    const d = (available: number) => summarize(decideOutbound({ callId: 'x', seatId: '1001', tenantId: 'telesales', from: '', to: CALLEE }, cfg,
      { available, tenantActiveCalls: 0, trunkActiveCalls: new Map() }, at), false);
    expect(compareDecisions(d(100_000), d(200_000))).toEqual(['max-duration']);
    expect(compareDecisions(d(100_000), d(0))).toEqual(['decision', 'reason', 'status']);
  });
});
