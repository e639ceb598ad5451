// The outbound policy pipeline (issue 3 §2): a pure function of (call, config snapshot, ledger
// view, now). Live calls, `dialgate explain` and tests all call this; every step leaves a trace
// entry, and the first step that refuses decides the SIP status and Reason.
// Order: tenant → number → emergency → window → scope → blacklist → caller id → concurrency →
// route (with trunk capacity) → balance.
// Emergency numbers (110/119/120/122) are a decision of their own: they pass a suspended or
// expired tenant, the window, scope, blacklist and port limit, are never rated or cut off, and
// still need a route. Only an unknown seat or tenant (no identity) stops them.
import { formatYuan } from '../config/money.js';
import type { ConfigSnapshot, Seat, TariffRate, Tenant } from '../config/types.js';
import { type DialledNumber, normalizeNumber } from '../numbers/normalize.js';
import { maxBilledSecondsFor } from '../rating/rate.js';
import { tariffRateFor } from '../rating/tariff.js';
import { DEFAULT_TIME_ZONE, describe } from '../time/schedule.js';
import { formatLocalDate, localDateTime } from '../time/zone.js';
import { blacklistMatch } from './blacklist.js';
import { resolveCallerId } from './callerId.js';
import { DENY_REASONS, type DenyReason, reasonHeader } from './reasons.js';
import { findRoute, requestUri, trunkOrder } from './routing.js';
import type { Decision, Deny, LedgerView, OutboundCall, TraceEntry, TrunkChoice } from './types.js';

const REASON_HEADERS = new Map<DenyReason, string>(
  (Object.keys(DENY_REASONS) as DenyReason[]).map((r) => [r, reasonHeader(DENY_REASONS[r].sipStatus, DENY_REASONS[r].text)]),
);

function deny(
  call: OutboundCall, cfg: ConfigSnapshot, trace: TraceEntry[], reason: DenyReason, detail: string,
  tenant: Tenant | undefined, callee: DialledNumber | null,
): Deny {
  trace.push({ step: stepOf(reason), outcome: 'deny', detail });
  return {
    kind: 'deny',
    callId: call.callId,
    tenantId: call.tenantId,
    seatId: call.seatId,
    reason,
    sipStatus: DENY_REASONS[reason].sipStatus,
    reasonHeader: REASON_HEADERS.get(reason) ?? '',
    detail,
    announcement: tenant?.announcements[reason] ?? null,
    callee,
    configVersion: cfg.version,
    trace,
  };
}

/** The policy step a deny reason belongs to (also for denials found at run time). */
export function stepOf(reason: DenyReason): TraceEntry['step'] {
  switch (reason) {
    case 'unknown-seat': case 'unknown-tenant': case 'tenant-suspended': case 'tenant-closed':
    case 'tenant-not-yet-valid': case 'tenant-expired': return 'tenant';
    case 'malformed-number': return 'number';
    case 'outside-window': return 'window';
    case 'out-of-scope': return 'scope';
    case 'blacklisted': return 'blacklist';
    case 'caller-id-not-owned': return 'caller-id';
    case 'tenant-busy': return 'concurrency';
    case 'no-route': case 'trunks-full': return 'route';
    case 'no-rate': case 'insufficient-balance': case 'ledger-unavailable': return 'balance';
    case 'recording-unavailable': case 'webrtc-media-unavailable': case 'unsupported-body': case 'unusable-sdp': return 'media';
    case 'calls-per-second': case 'spend-per-hour': case 'spend-per-day': case 'callee-attempts': return 'fraud';
  }
}

/**
 * Tenant status: suspended in the config or the ledger, in arrears (001 §6(一): suspended until
 * paid), closed after 30 days in arrears (001 §6(二)5), or outside its service period (003 §7 /
 * 002 §3.11). Null when in service.
 */
