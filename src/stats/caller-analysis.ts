// Caller analysis (002 §1.3 来电分析) per 400 number and local day, from the inbound CDRs: calls,
// answered, missed, refused, average ring and talk time, by caller region and by hour.
// Definitions (the same as the inbound call flow's):
// - calls: every inbound attempt to the number that day (refused ones included);
// - answered: a destination answered; missed: destinations were rung and none answered
//   (002 §3.5, the caller hanging up while it rang included); refused: closed, blacklisted, not in
//   service …; other: PIN failures and voicemail;
// - ring time: from when ringing the destinations began to the answer (answered calls) or the end
//   (missed calls); talk time: billable seconds of answered calls.
// Pure: CDRs in, a report out; reading the daily files is iterateCdrs' job.
import type { Cdr } from '../cdr/model.js';

export interface Counts { calls: number; answered: number; missed: number; refused: number; other: number }

export interface CallerAnalysis extends Counts {
  number: string;
  /** Local date, YYYY-MM-DD (Beijing time, like the CDR files). */
  date: string;
  /** Answered / calls that rang, 0..1 (null when none rang). */
  answerRate: number | null;
  avgRingSeconds: number | null;
  avgTalkSeconds: number | null;
  /** Caller region ("北京市", "广东省广州市", "unknown") → counts, most calls first. */
  byRegion: Array<{ region: string } & Counts>;
  /** Local hour 0..23 → counts (all 24 hours). */
  byHour: Array<{ hour: number } & Counts>;
}

const zero = (): Counts => ({ calls: 0, answered: 0, missed: 0, refused: 0, other: 0 });

export type Outcome = 'answered' | 'missed' | 'refused' | 'other';

export function outcomeOf(c: Cdr): Outcome {
  if (c.answerAt !== null) return 'answered';
  if (c.decision === 'deny') return 'refused';
  if (c.ringAt !== null && c.hangupCause !== 'pin-failed') return 'missed';
  return 'other';
}

function add(into: Counts, o: Outcome): void {
  into.calls++;
  into[o]++;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The analysis of one number's day; `cdrs` may hold other calls, they are filtered out. */
export function analyseCalls(cdrs: Iterable<Cdr>, number: string, date: string): CallerAnalysis {
  const total = zero();
  const regions = new Map<string, Counts>();
  const hours = Array.from({ length: 24 }, zero);
  let ringMs = 0, rung = 0, talk = 0;
  for (const c of cdrs) {
    if (c.direction !== 'inbound' || c.calleeNormalised !== number || !c.inviteIso.startsWith(date)) continue;
    const o = outcomeOf(c);
    add(total, o);
    const region = c.region ?? 'unknown';
    if (!regions.has(region)) regions.set(region, zero());
    add(regions.get(region)!, o);
    add(hours[Number(c.inviteIso.slice(11, 13))]!, o);
    if (c.ringAt !== null && (o === 'answered' || o === 'missed')) {
      ringMs += Math.max(0, (c.answerAt ?? c.endAt) - c.ringAt);
      rung++;
    }
    if (o === 'answered') talk += c.billableSeconds;
  }
  return {
    number, date, ...total,
    answerRate: total.answered + total.missed > 0 ? round1((1000 * total.answered) / (total.answered + total.missed)) / 1000 : null,
    avgRingSeconds: rung ? round1(ringMs / rung / 1000) : null,
    avgTalkSeconds: total.answered ? round1(talk / total.answered) : null,
    byRegion: [...regions].map(([region, c]) => ({ region, ...c })).sort((a, b) => b.calls - a.calls || (a.region < b.region ? -1 : 1)),
    byHour: hours.map((c, hour) => ({ hour, ...c })),
  };
}

/** A plain-text report for the CLI. */
export function formatAnalysis(a: CallerAnalysis): string {
  const pct = a.answerRate === null ? '-' : `${(a.answerRate * 100).toFixed(1)}%`;
  const lines = [
    `400 number ${a.number}, ${a.date} (Beijing time)`,
    `  calls ${a.calls}: answered ${a.answered}, missed ${a.missed}, refused ${a.refused}, other ${a.other}; answer rate ${pct}`,
    `  average ring ${a.avgRingSeconds ?? '-'} s, average talk ${a.avgTalkSeconds ?? '-'} s`,
    '  by region:',
    ...a.byRegion.map((r) => `    ${r.region.padEnd(12)} calls ${r.calls}, answered ${r.answered}, missed ${r.missed}, refused ${r.refused}`),
    '  by hour:',
    ...a.byHour.filter((h) => h.calls > 0).map((h) => `    ${String(h.hour).padStart(2, '0')}:00  calls ${h.calls}, answered ${h.answered}, missed ${h.missed}, refused ${h.refused}`),
  ];
  return `${lines.join('\n')}\n`;
}
