// `dialgate explain` and the what-if comparison (issue 3 §6, issue 5 §5), as pure functions over
// config snapshots: no I/O and no clock. The CLI (ops/commands/explain.ts) reads the files and
// Redis and hands the results in here. Decisions come from the very decideOutbound live calls use.
import { parseYuan, formatYuan } from '../config/money.js';
import { redactSecrets } from '../config/secrets.js';
import type { ConfigSnapshot, Money, TariffRate } from '../config/types.js';
import { decideOutbound } from '../policy/decideOutbound.js';
import type { AccountStanding, Decision, LedgerView, TraceEntry } from '../policy/types.js';
import { DEFAULT_TIME_ZONE } from '../time/schedule.js';
import { formatLocalDateTime, localDateTime, offsetAt } from '../time/zone.js';

/** Balance used when neither --balance nor Redis says otherwise: the balance step never refuses. */
export const UNLIMITED_BALANCE: Money = Number.MAX_SAFE_INTEGER;

export class ExplainInputError extends Error {
  override name = 'ExplainInputError';
}

// ── time ────────────────────────────────────────────────────────────────────────────────────

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;
const ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An admin's time → epoch ms. With an offset ("2026-11-23T20:00:00+08:00", "…Z") it is that
 * instant; without one ("2026-11-23T20:00", "2026-11-23 20:00", "2026-11-23") it is local time
 * in `timeZone` (default Asia/Shanghai, the contracts' time). A date alone is its midnight.
 */
export function parseTime(text: string, timeZone = DEFAULT_TIME_ZONE): number {
  const s = text.trim();
  if (ZONED.test(s)) {
    const ms = Date.parse(s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isFinite(ms)) return ms;
  }
  const d = DATE_ONLY.exec(s);
  const l = LOCAL.exec(s);
  const parts = d ? [d[1], d[2], d[3], '0', '0', '0', '0'] : l ? [l[1], l[2], l[3], l[4], l[5], l[6] ?? '0', (l[7] ?? '0').padEnd(3, '0')] : null;
  if (!parts) {
    throw new ExplainInputError(`"${text}" is not a time; use ISO 8601, e.g. 2026-11-23T20:00:00+08:00 or 2026-11-23T20:00 (${timeZone})`);
  }
  const [y, mo, da, h, mi, se, ms] = parts.map(Number) as [number, number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 24 || mi > 59 || se > 59) throw new ExplainInputError(`"${text}" is not a valid time`);
  const asUtc = Date.UTC(y, mo - 1, da, h, mi, se, ms);
  if (new Date(asUtc).getUTCDate() !== da) throw new ExplainInputError(`"${text}" is not a valid date`);
  // Two passes find the offset in force at that local time (DST zones; Shanghai is fixed +08:00).
  let utc = asUtc - offsetAt(timeZone, asUtc);
  utc = asUtc - offsetAt(timeZone, utc);
  return utc;
}

/** Epoch ms → "2026-11-23T20:00:00+08:00" in the zone. */
export function formatTime(ms: number, timeZone = DEFAULT_TIME_ZONE): string {
  return formatLocalDateTime(localDateTime(timeZone, ms));
}

/** A yuan amount typed by an admin → Money, exactly (config's parser), or an input error. */
export function parseMoneyArg(text: string, what = 'amount', allowNegative = false): Money {
  const t = text.trim();
  const neg = allowNegative && t.startsWith('-');
  const r = parseYuan(neg ? t.slice(1) : t);
  if (!r.ok) throw new ExplainInputError(`${what}: ${r.reason}${r.hint ? ` (${r.hint})` : ''}`);
  return neg ? -r.value : r.value;
}

// ── one call ────────────────────────────────────────────────────────────────────────────────

export interface ExplainCall {
  /** Seat placing the call; its tenant is the call's tenant. */
  seatId?: string;
  /** Tenant, when no seat is named: the tenant's first seat (by id) places the call. */
  tenantId?: string;
  /** Caller id presented; default the seat's bound number. */
  from?: string;
  to: string;
  /** Call-ID: seeds weighted trunk selection, as the SIP Call-ID does for live calls. */
  callId?: string;
}

export interface ResolvedCall {
  callId: string;
  seatId: string;
  tenantId: string;
  from: string;
  to: string;
  /** How the seat was chosen, when it was not named. */
  note?: string;
}

/** Which seat/tenant/caller id the call is placed with, as a live INVITE would carry them. */
export function resolveCall(cfg: ConfigSnapshot, c: ExplainCall): ResolvedCall {
  const callId = c.callId ?? 'explain';
  if (c.seatId !== undefined) {
    const seat = cfg.seats.get(c.seatId);
    if (c.tenantId !== undefined && seat && seat.tenant !== c.tenantId) {
      throw new ExplainInputError(`seat ${c.seatId} belongs to tenant ${seat.tenant}, not ${c.tenantId}`);
    }
    // An unknown seat is left to decideOutbound, which denies it (unknown-seat) like a live call.
    return { callId, seatId: c.seatId, tenantId: seat?.tenant ?? c.tenantId ?? '', from: c.from ?? seat?.callerId ?? '', to: c.to };
  }
  if (c.tenantId === undefined) throw new ExplainInputError('name the caller: --seat ID or --tenant ID');
  const seat = [...cfg.seats.values()].filter((s) => s.tenant === c.tenantId).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
  if (!seat) {
    return { callId, seatId: '', tenantId: c.tenantId, from: c.from ?? '', to: c.to, note: `tenant ${c.tenantId} has no seat in this config` };
  }
  return { callId, seatId: seat.id, tenantId: c.tenantId, from: c.from ?? seat.callerId ?? '', to: c.to, note: `seat ${seat.id}: first seat of tenant ${c.tenantId}` };
}

export interface LedgerInputs {
  /** Available balance (balance − other calls' reservations); undefined = unlimited. */
  available?: Money;
  tenantActiveCalls?: number;
  trunkActiveCalls?: ReadonlyMap<string, number>;
  /** The account's standing as Redis has it (arrears, closure); undefined = not read. */
  standing?: AccountStanding;
}

/** The LedgerView decideOutbound reads, from what explain was told or read. */
export function ledgerView(l: LedgerInputs): LedgerView {
  return {
    available: l.available ?? UNLIMITED_BALANCE,
    tenantActiveCalls: l.tenantActiveCalls ?? 0,
    trunkActiveCalls: l.trunkActiveCalls ?? new Map(),
    ...(l.standing ? { standing: l.standing } : {}),
  };
}

export interface RateJson {
  class?: string;
  prefix?: string;
  ratePerMinute: Money;
  ratePerMinuteYuan: string;
  increments: string;
  connectFee: Money;
  connectFeeYuan: string;
}

function rateJson(r: TariffRate | null): RateJson | null {
  if (!r) return null;
  return {
    ...(r.class !== undefined ? { class: r.class } : {}),
    ...(r.prefix !== undefined ? { prefix: r.prefix } : {}),
    ratePerMinute: r.ratePerMinute,
    ratePerMinuteYuan: formatYuan(r.ratePerMinute),
    increments: `${r.initialIncrement}/${r.subsequentIncrement}`,
    connectFee: r.connectFee,
    connectFeeYuan: formatYuan(r.connectFee),
  };
}

export interface BalanceJson {
  /** Where the balance came from. */
  source: 'argument' | 'redis' | 'assumed-unlimited';
  /** Available money units, null when assumed unlimited. */
  available: Money | null;
  availableYuan: string | null;
  note?: string;
}

export interface ExplainJson {
  decision: 'allow' | 'deny';
  /** Deny reason (null when allowed). */
  reason: string | null;
  /** SIP final status a live call would get from dialgate (deny), null when it is routed. */
  sipStatus: number | null;
  /** RFC 3326 Reason header of a denial. */
  reasonHeader: string | null;
  detail: string | null;
  announcement: string | null;
  at: string;
  call: ResolvedCall;
  callee: { raw: string; national: string; class: string; region: string | null } | null;
  callerId: string | null;
  route: string | null;
  media: string | null;
  /** Trunks in failover order with the Request-URI each would receive. */
  trunks: { trunk: string; requestUri: string; callerId: string }[];
  emergency: boolean;
  /** Cut-off in answered seconds; null = not limited. */
  maxDurationSeconds: number | null;
  rate: RateJson | null;
  balance: BalanceJson;
  activeCalls: number;
  configVersion: string;
  trace: TraceEntry[];
}

function regionText(d: Decision): string | null {
  const r = d.callee?.region;
  if (!r) return null;
  return r.cityZh && r.cityZh !== r.provinceZh ? `${r.provinceZh}${r.cityZh}` : r.provinceZh;
}

/** Decision → the JSON explain prints, secrets redacted. */
export function decisionJson(d: Decision, call: ResolvedCall, now: number, view: LedgerView, balance: BalanceJson, timeZone = DEFAULT_TIME_ZONE): ExplainJson {
  const allow = d.kind === 'allow' ? d : null;
  const deny = d.kind === 'deny' ? d : null;
  // With an assumed unlimited balance the computed cut-off is meaningless (billions of seconds).
  const maxDuration = allow && balance.source !== 'assumed-unlimited' ? allow.maxDurationSeconds : null;
  const out: ExplainJson = {
    decision: d.kind,
    reason: deny?.reason ?? null,
    sipStatus: deny?.sipStatus ?? null,
    reasonHeader: deny?.reasonHeader ?? null,
    detail: deny?.detail ?? null,
    announcement: deny?.announcement ?? null,
    at: formatTime(now, timeZone),
    call,
    callee: d.callee ? { raw: d.callee.raw, national: d.callee.national, class: d.callee.class, region: regionText(d) } : null,
    callerId: allow?.callerId ?? null,
    route: allow?.routeId ?? null,
    media: allow?.media ?? null,
    trunks: allow?.trunks.map((t) => ({ trunk: t.trunkId, requestUri: t.requestUri, callerId: t.callerId })) ?? [],
    emergency: allow?.emergency ?? false,
    maxDurationSeconds: maxDuration,
    rate: rateJson(allow?.rate ?? null),
    balance,
    activeCalls: view.tenantActiveCalls,
    configVersion: d.configVersion,
    trace: d.trace.map((t) => balance.source === 'assumed-unlimited' && t.step === 'balance' && t.outcome === 'pass'
      ? { ...t, detail: 'balance assumed unlimited (no --balance, no --redis): not checked' }
      : t),
  };
  return redactSecrets(out);
}

export interface ExplainOptions {
  call: ExplainCall;
  now: number;
  ledger: LedgerInputs;
  balanceSource?: BalanceJson['source'];
  timeZone?: string;
}

/** Decides one call exactly as a live INVITE would be decided, and returns the printable result. */
export function explain(cfg: ConfigSnapshot, o: ExplainOptions): { decision: Decision; json: ExplainJson } {
  const call = resolveCall(cfg, o.call);
  const view = ledgerView(o.ledger);
  const decision = decideOutbound({ callId: call.callId, seatId: call.seatId, tenantId: call.tenantId, from: call.from, to: call.to }, cfg, view, o.now);
  const source = o.balanceSource ?? (o.ledger.available === undefined ? 'assumed-unlimited' : 'argument');
  const balance: BalanceJson = source === 'assumed-unlimited'
    ? { source, available: null, availableYuan: null, note: 'no --balance and no Redis: balance assumed unlimited' }
    : { source, available: view.available, availableYuan: formatYuan(view.available) };
  return { decision, json: decisionJson(decision, call, o.now, view, balance, o.timeZone) };
}

// ── what-if ─────────────────────────────────────────────────────────────────────────────────

export interface SampleCall {
  /** 1-based line in the CSV. */
  line: number;
  from: string;
  to: string;
  time: string;
  tenant: string;
  seat?: string;
  /** Yuan text; absent = the default balance. */
  balance?: string;
}

/** RFC 4180 fields of one CSV text (quotes, doubled quotes, CRLF); returns rows with their line. */
function csvRows(text: string): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let any = false;
  const s = text.replace(/^\ufeff/, '');
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') { quoted = true; any = true; continue; }
    if (ch === ',') { fields.push(field); field = ''; any = true; continue; }
    if (ch === '\r' && s[i + 1] === '\n') continue;
    if (ch === '\n') {
      fields.push(field);
      if (any || field.trim() !== '') rows.push({ line: rowLine, fields });
      fields = []; field = ''; any = false; line++; rowLine = line;
      continue;
    }
    field += ch;
    any = true;
  }
  if (quoted) throw new ExplainInputError(`calls CSV line ${rowLine}: unterminated quoted field`);
  fields.push(field);
  if (any || field.trim() !== '') rows.push({ line: rowLine, fields });
  return rows;
}

