// Caller analysis of one 400 number's day read from the daily CDR files (the adapter beside the
// pure analyseCalls): only that day's file is opened, and only the number's inbound CDRs are kept.
import { iterateCdrs } from '../cdr/query.js';
import type { Cdr } from '../cdr/model.js';
import { BEIJING } from '../cdr/time.js';
import { parseTime } from '../ops/explain.js';
import { analyseCalls, type CallerAnalysis } from './caller-analysis.js';

/** `date` is YYYY-MM-DD, Beijing time like the CDR files. */
export async function analyseDay(cdrDir: string, number: string, date: string): Promise<CallerAnalysis> {
  const from = parseTime(date, BEIJING);
  const day: Cdr[] = [];
  for await (const c of iterateCdrs(cdrDir, { from, to: from + 86_400_000, lineHint: `"calleeNormalised":${JSON.stringify(number)}` })) {
    if (c.direction === 'inbound' && c.calleeNormalised === number) day.push(c);
  }
  return analyseCalls(day, number, date);
}
