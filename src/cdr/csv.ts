// CDR rows as RFC 4180 CSV for admins (Excel/WPS): CRLF lines, fields quoted when they hold a
// comma, quote, CR/LF or edge spaces, quotes doubled.
import { formatYuan, type Cdr } from './model.js';
import { zonedIso } from './time.js';

const COLUMNS: ReadonlyArray<readonly [string, (c: Cdr) => string | number | boolean | null]> = [
  ['cdrId', (c) => c.cdrId],
  ['callId', (c) => c.callId],
  ['direction', (c) => c.direction],
  ['tenant', (c) => c.tenant],
  ['seat', (c) => c.seat],
  ['callerRaw', (c) => c.callerRaw],
  ['callerPresented', (c) => c.callerPresented],
  ['calleeRaw', (c) => c.calleeRaw],
  ['calleeNormalised', (c) => c.calleeNormalised],
  ['numberClass', (c) => c.numberClass],
  ['region', (c) => c.region],
  ['decision', (c) => c.decision],
  ['denyReason', (c) => c.denyReason],
  ['sipStatus', (c) => c.sipStatus],
  ['trunks', (c) => c.trunks.map((t) => `${t.trunk}:${t.sipStatus}`).join(';')],
  ['inviteTime', (c) => c.inviteIso],
  ['ringTime', (c) => c.ringIso],
  ['answerTime', (c) => c.answerIso],
  ['endTime', (c) => c.endIso],
  ['billableSeconds', (c) => c.billableSeconds],
  ['billedSeconds', (c) => c.billedSeconds],
  ['cost', (c) => c.cost],
  ['costYuan', (c) => formatYuan(c.cost)],
  ['balanceAfter', (c) => c.balanceAfter],
  ['balanceAfterYuan', (c) => (c.balanceAfter === null ? null : formatYuan(c.balanceAfter))],
  ['hangupBy', (c) => c.hangupBy],
  ['hangupCause', (c) => c.hangupCause],
  ['recordingPath', (c) => c.recordingPath],
  ['media', (c) => c.media],
  ['mediaNote', (c) => c.mediaNote],
  ['configVersion', (c) => c.configVersion],
  ['recovered', (c) => c.recovered],
  ['trace', (c) => c.trace.map((s) => `${s.step}=${s.outcome}${s.detail ? `(${s.detail})` : ''}`).join(';')],
  // Added after the first release: last, so spreadsheets that read columns by position keep working.
  ['route', (c) => c.route ?? null],
  // Issue 13: blind transfers, "by>to@time:outcome(transferor s/target s)" joined by ';'.
  ['transfers', (c) => (c.transfers ?? []).map((t) => `${t.transferredBy}>${t.transferTo}@${zonedIso(t.at)}:${t.outcome}`
    + (t.transferorSeconds === null ? '' : `(${t.transferorSeconds}s/${t.targetSeconds ?? 0}s)`)).join(';') || null],
  ['transferredTo', (c) => (c.transfers ?? []).filter((t) => t.outcome === 'connected').at(-1)?.transferTo ?? null],
];

export const CSV_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name);

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

export function cdrToCsvRow(c: Cdr): string {
  return `${COLUMNS.map(([, get]) => csvField(get(c))).join(',')}\r\n`;
}

export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  let s = String(v);
  // Spreadsheet formula injection: a caller-supplied "=HYPERLINK(...)" must stay text. Phone
  // numbers like +8613800138000 are left alone so they still read as numbers.
  if (/^[=@\t\r]/.test(s) || (/^[+-]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s))) s = `'${s}`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
