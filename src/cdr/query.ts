// Searching and exporting CDRs from the daily JSONL files (001 §1(二): searchable call records,
// export). Files are streamed line by line, and only the files of the days in range are opened.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { CSV_HEADER, cdrToCsvRow } from './csv.js';
import type { Cdr } from './model.js';
import { BEIJING, zonedDate } from './time.js';

export interface CdrQuery {
  /** Invite time, epoch ms, inclusive. */
  from?: number;
  /** Invite time, epoch ms, exclusive. */
  to?: number;
  tenant?: string;
  /** The seat's own calls: the caller seat of an outbound call, the answering seat of an inbound one. */
  seat?: string;
  /** Digits matched anywhere in caller or callee, raw or normalised; +86/0086 forms also match. */
  number?: string;
  /** Default 1000 for queryCdrs; exportCsv is unlimited unless given. */
  limit?: number;
  /** Matches to skip first (a page of a long result; the console pages server-side). */
  offset?: number;
  timeZone?: string;
  /**
   * Text every wanted line contains (e.g. '"calleeNormalised":"4008000001"'): other lines are
   * skipped without parsing. Only a shortcut: the filters above still decide.
   */
  lineHint?: string;
}

const FILE = /^cdr-(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** CDRs in file order (oldest day first, append order within a day). Torn lines are skipped. */
export async function* iterateCdrs(dir: string, q: CdrQuery = {}): AsyncGenerator<Cdr> {
  const tz = q.timeZone ?? BEIJING;
  const first = q.from === undefined ? '' : zonedDate(q.from, tz);
  const last = q.to === undefined ? '9999-99-99' : zonedDate(q.to - 1, tz);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const days = names
    .map((n) => FILE.exec(n)?.[1])
    .filter((d): d is string => d !== undefined && d >= first && d <= last)
    .sort();
  const match = matcher(q);
  // Parsing is most of a scan's cost: lines that cannot match are skipped unparsed. The writer
  // JSON-encodes each CDR whole, so a CDR of the tenant holds its "tenant":"<id>" text verbatim.
  const hints = [q.lineHint, q.tenant === undefined ? undefined : `"tenant":${JSON.stringify(q.tenant)}`,
    q.seat === undefined ? undefined : `"seat":${JSON.stringify(q.seat)}`].filter((h): h is string => !!h);
  let left = q.limit ?? Infinity;
  let skip = q.offset ?? 0;
  for (const day of days) {
    const input = createReadStream(join(dir, `cdr-${day}.jsonl`), 'utf8');
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (left <= 0) return;
        if (hints.length && !hints.every((h) => line.includes(h))) continue;
        const cdr = parseLine(line);
        if (!cdr || !match(cdr)) continue;
        if (skip > 0) { skip--; continue; }
        left--;
        yield cdr;
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }
}

export async function queryCdrs(dir: string, q: CdrQuery = {}): Promise<Cdr[]> {
  const out: Cdr[] = [];
  for await (const c of iterateCdrs(dir, { ...q, limit: q.limit ?? 1000 })) out.push(c);
  return out;
}

/**
 * The newest `limit` matching CDRs, newest first, from the last `days` days' files (a seat's
 * recent calls: the files are appended in time order, so only the tail of the scan is kept).
 */
export async function recentCdrs(dir: string, q: CdrQuery & { now: number; days?: number }, limit: number): Promise<Cdr[]> {
  const { now, days = 30, ...rest } = q;
  const keep: Cdr[] = [];
  for await (const c of iterateCdrs(dir, { ...rest, from: now - days * 86_400_000, to: now + 86_400_000 })) {
    keep.push(c);
    if (keep.length > limit) keep.shift();
  }
  return keep.sort((a, b) => b.inviteAt - a.inviteAt);
}

/** Writes the matching CDRs as CSV (header first) to `out`, honouring backpressure. */
export async function exportCsv(dir: string, q: CdrQuery, out: Writable, opts: { bom?: boolean } = {}): Promise<number> {
  const put = async (s: string) => { if (!out.write(s)) await once(out, 'drain'); };
  // A BOM makes Excel/WPS read UTF-8 (Chinese tenant names) instead of GBK.
  await put((opts.bom ? '\ufeff' : '') + CSV_HEADER);
  let n = 0;
  for await (const c of iterateCdrs(dir, q)) { await put(cdrToCsvRow(c)); n++; }
  return n;
}

function parseLine(line: string): Cdr | undefined {
  if (!line.trim()) return undefined;
  try {
    const v = JSON.parse(line) as Cdr;
    return typeof v === 'object' && v !== null && typeof v.cdrId === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function matcher(q: CdrQuery): (c: Cdr) => boolean {
  const needles = q.number === undefined ? [] : numberForms(q.number);
  return (c) => {
    if (q.from !== undefined && c.inviteAt < q.from) return false;
    if (q.to !== undefined && c.inviteAt >= q.to) return false;
    if (q.tenant !== undefined && c.tenant !== q.tenant) return false;
    if (q.seat !== undefined && c.seat !== q.seat) return false;
    if (q.number !== undefined) {
      const hay = [c.callerRaw, c.callerPresented, c.calleeRaw, c.calleeNormalised]
        .filter((s): s is string => typeof s === 'string');
      const forms = hay.flatMap((h) => [h, h.replace(/\D/g, '')]);
      if (!forms.some((h) => needles.some((n) => h.includes(n)))) return false;
    }
    return true;
  };
}

/** The query as typed, its digits, and its digits without a +86 / 0086 country prefix. */
function numberForms(n: string): string[] {
  const digits = n.replace(/\D/g, '');
  const national = digits.replace(/^(0086|86)(?=\d{9,})/, '');
  return [...new Set([n.trim(), digits, national])].filter((s) => s.length > 0);
}
