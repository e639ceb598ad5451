// /metrics through prom-client, read back with a Prometheus text parser: the call figures a CDR and
// an answer produce, label values that stay bounded, ledger timing, and a scrape that survives Redis.
import { describe, expect, it } from 'vitest';
import { buildCdr, type CdrInput } from '../../src/cdr/model.js';
import { LedgerError } from '../../src/ledger/types.js';
import type { FreeSwitchStatus } from '../../src/media/freeswitch-status.js';
import { OpsMetrics, timeOperations, trunkOfTarget } from '../../src/ops/metrics.js';
import { checkWithPromtool, histogramOf, parseExposition, PROMTOOL, valueOf } from '../helpers/prometheus-text.js';

const T = Date.UTC(2026, 10, 23, 2, 0, 0); // 10:00 Beijing

function cdr(over: Partial<CdrInput> = {}) {
  return buildCdr({
    cdrId: 'out-c1', callId: 'c1', direction: 'outbound', tenant: 'telesales', seat: '1001',
    callerRaw: '1001', calleeRaw: '13812345678', decision: 'allow', sipStatus: 200, route: 'domestic',
    trunks: [{ trunk: 'trunk-a', sipStatus: 503, at: T + 4 }, { trunk: 'trunk-b', sipStatus: 200, at: T + 30 }],
    inviteAt: T, ringAt: T + 1500, answerAt: T + 4000, endAt: T + 65_000, billableSeconds: 61,
    configVersion: 'v1', ...over,
  });
}