function tenantStatus(tenant: Tenant, cfg: ConfigSnapshot, ledger: LedgerView, now: number): { reason: DenyReason; detail: string } | null {
  if (tenant.status === 'suspended') return { reason: 'tenant-suspended', detail: `tenant ${tenant.id} is suspended` };
  const zone = tenant.window?.timezone || cfg.server?.timezone || DEFAULT_TIME_ZONE;
  const s = ledger.standing;
  if (s?.status === 'closed') return { reason: 'tenant-closed', detail: `account ${tenant.account} is closed${s.arrears > 0 ? `, owing ${formatYuan(s.arrears)} yuan` : ''}` };
  if (s?.status === 'suspended') return { reason: 'tenant-suspended', detail: `account ${tenant.account} is suspended` };
  if (s && s.arrears > 0) {
    const since = s.arrearsSince === null ? '' : ` since ${formatLocalDate(localDateTime(zone, s.arrearsSince))}`;
    return { reason: 'tenant-suspended', detail: `account ${tenant.account} owes ${formatYuan(s.arrears)} yuan arrears${since}: suspended until paid (001 §6)` };
  }
  if (tenant.validFrom === undefined && tenant.validUntil === undefined) return null;
  // Validity dates are local dates in the tenant's zone: start inclusive, end exclusive.
  const today = formatLocalDate(localDateTime(zone, now));
  if (tenant.validFrom !== undefined && today < tenant.validFrom.slice(0, 10)) {
    return { reason: 'tenant-not-yet-valid', detail: `service starts ${tenant.validFrom}, today is ${today}` };
  }
  if (tenant.validUntil !== undefined && today >= tenant.validUntil.slice(0, 10)) {
    return { reason: 'tenant-expired', detail: `service ended ${tenant.validUntil}, today is ${today}` };
  }
  return null;
}

/** Any toll-fraud cap set on the tenant (issue 16). */
export function hasFraudCaps(t: Tenant): boolean {
  return t.maxCallsPerSecond !== undefined || t.maxAttemptsPerCalleePerDay !== undefined
    || t.maxSpendPerHour !== undefined || t.maxSpendPerDay !== undefined;
}

/** The first toll-fraud cap the tenant's counters reach; null when none is (or none is set). */
function fraudCheck(tenant: Tenant, ledger: LedgerView): { reason: DenyReason; detail: string } | null {
  const f = ledger.fraud;
  if (!f) return null;
  if (tenant.maxCallsPerSecond !== undefined && f.callsThisSecond >= tenant.maxCallsPerSecond) {
    return { reason: 'calls-per-second', detail: `${f.callsThisSecond} calls this second, cap ${tenant.maxCallsPerSecond}` };
  }
  if (tenant.maxSpendPerHour !== undefined && f.spentThisHour >= tenant.maxSpendPerHour) {
    return { reason: 'spend-per-hour', detail: `spent ${f.spentThisHour} this hour, cap ${tenant.maxSpendPerHour}` };
  }
  if (tenant.maxSpendPerDay !== undefined && f.spentToday >= tenant.maxSpendPerDay) {
    return { reason: 'spend-per-day', detail: `spent ${f.spentToday} today, cap ${tenant.maxSpendPerDay}` };
  }
  if (tenant.maxAttemptsPerCalleePerDay !== undefined && f.calleeAttemptsToday >= tenant.maxAttemptsPerCalleePerDay) {
    return { reason: 'callee-attempts', detail: `${f.calleeAttemptsToday} attempts to this number today, cap ${tenant.maxAttemptsPerCalleePerDay}` };
  }
  return null;
}

function describeNumber(n: DialledNumber): string {
  const region = n.region ? ` ${n.region.provinceZh}${n.region.cityZh === n.region.provinceZh ? '' : n.region.cityZh}` : '';
  return `${n.national} (${n.class}${region})`;
}