const REQUIRED = ['from', 'to', 'time', 'tenant'] as const;
const OPTIONAL = ['seat', 'balance'] as const;

/** Sample calls from a CSV with a header row: from,to,time,tenant[,seat][,balance]. # lines are comments. */
export function parseCallsCsv(text: string): SampleCall[] {
  const rows = csvRows(text).filter((r) => !(r.fields[0] ?? '').trimStart().startsWith('#'));
  const header = rows.shift();
  if (!header) throw new ExplainInputError('calls CSV is empty: expected a header row from,to,time,tenant[,seat,balance]');
  const cols = header.fields.map((f) => f.trim().toLowerCase());
  for (const c of REQUIRED) {
    if (!cols.includes(c)) throw new ExplainInputError(`calls CSV line ${header.line}: missing column "${c}" (header must name from,to,time,tenant; optional seat,balance)`);
  }
  const unknown = cols.find((c) => c !== '' && !(REQUIRED as readonly string[]).includes(c) && !(OPTIONAL as readonly string[]).includes(c));
  if (unknown) throw new ExplainInputError(`calls CSV line ${header.line}: unknown column "${unknown}" (known: ${[...REQUIRED, ...OPTIONAL].join(', ')})`);
  const idx = (c: string) => cols.indexOf(c);
  return rows.map((r) => {
    const get = (c: string): string | undefined => {
      const i = idx(c);
      const v = i >= 0 ? r.fields[i]?.trim() : undefined;
      return v === '' ? undefined : v;
    };
    const to = get('to');
    const time = get('time');
    const tenant = get('tenant');
    if (to === undefined || time === undefined || tenant === undefined) {
      throw new ExplainInputError(`calls CSV line ${r.line}: "to", "time" and "tenant" must not be empty`);
    }
    const call: SampleCall = { line: r.line, from: get('from') ?? '', to, time, tenant };
    const seat = get('seat');
    const balance = get('balance');
    if (seat !== undefined) call.seat = seat;
    if (balance !== undefined) call.balance = balance;
    return call;
  });
}

