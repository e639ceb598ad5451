// The trunks page's data (issue 14): each configured trunk as the running config has it, its live
// calls (the Redis trunk slots the call path takes), and its day from the CDR file of that Beijing
// day, read in one pass with the same iterator the CDR search uses.
import { iterateCdrs } from '../cdr/query.js';
import { BEIJING } from '../cdr/time.js';
import type { ConfigSnapshot } from '../config/types.js';
import { parseTime } from '../ops/explain.js';
import { TrunkDayTally, type TrunkDay } from './trunk-day.js';

export interface TrunkRow extends TrunkDay {
  /** Configured (false: named only by the day's CDRs, since removed). */
  configured: boolean;
  /** The carrier gateway's host:port (never its credentials). */
  gateway: string | null;
  /** maxConcurrent. */
  capacity: number | null;
  /** Routes using it and its failover tier there (lower first). */
  routes: { route: string; priority: number }[];
  /** Calls holding a slot on it now; null when Redis could not say. */
  liveCalls: number | null;
}

export interface TrunksDay { date: string; trunks: TrunkRow[] }

export async function readTrunksDay(cdrDir: string, cfg: ConfigSnapshot, date: string, liveCalls: (trunk: string) => Promise<number>): Promise<TrunksDay> {
  const from = parseTime(date, BEIJING);
  const tally = new TrunkDayTally();
  // Only CDRs with an attempt are worth parsing: denied calls and 400 calls to seats have none.
  for await (const c of iterateCdrs(cdrDir, { from, to: from + 86_400_000, lineHint: '"trunks":[{' })) tally.add(c);
  const ids = [...cfg.trunks.keys()];
  const live = await Promise.all(ids.map((id) => liveCalls(id).catch(() => null)));
  return {
    date,
    trunks: tally.result(ids).map((d) => {
      const t = cfg.trunks.get(d.trunk);
      const i = ids.indexOf(d.trunk);
      return {
        ...d,
        configured: !!t,
        gateway: t ? t.uri.replace(/^sips?:/, '').replace(/^[^@]*@/, '').replace(/;.*$/, '') : null,
        capacity: t ? t.maxConcurrent : null,
        routes: cfg.routes.flatMap((r) => r.trunks.flatMap((ref, pos) => (ref.trunk === d.trunk ? [{ route: r.id, priority: ref.priority ?? pos }] : []))),
        liveCalls: i >= 0 ? live[i]! : null,
      };
    }),
  };
}