/** Decides an outbound seat call. Pure: no I/O, no clock; `now` is epoch ms. */
export function decideOutbound(call: OutboundCall, cfg: ConfigSnapshot, ledger: LedgerView, now: number): Decision {
  const trace: TraceEntry[] = [];

  // Tenant: identity first (nothing passes without it), then service status.
  const seat: Seat | undefined = cfg.seats.get(call.seatId);
  if (!seat || seat.tenant !== call.tenantId) {
    return deny(call, cfg, trace, 'unknown-seat', `seat ${call.seatId} is not a seat of tenant ${call.tenantId}`, undefined, null);
  }
  const tenant = cfg.tenants.get(call.tenantId);
  if (!tenant) return deny(call, cfg, trace, 'unknown-tenant', `tenant ${call.tenantId} is not configured`, undefined, null);
  const normalized = normalizeNumber(call.to);
  const emergency = normalized.ok && normalized.number.class === 'emergency';
  const status = tenantStatus(tenant, cfg, ledger, now);
  if (status && !emergency) return deny(call, cfg, trace, status.reason, status.detail, tenant, null);
  trace.push(status
    ? { step: 'tenant', outcome: 'skip', detail: `${status.detail}; waived for an emergency number` }
    : { step: 'tenant', outcome: 'pass', detail: `tenant ${tenant.id} active` });

  // The offer: a body that is not SDP, or SDP without audio, can set up no call at all.
  if (call.body === 'other') return deny(call, cfg, trace, 'unsupported-body', 'the INVITE body is not application/sdp', tenant, null);
  if (call.body === 'bad-sdp') return deny(call, cfg, trace, 'unusable-sdp', 'the SDP offer has no audio stream', tenant, null);

  // Number: normalise before any decision (484 when malformed).
  if (!normalized.ok) return deny(call, cfg, trace, 'malformed-number', normalized.error.message, tenant, null);
  const callee = normalized.number;
  trace.push({ step: 'number', outcome: 'pass', detail: describeNumber(callee) });

  if (emergency) {
    trace.push({ step: 'emergency', outcome: 'pass', detail: `${callee.national} is an emergency number: window, scope, blacklist, ports and balance not applied; not charged` });
    trace.push({ step: 'window', outcome: 'skip', detail: 'emergency' });
    trace.push({ step: 'scope', outcome: 'skip', detail: 'emergency' });
    trace.push({ step: 'blacklist', outcome: 'skip', detail: 'emergency' });
  } else {
    trace.push({ step: 'emergency', outcome: 'pass', detail: 'not an emergency number' });

    // 004 §3.2: outbound only inside the dialing window (08:00–19:30 Beijing time by contract).
    if (tenant.window) {
      const w = describe(tenant.window, now);
      const day = w.holidayName ? `${w.dayType} ${w.holidayName}` : w.dayType;
      const ranges = w.ranges.length ? w.ranges.map((r) => `${r.start}-${r.end}`).join(',') : 'closed';
      const coverage = w.calendarCovered ? '' : ' (no holiday data for this year)';
      const detail = `${w.localTime} ${w.weekday} ${day}${coverage}, window ${ranges}`;
      if (!w.within) return deny(call, cfg, trace, 'outside-window', detail, tenant, callee);
      trace.push({ step: 'window', outcome: 'pass', detail });
    } else {
      trace.push({ step: 'window', outcome: 'pass', detail: 'no dialing window configured' });
    }

    // 004 §6.3: calling outside the agreed scope is forbidden; international and premium are
    // only reachable when the tenant's allowed classes list them.
    if (!tenant.allowedClasses.includes(callee.class)) {
      return deny(call, cfg, trace, 'out-of-scope', `class ${callee.class} not in allowed classes [${tenant.allowedClasses.join(', ')}]`, tenant, callee);
    }
    trace.push({ step: 'scope', outcome: 'pass', detail: `class ${callee.class} allowed` });

    // Global list first, then the tenant's do-not-call list (004 §10.3 complaint numbers join it).
    const global = blacklistMatch(cfg.blacklist, callee.national);
    if (global) return deny(call, cfg, trace, 'blacklisted', `global blacklist: ${global}`, tenant, callee);
    const own = blacklistMatch(tenant.blacklist, callee.national);
    if (own) return deny(call, cfg, trace, 'blacklisted', `tenant blacklist: ${own}`, tenant, callee);
    trace.push({ step: 'blacklist', outcome: 'pass', detail: 'not listed' });
  }

  // 004 §2.2 own use only: present only numbers the tenant owns.
  const cid = resolveCallerId(tenant, seat, call.from, emergency);
  let callerId: string;
  switch (cid.kind) {
    case 'not-owned':
      return deny(call, cfg, trace, 'caller-id-not-owned', `caller id ${cid.presented || '(none)'} is not a number of tenant ${tenant.id}`, tenant, callee);
    case 'replaced':
      trace.push({ step: 'caller-id', outcome: 'replace', detail: `${cid.presented} not owned; presenting ${cid.callerId}` });
      callerId = cid.callerId;
      break;
    case 'default':
      trace.push({ step: 'caller-id', outcome: 'pass', detail: `no number presented; presenting ${cid.callerId}` });
      callerId = cid.callerId;
      break;
    case 'owned':
      trace.push({ step: 'caller-id', outcome: 'pass', detail: `${cid.callerId} owned` });
      callerId = cid.callerId;
      break;
  }

  // Without the ledger nothing can be reserved or counted: only an emergency call goes on.
  if (ledger.unavailable && !emergency) {
    return deny(call, cfg, trace, 'ledger-unavailable', 'balances and ports cannot be read (Redis unavailable)', tenant, callee);
  }
  // Purchased ports = concurrent calls of the tenant.
  if (emergency) {
    trace.push({ step: 'concurrency', outcome: 'skip', detail: 'emergency' });
  } else if (ledger.tenantActiveCalls >= tenant.maxConcurrent) {
    return deny(call, cfg, trace, 'tenant-busy', `${ledger.tenantActiveCalls} of ${tenant.maxConcurrent} ports in use`, tenant, callee);
  } else {
    trace.push({ step: 'concurrency', outcome: 'pass', detail: `${ledger.tenantActiveCalls} of ${tenant.maxConcurrent} ports in use` });
  }

  // Toll-fraud caps (issue 16): rate of new calls, spend, repeat dialling of one number.
  // Traced only for a tenant that sets a cap, so other tenants' traces read as before.
  if (hasFraudCaps(tenant)) {
    const fraud = emergency ? null : fraudCheck(tenant, ledger);
    if (fraud) return deny(call, cfg, trace, fraud.reason, fraud.detail, tenant, callee);
    trace.push({ step: 'fraud', outcome: emergency || !ledger.fraud ? 'skip' : 'pass', detail: emergency ? 'emergency' : ledger.fraud ? 'within caps' : 'counters not read' });
  }

  // Route and trunks (004 §2.6: other lines carry the calls when one fails). Full trunks are
  // skipped; an emergency call keeps them at the end of the list rather than giving up.
  const route = findRoute(cfg.routes, callee, tenant.id);
  if (!route) return deny(call, cfg, trace, 'no-route', `no route matches ${callee.national}`, tenant, callee);
  const trunks: TrunkChoice[] = [];
  const full: TrunkChoice[] = [];
  const skipped: string[] = [];
  for (const trunkId of trunkOrder(route, call.callId)) {
    const trunk = cfg.trunks.get(trunkId);
    if (!trunk) {
      skipped.push(`${trunkId} unknown`);
      continue;
    }
    const attempt = { trunkId, requestUri: requestUri(trunk, callee.national), callerId: trunk.callerId ?? callerId };
    const active = ledger.trunkActiveCalls.get(trunkId) ?? 0;
    if (active >= trunk.maxConcurrent) {
      skipped.push(`${trunkId} full ${active}/${trunk.maxConcurrent}`);
      full.push(attempt);
    } else {
      trunks.push(attempt);
    }
  }
  if (emergency) trunks.push(...full);
  const skippedText = skipped.length ? `; skipped ${skipped.join(', ')}` : '';
  if (trunks.length === 0) {
    return deny(call, cfg, trace, 'trunks-full', `route ${route.id}: no trunk available${skippedText}`, tenant, callee);
  }
  trace.push({ step: 'route', outcome: 'pass', detail: `route ${route.id}: ${trunks.map((t) => t.trunkId).join(' > ')}${skippedText}` });

  // Prepaid authorisation (issue 4 §3; 003 §2.2): the longest call the available balance pays
  // for; below one initial increment → 402. Emergency calls are never rated (issue 4 §8).
  let rate: TariffRate | null = null;
  let maxDurationSeconds: number | null = null;
  if (emergency) {
    trace.push({ step: 'balance', outcome: 'skip', detail: 'emergency: not charged, no cut-off' });
  } else {
    const tariff = cfg.tariffs.get(tenant.tariff);
    rate = tariff ? tariffRateFor(tariff, callee) : null;
    if (!rate) return deny(call, cfg, trace, 'no-rate', `tariff ${tenant.tariff} has no rate for ${callee.national}`, tenant, callee);
    maxDurationSeconds = maxBilledSecondsFor(rate, ledger.available);
    const terms = `${rate.ratePerMinute}/min ${rate.initialIncrement}/${rate.subsequentIncrement}`
      + `${rate.connectFee ? ` +${rate.connectFee} connect` : ''}`;
    if (maxDurationSeconds === 0) {
      return deny(call, cfg, trace, 'insufficient-balance', `available ${ledger.available} does not pay one increment at ${terms}`, tenant, callee);
    }
    trace.push({ step: 'balance', outcome: 'pass', detail: `available ${ledger.available} at ${terms}: max ${maxDurationSeconds ?? 'unlimited'} s` });
  }

  return {
    kind: 'allow',
    callId: call.callId,
    tenantId: tenant.id,
    seatId: seat.id,
    emergency,
    callerId,
    callee,
    routeId: route.id,
    trunks,
    media: route.media,
    recording: tenant.recording,
    recordingRequired: tenant.recordingRequired === true,
    rate,
    maxDurationSeconds,
    warningSeconds: tenant.warningSeconds,
    configVersion: cfg.version,
    trace,
  };
}