export type ChangeKind = 'decision' | 'reason' | 'status' | 'trunks' | 'route' | 'caller-id' | 'rate' | 'max-duration';

/** The comparable essence of a decision. */
export interface DecisionSummary {
  decision: 'allow' | 'deny';
  reason: string | null;
  /** Deny status, or null for an allowed (routed) call. */
  sipStatus: number | null;
  detail: string | null;
  route: string | null;
  trunks: string[];
  callerId: string | null;
  rate: string | null;
  maxDurationSeconds: number | null;
  configVersion: string;
}

export function summarize(d: Decision, unlimited: boolean): DecisionSummary {
  if (d.kind === 'deny') {
    return { decision: 'deny', reason: d.reason, sipStatus: d.sipStatus, detail: d.detail, route: null, trunks: [], callerId: null, rate: null, maxDurationSeconds: null, configVersion: d.configVersion };
  }
  const r = d.rate;
  return {
    decision: 'allow', reason: null, sipStatus: null, detail: null, route: d.routeId, trunks: d.trunks.map((t) => t.trunkId),
    callerId: d.callerId,
    rate: r ? `${formatYuan(r.ratePerMinute)}/min ${r.initialIncrement}/${r.subsequentIncrement}${r.connectFee ? ` +${formatYuan(r.connectFee)}` : ''}` : null,
    maxDurationSeconds: unlimited ? null : d.maxDurationSeconds,
    configVersion: d.configVersion,
  };
}

