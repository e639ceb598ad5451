// The inbound (400) pipeline (issue 6 §2): a pure function of (call, config snapshot, ledger view,
// now), like decideOutbound. Every step leaves a trace entry; the first that refuses decides.
// Order: source (carrier allow-list) → number (a configured 400 number) → status (002 §2.3) →
// package balance (002 §2.3) → caller → blacklist (number, then owner tenant) → time strategy →
// region strategy → destination group and its overflow chain → PIN → welcome → balance (cut-off).
// The member order within a group is decided at ring time by `distribute` (distribution.ts), from
// the shared state the adapter reads atomically then.
import type { ConfigSnapshot, DestinationGroup, Plan400, Plan400Action, TariffRate } from '../../config/types.js';
import { normalizeNumber, type DialledNumber } from '../../numbers/normalize.js';
import { regionMatches } from '../../numbers/region.js';
import { maxBilledSecondsFor } from '../../rating/rate.js';
import { tariffRateFor } from '../../rating/tariff.js';
import { DEFAULT_TIME_ZONE, describe } from '../../time/schedule.js';
import { blacklistMatch } from '../blacklist.js';
import { reasonHeader } from '../reasons.js';
import { findRoute, requestUri, trunkOrder } from '../routing.js';
import type { TrunkChoice } from '../types.js';
import { INBOUND_DENY, type InboundDenyReason } from './reasons.js';
import { carrierTrunkFor } from './sources.js';
import { numberStatus } from './status.js';
import type {
  InboundCall, InboundConnect, InboundDecision, InboundReject, InboundStep, InboundTraceEntry, InboundView, RouteGroup, RouteMember,
} from './types.js';

const STEP: Readonly<Record<InboundDenyReason, InboundStep>> = {
  'unknown-source': 'source', 'unknown-number': 'number', 'number-reclaimed': 'status', 'not-in-service': 'status',
  'package-used-up': 'package', 'caller-blacklisted': 'blacklist', 'closed': 'time', 'no-destination': 'group',
  'media-unavailable': 'pin', 'ledger-unavailable': 'package',
};

interface Ctx {
  call: InboundCall;
  cfg: ConfigSnapshot;
  trace: InboundTraceEntry[];
  number: string | null;
  owner: string | null;
  trunkId: string | null;
  caller: DialledNumber | null;
}

function reject(c: Ctx, reason: InboundDenyReason, detail: string, announcement: string | null = null): InboundReject {
  c.trace.push({ step: STEP[reason], outcome: 'deny', detail });
  const d = INBOUND_DENY[reason];
  return {
    kind: 'reject', callId: c.call.callId, number: c.number, owner: c.owner, trunkId: c.trunkId, callerRaw: c.call.from,
    caller: c.caller, configVersion: c.cfg.version, trace: c.trace,
    reason, sipStatus: d.sipStatus, reasonHeader: d.text ? reasonHeader(d.sipStatus, d.text) : null, detail,
    announcement: announcement || null,
  };
}

/** "北京市" / "广东省广州市": the region as CDRs and stats show it. */
export function regionLabel(n: DialledNumber | null): string | null {
  if (!n?.region) return null;
  const r = n.region;
  return r.cityZh === r.provinceZh ? r.provinceZh : `${r.provinceZh}${r.cityZh}`;
}

/** Resolves a group's members against the config; members that cannot be reached are left out. */
function resolveGroup(g: DestinationGroup, plan: Plan400, cfg: ConfigSnapshot, callId: string, notes: string[]): RouteGroup {
  const owner = cfg.tenants.get(plan.owner);
  const tariff = owner ? cfg.tariffs.get(owner.tariff) : undefined;
  const members: RouteMember[] = [];
  for (const m of g.members) {
    const noAnswerSeconds = m.noAnswerSeconds ?? g.noAnswerSeconds;
    if (m.kind === 'seat') {
      const seat = cfg.seats.get(m.seat);
      if (!seat || seat.tenant !== plan.owner) {
        notes.push(`seat ${m.seat} not a seat of ${plan.owner}`);
        continue;
      }
      members.push({ key: `seat:${m.seat}`, kind: 'seat', seat: m.seat, weight: m.weight, noAnswerSeconds });
      continue;
    }
    // 002 §1.3 号码绑定: landlines and mobiles through the owner's outbound routing and tariff.
    const n = normalizeNumber(m.number);
    if (!n.ok) {
      notes.push(`${m.number} malformed`);
      continue;
    }
    const rate = tariff ? tariffRateFor(tariff, n.number) : null;
    let trunkIds: string[] = [];
    if (m.trunks?.length) trunkIds = m.trunks;
    else {
      const route = findRoute(cfg.routes, n.number, plan.owner);
      if (route) trunkIds = trunkOrder(route, callId);
    }
    const trunks: TrunkChoice[] = trunkIds.flatMap((id) => {
      const t = cfg.trunks.get(id);
      return t ? [{ trunkId: id, requestUri: requestUri(t, n.number.national), callerId: '' }] : [];
    });
    if (!trunks.length || !rate) {
      notes.push(`${n.number.national} ${trunks.length ? 'not rated by the owner tariff' : 'has no route'}`);
      continue;
    }
    members.push({ key: `number:${n.number.national}`, kind: 'number', number: n.number.national, weight: m.weight, noAnswerSeconds, trunks, rate });
  }
  return { id: g.id, strategy: g.strategy, noAnswerSeconds: g.noAnswerSeconds, members };
}

