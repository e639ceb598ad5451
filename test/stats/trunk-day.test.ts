// The trunks page's day: per-trunk attempts, answers, ASR, ACD and last failures from the CDRs'
// per-trunk attempts, read from a real CDR file in one pass (and fast on 100k CDRs).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigSnapshot, Trunk } from '../../src/config/types.js';
import { TrunkDayTally } from '../../src/stats/trunk-day.js';
import { readTrunksDay } from '../../src/stats/trunk-day-read.js';
import { sampleCdr, T } from '../cdr/fixtures.js';

const trunk = (id: string, max: number): Trunk => ({ id, uri: `sip:user@${id}.example:5060;transport=udp`, maxConcurrent: max, prefix: '', strip: 0, inboundSources: [], timeoutSeconds: 30, password: 'secret-pw' });
// The two fields the reader uses, as the config loader builds them.
const cfg = {
  trunks: new Map([['carrier-a', trunk('carrier-a', 30)], ['carrier-b', trunk('carrier-b', 60)], ['carrier-c', trunk('carrier-c', 5)]]),
  routes: [{ id: 'mobile', priority: 1, match: {}, trunks: [{ trunk: 'carrier-a', weight: 1 }, { trunk: 'carrier-b', weight: 1 }] }],
} as unknown as ConfigSnapshot;

describe('trunk day', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('counts attempts per trunk, answers on the trunk that answered, and keeps the newest failures', () => {
    const t = new TrunkDayTally(2);
    // a 503 → b answers 65 s; a 503 → b 486 (caller got 486); b answers 30 s directly; a cancelled 487.
    t.add(sampleCdr({ callId: 'x1', inviteAt: T }));
    t.add(sampleCdr({ callId: 'x2', inviteAt: T + 10_000, sipStatus: 486, answerAt: null, billableSeconds: 0, hangupCause: 'busy',
      trunks: [{ trunk: 'carrier-a', sipStatus: 503, at: T + 10_100 }, { trunk: 'carrier-b', sipStatus: 486, at: T + 10_300 }] }));
    t.add(sampleCdr({ callId: 'x3', inviteAt: T + 20_000, answerAt: T + 21_000, billableSeconds: 30, trunks: [{ trunk: 'carrier-b', sipStatus: 200, at: T + 20_100 }] }));
    t.add(sampleCdr({ callId: 'x4', inviteAt: T + 30_000, sipStatus: 487, answerAt: null, billableSeconds: 0, hangupCause: null,
      trunks: [{ trunk: 'carrier-a', sipStatus: 487, at: T + 30_100 }] }));
    // A 400 call: the seat does not answer (no trunk), then the forwarded number answers on carrier-b.
    t.add(sampleCdr({ callId: 'x5', direction: 'inbound', inviteAt: T + 40_000, answerAt: T + 50_000, billableSeconds: 0,
      trunks: [{ trunk: 'seat:1001', sipStatus: 408, at: T + 40_100 }, { trunk: 'number:13800138000@carrier-b', sipStatus: 200, at: T + 45_000 }] }));
    const rows = t.result(['carrier-a', 'carrier-b', 'carrier-c']);
    expect(rows.map((r) => r.trunk)).toEqual(['carrier-a', 'carrier-b', 'carrier-c']);
    const [a, b, c] = rows;
    expect(a).toMatchObject({ trunk: 'carrier-a', attempts: 3, answered: 0, asr: 0, acdSeconds: null });
    // Newest first, two kept.
    expect(a!.lastFailures).toEqual([
      { at: T + 30_100, callId: 'x4', sipStatus: 487, note: 'call ended 487' },
      { at: T + 10_100, callId: 'x2', sipStatus: 503, note: 'failed over to carrier-b' },
    ]);
    expect(b).toMatchObject({ attempts: 4, answered: 3, asr: 3 / 4, acdSeconds: 95 / 3, answeredSeconds: 95 });
    expect(b!.lastFailures).toEqual([{ at: T + 10_300, callId: 'x2', sipStatus: 486, note: 'call ended 486 (busy)' }]);
    expect(c).toMatchObject({ attempts: 0, asr: null, lastFailures: [] });
  });

  it('reads one Beijing day of CDR files with config and live calls, never the credentials; 100k CDRs in one pass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dialgate-trunk-day-'));
    dirs.push(dir);
    const N = 100_000;
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      // Every 4th call fails over from a to b; the rest answer on b; every 10th is denied (no attempts).
      const over = i % 10 === 0 ? { decision: 'deny' as const, denyReason: 'blacklisted', sipStatus: 403, trunks: [], answerAt: null, billableSeconds: 0 }
        : i % 4 === 0 ? {} : { trunks: [{ trunk: 'carrier-b', sipStatus: 200, at: T + i * 500 + 100 }] };
      lines.push(JSON.stringify(sampleCdr({ cdrId: `c${i}`, callId: `k${i}`, inviteAt: T + i * 500, endAt: T + i * 500 + 73_000, ...over })));
    }
    writeFileSync(join(dir, 'cdr-2025-03-01.jsonl'), `${lines.join('\n')}\n`);
    // The next day's file is not the asked day.
    writeFileSync(join(dir, 'cdr-2025-03-02.jsonl'), `${JSON.stringify(sampleCdr({ inviteAt: T + 86_400_000, endAt: T + 86_400_000 + 9000 }))}\n`);
    const started = performance.now();
    const day = await readTrunksDay(dir, cfg, '2025-03-01', async (id) => (id === 'carrier-b' ? 7 : 0));
    const ms = performance.now() - started;
    const failovers = Array.from({ length: N }, (_, i) => i).filter((i) => i % 10 !== 0 && i % 4 === 0).length;
    const answered = Array.from({ length: N }, (_, i) => i).filter((i) => i % 10 !== 0).length;
    const [a, b, c] = day.trunks;
    expect(a).toMatchObject({ trunk: 'carrier-a', configured: true, gateway: 'carrier-a.example:5060', capacity: 30, liveCalls: 0, attempts: failovers, answered: 0, routes: [{ route: 'mobile', priority: 0 }] });
    expect(a!.lastFailures[0]).toMatchObject({ sipStatus: 503, note: 'failed over to carrier-b' });
    expect(a!.lastFailures.length).toBe(5);
    expect(b).toMatchObject({ capacity: 60, liveCalls: 7, attempts: answered, answered, asr: 1, acdSeconds: 65, routes: [{ route: 'mobile', priority: 1 }] });
    expect(c).toMatchObject({ trunk: 'carrier-c', attempts: 0, routes: [] });
    expect(JSON.stringify(day)).not.toContain('secret-pw');
    expect(JSON.stringify(day)).not.toContain('user@');
    process.stdout.write(`trunk day over ${N} CDRs: ${ms.toFixed(0)} ms\n`);
    expect(ms).toBeLessThan(15_000);
  }, 60_000);
});