export function compareDecisions(a: DecisionSummary, b: DecisionSummary): ChangeKind[] {
  const out: ChangeKind[] = [];
  if (a.decision !== b.decision) out.push('decision');
  if (a.reason !== b.reason) out.push('reason');
  if (a.sipStatus !== b.sipStatus) out.push('status');
  if (a.decision === 'allow' && b.decision === 'allow') {
    if (a.route !== b.route) out.push('route');
    if (a.trunks.join('>') !== b.trunks.join('>')) out.push('trunks');
    if (a.callerId !== b.callerId) out.push('caller-id');
    if (a.rate !== b.rate) out.push('rate');
    if (a.maxDurationSeconds !== b.maxDurationSeconds) out.push('max-duration');
  }
  return out;
}

export interface WhatIfRow {
  line: number;
  call: { from: string; to: string; time: string; at: string; tenant: string; seat: string };
  running: DecisionSummary;
  proposed: DecisionSummary;
  changes: ChangeKind[];
}

export interface WhatIfReport {
  runningVersion: string;
  proposedVersion: string;
  calls: number;
  changed: number;
  unchanged: number;
  /** Counts of changed calls per kind of change, and the allow/deny flips. */
  byChange: Partial<Record<ChangeKind, number>>;
  allowToDeny: number;
  denyToAllow: number;
  /** Only the calls whose decision changed. */
  rows: WhatIfRow[];
}

export interface WhatIfOptions {
  /** Balance for rows without one; undefined = unlimited. */
  defaultAvailable?: Money;
  tenantActiveCalls?: number;
  trunkActiveCalls?: ReadonlyMap<string, number>;
  timeZone?: string;
}

