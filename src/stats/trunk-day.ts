// A trunk's day for the console's trunks page (issue 14): attempts, answers, ASR and ACD per
// trunk from the CDRs' per-trunk attempts, and the last few failures. Pure: the CDRs are fed one
// at a time (one pass over the day, nothing kept but counters and a short failure list per trunk).
import type { Cdr } from '../cdr/model.js';

export interface TrunkFailure {
  at: number;
  callId: string;
  sipStatus: number;
  /** What became of the call: the trunk it failed over to, or how it ended. */
  note: string;
}

export interface TrunkDay {
  trunk: string;
  attempts: number;
  answered: number;
  /** answered / attempts; null with no attempts. */
  asr: number | null;
  /** Answered seconds / answered calls; null with no answers. */
  acdSeconds: number | null;
  answeredSeconds: number;
  /** Newest first. */
  lastFailures: TrunkFailure[];
}

export const FAILURES_KEPT = 5;

/**
 * The trunk an attempt used: outbound attempts name it; a 400 call's attempts name a seat
 * (`seat:1001`, no trunk) or a forwarded number with its trunk (`number:138…@trunk-a`).
 */
export function trunkOf(target: string): string | null {
  if (target.startsWith('seat:')) return null;
  if (target.startsWith('number:')) return target.includes('@') ? target.slice(target.lastIndexOf('@') + 1) : null;
  return target;
}

interface Counter { attempts: number; answered: number; seconds: number; failures: TrunkFailure[] }

export class TrunkDayTally {
  private readonly byTrunk = new Map<string, Counter>();

  constructor(private readonly keep = FAILURES_KEPT) {}

  private counter(trunk: string): Counter {
    let c = this.byTrunk.get(trunk);
    if (!c) this.byTrunk.set(trunk, (c = { attempts: 0, answered: 0, seconds: 0, failures: [] }));
    return c;
  }

  add(cdr: Cdr): void {
    const tries = cdr.trunks;
    tries.forEach((a, i) => {
      const trunk = trunkOf(a.trunk);
      if (trunk === null) return;
      const c = this.counter(trunk);
      c.attempts++;
      // The call was answered on this trunk when it is the last attempt and the call has an answer.
      if (a.sipStatus >= 200 && a.sipStatus < 300 && cdr.answerAt !== null && i === tries.length - 1) {
        c.answered++;
        c.seconds += cdr.billableSeconds;
        return;
      }
      if (a.sipStatus < 300) return; // 2xx not carried to the caller (cancelled in the race): not a trunk failure
      const next = tries[i + 1];
      const note = next ? `failed over to ${trunkOf(next.trunk) ?? next.trunk}` : `call ended ${cdr.sipStatus}${cdr.hangupCause ? ` (${cdr.hangupCause})` : ''}`;
      c.failures.push({ at: a.at, callId: cdr.callId, sipStatus: a.sipStatus, note });
      // Only the newest few are shown: drop the oldest once over (CDRs arrive roughly in time order).
      if (c.failures.length > this.keep * 2) c.failures = newest(c.failures, this.keep);
    });
  }

  /** One row per trunk in `trunks` (configured order), then any other trunk the CDRs name. */
  result(trunks: readonly string[]): TrunkDay[] {
    const ids = [...trunks, ...[...this.byTrunk.keys()].filter((t) => !trunks.includes(t)).sort()];
    return ids.map((trunk) => {
      const c = this.byTrunk.get(trunk) ?? { attempts: 0, answered: 0, seconds: 0, failures: [] };
      return {
        trunk,
        attempts: c.attempts,
        answered: c.answered,
        asr: c.attempts ? c.answered / c.attempts : null,
        acdSeconds: c.answered ? c.seconds / c.answered : null,
        answeredSeconds: c.seconds,
        lastFailures: newest(c.failures, this.keep),
      };
    });
  }
}

function newest(f: TrunkFailure[], n: number): TrunkFailure[] {
  return [...f].sort((a, b) => b.at - a.at).slice(0, n);
}