/** The group and its overflow chain (each group once). */
function groupChain(plan: Plan400, first: string): DestinationGroup[] {
  const out: DestinationGroup[] = [];
  const seen = new Set<string>();
  for (let id: string | undefined = first; id !== undefined && !seen.has(id);) {
    seen.add(id);
    const g = plan.groups.find((x) => x.id === id);
    if (!g) break;
    out.push(g);
    id = g.overflow;
  }
  return out;
}

function describeCaller(n: DialledNumber | null, raw: string): string {
  if (!n) return `${raw || '(anonymous)'}: not a number, no region`;
  return `${n.national} (${n.class}${n.region ? ` ${regionLabel(n)}` : ', region unknown'})`;
}

/** Decides an inbound call to a 400 number. Pure: no I/O, no clock; `now` is epoch ms. */
export function decideInbound(call: InboundCall, cfg: ConfigSnapshot, view: InboundView, now: number): InboundDecision {
  const c: Ctx = { call, cfg, trace: [], number: null, owner: null, trunkId: null, caller: null };

  const trunk = carrierTrunkFor(cfg, call.sourceIp, call.sourcePort);
  if (!trunk) return reject(c, 'unknown-source', `${call.sourceIp}:${call.sourcePort} is not an inbound source of any trunk`);
  c.trunkId = trunk.id;
  c.trace.push({ step: 'source', outcome: 'pass', detail: `carrier trunk ${trunk.id} (${call.sourceIp}:${call.sourcePort})` });

  const dialled = normalizeNumber(call.to);
  const plan = dialled.ok ? cfg.plans400?.get(dialled.number.national) : undefined;
  if (!plan) return reject(c, 'unknown-number', `${dialled.ok ? dialled.number.national : call.to} is not a configured 400 number`);
  c.number = plan.number;
  c.owner = plan.owner;
  c.trace.push({ step: 'number', outcome: 'pass', detail: `plan ${plan.number} (${plan.name}), owner ${plan.owner}` });

  // 002 §2.3: expired, suspended → service stopped; 7 days on → reclaimed (404 like an unknown number).
  const zone = cfg.server?.timezone || DEFAULT_TIME_ZONE;
  const status = numberStatus(plan, cfg.tenants.get(plan.owner), now, zone);
  if (status.kind === 'reclaimed') return reject(c, 'number-reclaimed', status.detail);
  if (status.kind === 'not-in-service') return reject(c, 'not-in-service', status.detail, plan.announcements.notInService);
  // A package account that owes arrears (an unpaid minimum or rent) or was closed for them stops
  // the number like a used-up package (002 §2.3): 480 and the announcement, never a 403 that
  // would tell the public caller the owner's account is in debt (001 §6 suspends the account).
  const standing = view.standing;
  if (standing && (standing.status !== 'active' || standing.arrears > 0)) {
    const why = standing.status === 'closed' ? 'is closed' : standing.status === 'suspended' ? 'is suspended' : `owes ${standing.arrears} arrears (001 §6)`;
    return reject(c, 'not-in-service', `package account ${plan.account} ${why}`, plan.announcements.notInService);
  }
  c.trace.push({ step: 'status', outcome: 'pass', detail: status.detail });

  // 002 §2.3: a used-up package stops the service (less than one increment left).
  const rate: TariffRate = plan.package.rate;
  const maxDurationSeconds = view.available === null ? 0 : maxBilledSecondsFor(rate, view.available);
  if (maxDurationSeconds === 0) {
    const detail = view.available === null ? `no ledger account ${plan.account}` : `account ${plan.account}: available ${view.available} does not pay one increment at ${rate.ratePerMinute}/min`;
    return reject(c, 'package-used-up', detail, plan.announcements.notInService);
  }
  c.trace.push({ step: 'package', outcome: 'pass', detail: `account ${plan.account}: available ${view.available}` });

  const from = normalizeNumber(call.from);
  c.caller = from.ok ? from.number : null;
  c.trace.push({ step: 'caller', outcome: 'pass', detail: describeCaller(c.caller, call.from) });

  // 002 §1.3 黑名单: this number's list, then the owner's list for all its numbers.
  if (c.caller) {
    const own = blacklistMatch(plan.blacklist, c.caller.national);
    if (own) return reject(c, 'caller-blacklisted', `number blacklist: ${own}`);
    const tenant = blacklistMatch(plan.tenantBlacklist, c.caller.national);
    if (tenant) return reject(c, 'caller-blacklisted', `tenant ${plan.owner} caller blacklist: ${tenant}`);
    c.trace.push({ step: 'blacklist', outcome: 'pass', detail: 'not listed' });
  } else {
    c.trace.push({ step: 'blacklist', outcome: 'skip', detail: 'no caller number' });
  }

  // 002 §1.3 时间策略: the first open rule decides, else `otherwise`.
  let action: Plan400Action = { kind: 'route' };
  let timeBranch: string | null = null;
  if (plan.time) {
    let chosen: { id: string; action: Plan400Action; detail: string } | undefined;
    for (const rule of plan.time.rules) {
      const w = describe(rule.schedule, now);
      if (!w.within) continue;
      const day = w.holidayName ? `${w.dayType} ${w.holidayName}` : w.dayType;
      chosen = { id: rule.id, action: rule.action, detail: `${w.localTime} ${w.weekday} ${day}: rule ${rule.id} (${w.ranges.map((r) => `${r.start}-${r.end}`).join(',')})` };
      break;
    }
    if (!chosen) {
      const w = plan.time.rules[0] ? describe(plan.time.rules[0].schedule, now) : undefined;
      chosen = { id: 'otherwise', action: plan.time.otherwise, detail: `${w ? `${w.localTime} ${w.weekday} ${w.holidayName ? `${w.dayType} ${w.holidayName}` : w.dayType}: ` : ''}no rule open` };
    }
    action = chosen.action;
    timeBranch = chosen.id;
    if (action.kind === 'announcement') return reject(c, 'closed', `${chosen.detail}; closed announcement`, action.file);
    c.trace.push({ step: 'time', outcome: 'pass', detail: `${chosen.detail} → ${action.kind === 'group' ? `group ${action.group}` : action.kind}` });
  } else {
    c.trace.push({ step: 'time', outcome: 'skip', detail: 'no time strategy: always open' });
  }

  const accepted = {
    callId: call.callId, number: plan.number, owner: plan.owner, trunkId: c.trunkId, callerRaw: call.from, caller: c.caller,
    configVersion: cfg.version, trace: c.trace, account: plan.account, recording: plan.recording,
  };
  if (action.kind === 'voicemail') {
    c.trace.push({ step: 'region', outcome: 'skip', detail: 'voicemail' });
    return { ...accepted, kind: 'voicemail', branch: { time: timeBranch, region: null }, action };
  }

  // 002 §1.3 区域策略: the caller's province / city; unknown regions go to the default branch.
  let groupId: string;
  let regionBranch: string | null = null;
  if (action.kind === 'group') {
    groupId = action.group;
    c.trace.push({ step: 'region', outcome: 'skip', detail: `time rule ${timeBranch} names group ${groupId}` });
  } else {
    const region = c.caller?.region ?? null;
    const branch = region ? plan.region.branches.find((b) => b.regions.some((name) => regionMatches(region, name))) : undefined;
    if (branch) {
      groupId = branch.group;
      regionBranch = branch.id;
      c.trace.push({ step: 'region', outcome: 'pass', detail: `${regionLabel(c.caller)} → branch ${branch.id}, group ${groupId}` });
    } else {
      groupId = plan.region.default;
      regionBranch = 'default';
      c.trace.push({ step: 'region', outcome: 'pass', detail: `${region ? regionLabel(c.caller) : 'region unknown'}: no branch → default group ${groupId}` });
    }
  }

  const notes: string[] = [];
  const groups = groupChain(plan, groupId).map((g) => resolveGroup(g, plan, cfg, call.callId, notes)).filter((g) => g.members.length > 0);
  const skipped = notes.length ? `; left out: ${notes.join(', ')}` : '';
  if (!groups.length) return reject(c, 'no-destination', `group ${groupId}: no reachable member${skipped}`, plan.announcements.unavailable);
  c.trace.push({
    step: 'group', outcome: 'pass',
    detail: `${groups.map((g) => `${g.id} ${g.strategy} [${g.members.map((m) => m.key.replace(/^\w+:/, '')).join(', ')}]`).join(' → overflow ')}${skipped}`,
  });

  if (plan.pin) c.trace.push({ step: 'pin', outcome: 'pass', detail: `PIN required (${plan.pin.maxAttempts} attempts)` });
  else c.trace.push({ step: 'pin', outcome: 'skip', detail: 'no PIN' });
  c.trace.push(plan.welcome ? { step: 'welcome', outcome: 'pass', detail: plan.welcome } : { step: 'welcome', outcome: 'skip', detail: 'no welcome prompt' });
  c.trace.push({ step: 'balance', outcome: 'pass', detail: `${rate.ratePerMinute}/min ${rate.initialIncrement}/${rate.subsequentIncrement}: max ${maxDurationSeconds ?? 'unlimited'} s` });

  const connect: InboundConnect = {
    ...accepted,
    kind: 'connect',
    branch: { time: timeBranch, region: regionBranch },
    welcome: plan.welcome ?? null,
    pin: plan.pin ? { digits: plan.pin.digits, maxAttempts: plan.pin.maxAttempts, prompt: plan.pin.prompt, invalidPrompt: plan.pin.invalidPrompt ?? null } : null,
    groups,
    rate,
    maxDurationSeconds,
    unavailable: plan.announcements.unavailable ?? null,
    pinFailed: plan.announcements.pinFailed ?? null,
  };
  return connect;
}