/** Decides every sample call against both snapshots; reports the calls whose outcome differs. */
export function whatIf(running: ConfigSnapshot, proposed: ConfigSnapshot, calls: readonly SampleCall[], o: WhatIfOptions = {}): WhatIfReport {
  const tz = o.timeZone ?? running.server?.timezone ?? DEFAULT_TIME_ZONE;
  const report: WhatIfReport = {
    runningVersion: running.version, proposedVersion: proposed.version,
    calls: calls.length, changed: 0, unchanged: 0, byChange: {}, allowToDeny: 0, denyToAllow: 0, rows: [],
  };
  for (const c of calls) {
    let now: number;
    try {
      now = parseTime(c.time, tz);
    } catch (e) {
      throw new ExplainInputError(`calls CSV line ${c.line}: ${(e as Error).message}`);
    }
    let available = o.defaultAvailable;
    if (c.balance !== undefined) {
      try {
        available = parseMoneyArg(c.balance, 'balance');
      } catch (e) {
        throw new ExplainInputError(`calls CSV line ${c.line}: ${(e as Error).message}`);
      }
    }
    // The same seat (and Call-ID, which seeds weighted trunk choice) on both sides, so only the
    // config differs. The seat is picked from the running config when the row names none.
    const input: ExplainCall = { tenantId: c.tenant, to: c.to, callId: `whatif-${c.line}`, ...(c.from ? { from: c.from } : {}) };
    if (c.seat !== undefined) input.seatId = c.seat;
    let base = resolveCall(running, input);
    if (!base.seatId) base = resolveCall(proposed, input);
    const fixed: ExplainCall = { seatId: base.seatId, tenantId: c.tenant, to: c.to, callId: base.callId, ...(c.from ? { from: c.from } : {}) };
    const view = ledgerView({ ...(available !== undefined ? { available } : {}), tenantActiveCalls: o.tenantActiveCalls ?? 0, trunkActiveCalls: o.trunkActiveCalls ?? new Map() });
    const decide = (cfg: ConfigSnapshot) => {
      const rc = resolveCallLenient(cfg, fixed);
      return summarize(decideOutbound({ callId: rc.callId, seatId: rc.seatId, tenantId: rc.tenantId, from: rc.from, to: rc.to }, cfg, view, now), available === undefined);
    };
    const a = decide(running);
    const b = decide(proposed);
    const changes = compareDecisions(a, b);
    if (changes.length === 0) {
      report.unchanged++;
      continue;
    }
    report.changed++;
    for (const k of changes) report.byChange[k] = (report.byChange[k] ?? 0) + 1;
    if (a.decision === 'allow' && b.decision === 'deny') report.allowToDeny++;
    if (a.decision === 'deny' && b.decision === 'allow') report.denyToAllow++;
    report.rows.push({
      line: c.line,
      call: { from: c.from, to: c.to, time: c.time, at: formatTime(now, tz), tenant: c.tenant, seat: base.seatId },
      running: a, proposed: b, changes,
    });
  }
  return redactSecrets(report);
}

/** resolveCall without the seat/tenant mismatch error: a seat moved to another tenant is a change. */
function resolveCallLenient(cfg: ConfigSnapshot, c: ExplainCall): ResolvedCall {
  const seat = c.seatId !== undefined ? cfg.seats.get(c.seatId) : undefined;
  return { callId: c.callId ?? 'explain', seatId: c.seatId ?? '', tenantId: c.tenantId ?? seat?.tenant ?? '', from: c.from ?? seat?.callerId ?? '', to: c.to };
}

function describeSide(s: DecisionSummary): string {
  if (s.decision === 'deny') return `deny ${s.sipStatus} ${s.reason}`;
  return `allow via ${s.route} [${s.trunks.join(' > ')}]${s.rate ? ` at ${s.rate}` : ''}`;
}

/** Human-readable what-if report. */
export function formatWhatIf(r: WhatIfReport): string {
  const lines: string[] = [];
  lines.push(`running ${r.runningVersion.slice(0, 12)} vs proposed ${r.proposedVersion.slice(0, 12)}`);
  for (const row of r.rows) {
    const who = `line ${row.line}: ${row.call.tenant}/${row.call.seat || '-'} ${row.call.from || '(seat number)'} → ${row.call.to} at ${row.call.at}`;
    lines.push(who);
    lines.push(`  running:  ${describeSide(row.running)}${row.running.detail ? ` (${row.running.detail})` : ''}`);
    lines.push(`  proposed: ${describeSide(row.proposed)}${row.proposed.detail ? ` (${row.proposed.detail})` : ''}`);
    lines.push(`  changed:  ${row.changes.join(', ')}`);
  }
  const kinds = Object.entries(r.byChange).map(([k, n]) => `${k} ${n}`).join(', ');
  lines.push(`${r.calls} call(s): ${r.changed} changed, ${r.unchanged} unchanged`
    + (r.changed ? ` (allow→deny ${r.allowToDeny}, deny→allow ${r.denyToAllow}; ${kinds})` : ''));
  return lines.join('\n');
}
