// Caller analysis (002 §1.3 来电分析) from inbound CDRs, and `dialgate stats`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildCdr, type Cdr } from '../../src/cdr/model.js';
import { registerStatsCommand } from '../../src/ops/commands/stats.js';
import { analyseCalls } from '../../src/stats/caller-analysis.js';

const at = (local: string) => Date.parse(`${local}+08:00`);

function cdr(i: number, o: { at: string; region?: string; ringS?: number; talkS?: number; missed?: boolean; refused?: boolean; number?: string }): Cdr {
  const invite = at(o.at);
  const ringAt = o.refused ? null : invite + 1000;
  const answerAt = o.talkS !== undefined && ringAt !== null ? ringAt + (o.ringS ?? 0) * 1000 : null;
  const endAt = answerAt !== null ? answerAt + o.talkS! * 1000 : (ringAt ?? invite) + (o.ringS ?? 0) * 1000;
  return buildCdr({
    cdrId: `in-${i}`, callId: `${i}`, direction: 'inbound', tenant: 't', callerRaw: '0', calleeRaw: o.number ?? '4008050508',
    calleeNormalised: o.number ?? '4008050508', region: o.region ?? null, decision: o.refused ? 'deny' : 'allow',
    sipStatus: answerAt ? 200 : 480, inviteAt: invite, endAt, ringAt, answerAt, billableSeconds: o.talkS ?? 0, configVersion: 'v',
    ...(o.missed ? { hangupCause: 'no-answer' } : {}),
  });
}

const CDRS = [
  cdr(1, { at: '2026-11-23T09:10:00', region: '北京市', ringS: 4, talkS: 60 }),
  cdr(2, { at: '2026-11-23T09:40:00', region: '北京市', ringS: 6, talkS: 120 }),
  cdr(3, { at: '2026-11-23T10:05:00', region: '广东省广州市', ringS: 20, missed: true }),
  cdr(4, { at: '2026-11-23T20:00:00', refused: true }),
  cdr(5, { at: '2026-11-24T09:00:00', region: '北京市', ringS: 1, talkS: 10 }), // another day
  cdr(6, { at: '2026-11-23T09:00:00', region: '北京市', ringS: 1, talkS: 10, number: '4001112222' }), // another number
];

describe('analyseCalls', () => {
  it('counts calls, answered, missed and refused; averages ring and talk time; by region and by hour', () => {
    const a = analyseCalls(CDRS, '4008050508', '2026-11-23');
    expect(a).toMatchObject({ calls: 4, answered: 2, missed: 1, refused: 1, other: 0, avgRingSeconds: 10, avgTalkSeconds: 90 });
    expect(a.answerRate).toBeCloseTo(0.667, 3);
    expect(a.byRegion).toEqual([
      { region: '北京市', calls: 2, answered: 2, missed: 0, refused: 0, other: 0 },
      { region: 'unknown', calls: 1, answered: 0, missed: 0, refused: 1, other: 0 },
      { region: '广东省广州市', calls: 1, answered: 0, missed: 1, refused: 0, other: 0 },
    ]);
    expect(a.byHour[9]).toMatchObject({ calls: 2, answered: 2 });
    expect(a.byHour[10]).toMatchObject({ calls: 1, missed: 1 });
    expect(a.byHour[20]).toMatchObject({ calls: 1, refused: 1 });
    expect(a.byHour).toHaveLength(24);
  });
});

describe('dialgate stats', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dialgate-stats-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the day of a number as JSON from the CDR files', async () => {
    writeFileSync(join(dir, 'cdr-2026-11-23.jsonl'), CDRS.filter((c) => c.inviteIso.startsWith('2026-11-23')).map((c) => JSON.stringify(c)).join('\n') + '\n');
    writeFileSync(join(dir, 'cdr-2026-11-24.jsonl'), `${JSON.stringify(CDRS[4])}\n`);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
    try {
      const program = new Command().exitOverride();
      registerStatsCommand(program);
      await program.parseAsync(['node', 'dialgate', 'stats', '--dir', dir, '--number', '400-805-0508', '--date', '2026-11-23', '--json']);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(out)).toMatchObject({ number: '4008050508', date: '2026-11-23', calls: 4, answered: 2, missed: 1 });
  });
});