describe('OpsMetrics', () => {
  it('an answered call: attempts by route, trunk and status; every trunk attempt; talk time for ACD; setup and PDD at the answer', async () => {
    const m = new OpsMetrics();
    const c = cdr();
    m.callAnswered({ spec: { direction: 'outbound', inviteAt: T }, attempts: c.trunks.map((a) => ({ target: a.trunk, at: a.at })), ringAt: T + 1500, answerAt: T + 4000 });
    m.callEnded(c);
    const text = await m.render();
    const p = parseExposition(text);
    expect(p.get('dialgate_call_attempts_total')!.samples).toEqual([{ labels: { direction: 'outbound', route: 'domestic', trunk: 'trunk-b', status: '200' }, value: 1 }]);
    expect(valueOf(p, 'dialgate_trunk_attempts_total', { trunk: 'trunk-a', status: '503' })).toBe(1);
    expect(valueOf(p, 'dialgate_trunk_attempts_total', { trunk: 'trunk-b', status: '200' })).toBe(1);
    expect(histogramOf(text, 'dialgate_call_answered_seconds', { route: 'domestic', trunk: 'trunk-b' })).toMatchObject({ count: 1, sum: 61 });
    const setup = histogramOf(text, 'dialgate_call_setup_seconds', { direction: 'outbound' });
    expect(setup.count).toBe(1);
    expect(setup.sum).toBeCloseTo(0.004);
    expect(setup.buckets['0.005']).toBe(1);
    expect(setup.buckets['0.0025']).toBe(0);
    // The ring came while trunk B was being dialled: its delay is trunk B's.
    expect(histogramOf(text, 'dialgate_call_post_dial_delay_seconds', { trunk: 'trunk-b' })).toMatchObject({ count: 1, sum: 1.5 });
    expect(valueOf(p, 'dialgate_calls_total', { decision: 'allow', reason: '' })).toBe(1);
  });

  it('an unanswered call takes its setup figures from the CDR; a denial counts by reason with no trunk', async () => {
    const m = new OpsMetrics();
    m.callEnded(cdr({ sipStatus: 486, answerAt: null, billableSeconds: 0, ringAt: T + 900, trunks: [{ trunk: 'trunk-a', sipStatus: 486, at: T + 7 }] }));
    m.callEnded(cdr({ decision: 'deny', denyReason: 'outside-window', sipStatus: 403, route: null, trunks: [], ringAt: null, answerAt: null, billableSeconds: 0 }));
    const text = await m.render();
    const p = parseExposition(text);
    expect(valueOf(p, 'dialgate_call_attempts_total', { route: 'domestic', trunk: 'trunk-a', status: '486' })).toBe(1);
    expect(valueOf(p, 'dialgate_call_attempts_total', { route: '', trunk: '', status: '403' })).toBe(1);
    expect(valueOf(p, 'dialgate_calls_total', { decision: 'deny', reason: 'outside-window' })).toBe(1);
    expect(histogramOf(text, 'dialgate_call_setup_seconds', { direction: 'outbound' }).count).toBe(1);
    expect(histogramOf(text, 'dialgate_call_post_dial_delay_seconds', { trunk: 'trunk-a' })).toMatchObject({ count: 1, sum: 0.9 });
    expect(histogramOf(text, 'dialgate_call_answered_seconds').count).toBe(0);
  });

  it('a 400 call\'s forwarded leg counts against its trunk, never with the number it dialled as a label', async () => {
    const m = new OpsMetrics();
    m.callEnded(cdr({
      cdrId: 'in-c2', direction: 'inbound', route: 'sales', calleeRaw: '4008050508',
      trunks: [{ trunk: 'seat:1001', sipStatus: 480, at: T + 10 }, { trunk: 'number:13912345678@trunk-a', sipStatus: 200, at: T + 20 }],
    }));
    const text = await m.render();
    expect(text).not.toMatch(/13912345678|4008050508|1001|c2/);
    const p = parseExposition(text);
    expect(valueOf(p, 'dialgate_trunk_attempts_total', { trunk: 'trunk-a', status: '200' })).toBe(1);
    expect(p.get('dialgate_trunk_attempts_total')!.samples).toHaveLength(1);
    expect(valueOf(p, 'dialgate_call_attempts_total', { direction: 'inbound', route: 'sales', trunk: 'trunk-a' })).toBe(1);
    expect(trunkOfTarget('inbound', 'seat:1001')).toBeNull();
    expect(trunkOfTarget('outbound', 'trunk-b')).toBe('trunk-b');
  });

  it('CDR outcomes: written, spooled (also a Redis error), failed', async () => {
    const m = new OpsMetrics({ spoolDepth: async () => 3 });
    m.cdrWritten('written');
    m.cdrWritten('spooled');
    m.cdrFailed();
    const text = await m.render();
    const p = parseExposition(text);
    expect(valueOf(p, 'dialgate_cdrs_written_total')).toBe(2);
    expect(valueOf(p, 'dialgate_cdrs_spooled_total')).toBe(1);
    expect(valueOf(p, 'dialgate_cdr_write_failures_total')).toBe(1);
    expect(valueOf(p, 'dialgate_cdr_spool_depth')).toBe(3);
    expect(valueOf(p, 'dialgate_redis_errors_total', { op: 'cdr' })).toBe(1);
  });

  it('times ledger operations; a Redis failure is a Redis error, a business refusal is not', async () => {
    const m = new OpsMetrics();
    const store = {
      n: 0,
      async reserve(x: number) { this.n += x; return this.n; },
      async settle(): Promise<never> { throw new Error('Connection is closed.'); },
      async release(): Promise<never> { throw new LedgerError('NO_ACCOUNT', 'no ledger account x'); },
      // Not async: throws before returning a promise (ioredis with offline queueing off does).
      extend(): Promise<never> { throw new Error("Stream isn't writeable"); },
    };
    timeOperations(store, { reserve: 'reserve', settle: 'settle', release: 'release', extend: 'extend' }, m);
    expect(await store.reserve(2)).toBe(2); // `this` is kept
    await expect(store.settle()).rejects.toThrow('Connection is closed');
    await expect(store.release()).rejects.toThrow(LedgerError);
    // Still a rejection to the caller, timed and counted like the others.
    const sync = store.extend();
    expect(sync).toBeInstanceOf(Promise);
    await expect(sync).rejects.toThrow("Stream isn't writeable");
    const text = await m.render();
    const p = parseExposition(text);
    expect(valueOf(p, 'dialgate_redis_errors_total', { op: 'extend' })).toBe(1);
    for (const op of ['reserve', 'settle', 'release', 'extend']) expect(histogramOf(text, 'dialgate_ledger_operation_seconds', { op }).count).toBe(1);
    expect(valueOf(p, 'dialgate_redis_errors_total', { op: 'settle' })).toBe(1);
    expect(valueOf(p, 'dialgate_redis_errors_total', { op: 'release' })).toBe(0);
  });

  it('a scrape answers while Redis is away; gauges come from the running app; process metrics are there', async () => {
    const m = new OpsMetrics({
      liveCalls: () => 4, up: () => true, mediaConnected: () => false,
      registeredSeats: async () => { throw new Error('Connection is closed.'); },
      flood: () => ({ scannerDrops: 2, limited: { INVITE: 5 }, bans: 1, bannedNow: 1 }),
    });
    m.register(401);
    m.register(200);
    m.configReloaded(false);
    m.mediaDegraded();
    const text = await m.render();
    const p = parseExposition(text);
    expect(valueOf(p, 'dialgate_live_calls')).toBe(4);
    expect(valueOf(p, 'dialgate_up')).toBe(1);
    expect(valueOf(p, 'dialgate_media_server_connected')).toBe(0);
    expect(valueOf(p, 'dialgate_sip_registers_total', { status: '401' })).toBe(1);
    expect(valueOf(p, 'dialgate_sip_rate_limited_total', { method: 'INVITE' })).toBe(5);
    expect(valueOf(p, 'dialgate_sip_scanner_drops_total')).toBe(2);
    expect(valueOf(p, 'dialgate_config_reloads_total', { result: 'rejected' })).toBe(1);
    expect(valueOf(p, 'dialgate_media_degraded_total')).toBe(1);
    expect(m.mediaDegradedCalls).toBe(1);
    expect(p.get('nodejs_eventloop_lag_seconds')?.type).toBe('GAUGE');
    expect(p.get('process_cpu_seconds_total')?.type).toBe('COUNTER');
    expect(p.get('dialgate_call_setup_seconds')?.type).toBe('HISTOGRAM');
  });

  it('FreeSWITCH\'s health and load and the orphans killed, read at scrape; figures not reported yet are not exported', async () => {
    const fs: FreeSwitchStatus = {
      address: '10.0.0.9:8021', connected: true, sessions: 12, maxSessions: 1000, sessionsPerSecond: 3, sessionsPerSecondPeak5m: 9, idleCpu: 87.5,
      uptimeSeconds: 86_400, version: '1.10.12-release', reportedAt: 1, disconnects: 0, orphansKilled: 4, lastReconcile: null,
    };
    let now = fs;
    const m = new OpsMetrics({ freeswitch: () => now });
    const p = parseExposition(await m.render());
    expect(Object.fromEntries(['dialgate_fs_connected', 'dialgate_fs_sessions', 'dialgate_fs_max_sessions', 'dialgate_fs_sessions_per_second',
      'dialgate_fs_idle_cpu_ratio', 'dialgate_fs_uptime_seconds', 'dialgate_fs_orphans_killed_total'].map((n) => [n, valueOf(p, n)]))).toEqual({
      dialgate_fs_connected: 1, dialgate_fs_sessions: 12, dialgate_fs_max_sessions: 1000, dialgate_fs_sessions_per_second: 3,
      dialgate_fs_idle_cpu_ratio: 0.875, dialgate_fs_uptime_seconds: 86_400, dialgate_fs_orphans_killed_total: 4,
    });
    expect(p.get('dialgate_fs_orphans_killed_total')!.type).toBe('COUNTER');
    expect(p.get('dialgate_fs_idle_cpu_ratio')!.samples).toEqual([{ labels: { freeswitch: '10.0.0.9:8021' }, value: 0.875 }]);
    // The watcher never connected: only what is known.
    now = { ...fs, connected: false, sessions: 0, maxSessions: null, sessionsPerSecond: null, idleCpu: null, uptimeSeconds: null, orphansKilled: 0 };
    const down = parseExposition(await m.render());
    expect(valueOf(down, 'dialgate_fs_connected')).toBe(0);
    expect(down.get('dialgate_fs_idle_cpu_ratio')?.samples ?? []).toEqual([]);
    expect(down.get('dialgate_fs_max_sessions')?.samples ?? []).toEqual([]);
    // Without a media server there is no FreeSWITCH to describe; nothing was killed.
    const none = parseExposition(await new OpsMetrics({ freeswitch: () => null }).render());
    expect([...none.values()].filter((f) => f.name.startsWith('dialgate_fs_') && f.type === 'GAUGE').flatMap((f) => f.samples)).toEqual([]);
    expect(valueOf(none, 'dialgate_fs_orphans_killed_total')).toBe(0);
  });
});

describe.skipIf(PROMTOOL === null)('the exposition through promtool (Debian package prometheus)', () => {
  it('parses and lints clean after calls of every kind', async () => {
    const m = new OpsMetrics({ liveCalls: () => 1, registeredSeats: () => 2, up: () => true, mediaConnected: () => true, spoolDepth: () => 0,
      flood: () => ({ scannerDrops: 0, limited: { REGISTER: 1 }, bans: 0, bannedNow: 0 }) });
    m.callEnded(cdr());
    m.callEnded(cdr({ decision: 'deny', denyReason: 'blacklisted', sipStatus: 403, route: null, trunks: [], answerAt: null, ringAt: null, billableSeconds: 0 }));
    timeOperations({ async reserve() { return 1; } }, { reserve: 'reserve' }, m);
    m.register(200);
    expect(checkWithPromtool(await m.render())).toEqual([]);
  });
});
