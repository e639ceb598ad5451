// plans400.yaml → Plan400 entities (contract 002: 400 numbers): package terms, caller blacklists,
// welcome prompt, PIN, time strategy, region strategy and destination groups. Cross-references are
// checked here with the same file/line/field precision as the other kinds: the owner tenant, the
// seats (which must belong to the owner, 002 §3.6 / §6.1 own use only), trunks, group references
// (time rules, region branches, overflow, without cycles) and the 400 number defined once.
import { buildBlacklist, type BlacklistContext } from './blacklist.js';
import { national, parseIncrements, type BlacklistYaml, type BuildContext } from './build.js';
import type { Registries } from './crossref.js';
import { didYouMean } from './errors.js';
import { parseYuan } from './money.js';
import { resolveSecret, type SecretSpec } from './secrets.js';
import type { Path, YamlSource } from './source.js';
import type {
  Blacklist, DestinationGroup, DistributionStrategy, GroupMember, Plan400, Plan400Action, Schedule, TimeRange,
} from './types.js';
import { noticeCalendar, noticePackageEnd } from './validity.js';
import { buildSchedule, type ScheduleYaml } from './window.js';
import { parseTimeRange } from './schedule.js';

type ActionYaml = 'route' | { group: string } | { announcement: string } | { voicemail: { prompt?: string; maxSeconds?: number } };
type MemberYaml = { seat: string | number; weight?: number; noAnswerSeconds?: number }
  | { number: string | number; weight?: number; noAnswerSeconds?: number; trunks?: string[] };

export interface Plan400Yaml {
  number: string | number;
  name?: string;
  owner: string;
  account?: string;
  status?: 'active' | 'suspended';
  suspendedSince?: string;
  package: { total: string | number; months: number; ratePerMinute: string | number; increments?: string | number; startDate: string };
  blacklist?: BlacklistYaml;
  welcome?: string;
  pin?: { digits: SecretSpec; maxAttempts?: number; prompt?: string; invalidPrompt?: string };
  time?: { rules: { id: string; schedule: ScheduleYaml & { workdayRanges?: string[] }; then: ActionYaml }[]; otherwise?: ActionYaml };
  region?: { branches?: { id: string; regions: string[]; group: string }[]; default: string };
  group?: string;
  groups: { id: string; strategy?: DistributionStrategy; noAnswerSeconds?: number; members: MemberYaml[]; overflow?: string }[];
  announcements?: Plan400['announcements'];
  recording?: boolean;
}

export interface CallerBlacklistYaml extends BlacklistYaml { tenant: string }

export interface Plans400Yaml { callerBlacklists?: CallerBlacklistYaml[]; plans400?: Plan400Yaml[] }

/** Default ring time of a member (seconds). */
export const DEFAULT_NO_ANSWER_SECONDS = 20;
/** 002 §1.3 密码保护: wrong PIN this many times → hang up. */
export const DEFAULT_PIN_ATTEMPTS = 3;
/** Default prompt for the PIN (FreeSWITCH's stock sound). */
export const DEFAULT_PIN_PROMPT = 'ivr/ivr-please_enter_pin_followed_by_pound.wav';

type Draft = Omit<Plan400, 'blacklist' | 'tenantBlacklist'>;
interface PlacedDraft { value: Draft; src: YamlSource; path: Path; yaml: Plan400Yaml }

function money(v: string | number): number {
  const r = parseYuan(v);
  return r.ok ? r.value : 0;
}

function action(y: ActionYaml): Plan400Action {
  if (y === 'route') return { kind: 'route' };
  if ('group' in y) return { kind: 'group', group: y.group };
  if ('announcement' in y) return { kind: 'announcement', file: y.announcement };
  return { kind: 'voicemail', ...(y.voicemail.prompt ? { prompt: y.voicemail.prompt } : {}), maxSeconds: y.voicemail.maxSeconds ?? 60 };
}

function ranges(texts: string[] | undefined): TimeRange[] | undefined {
  if (!texts) return undefined;
  return texts.flatMap((t) => {
    const r = parseTimeRange(t);
    return r.ok ? [{ start: r.value.start, end: r.value.end }] : [];
  });
}

function member(y: MemberYaml): GroupMember {
  const common = { weight: y.weight ?? 1, ...(y.noAnswerSeconds !== undefined ? { noAnswerSeconds: y.noAnswerSeconds } : {}) };
  if ('seat' in y) return { kind: 'seat', seat: String(y.seat), ...common };
  return { kind: 'number', number: national(y.number), ...common, ...(y.trunks ? { trunks: [...y.trunks] } : {}) };
}

/** Builds one plan (without its blacklists) and reports what does not fit. */
async function buildPlan(src: YamlSource, path: Path, y: Plan400Yaml, ctx: BuildContext, reg: Registries): Promise<Draft | undefined> {
  const at = (...p: (string | number)[]): Path => [...path, ...p];
  const number = national(y.number);
  let ok = true;
  const error = (p: Path, message: string, hint?: string): void => {
    ok = false;
    ctx.issues.error(src.issue(p, message, hint));
  };

  reg.tenants.expect(y.owner, src, at('owner'), ctx.issues, 'owner tenant');
  const owner = reg.tenants.byId.get(y.owner)?.value;
  if (!/^(400|800)\d{7}$/.test(number)) {
    ctx.issues.warn(src.issue(at('number'), `${number} is not a 400/800 number`, 'carriers deliver any number configured here; 002 is about 400 numbers'));
  }

  // Groups first: everything else refers to them.
  const groupIds = new Map<string, number>();
  y.groups.forEach((g, i) => {
    if (groupIds.has(g.id)) error(at('groups', i, 'id'), `group \`${g.id}\` is defined twice in plan ${number}`);
    else groupIds.set(g.id, i);
  });
  const expectGroup = (ref: string, p: Path, what: string): void => {
    if (groupIds.has(ref)) return;
    error(p, `${what} \`${ref}\` is not a group of plan ${number}`, didYouMean(ref, groupIds.keys()) ?? `groups: ${[...groupIds.keys()].join(', ')}`);
  };
  const groups: DestinationGroup[] = y.groups.map((g, i) => {
    g.members.forEach((m, j) => {
      if ('seat' in m) {
        const id = String(m.seat);
        reg.seats.expect(id, src, at('groups', i, 'members', j, 'seat'), ctx.issues, 'seat');
        const seat = reg.seats.byId.get(id)?.value;
        // A seat whose own tenant is undefined is reported at the seat, not again here.
        if (seat && seat.tenant !== y.owner && reg.tenants.byId.has(seat.tenant) && owner) {
          error(at('groups', i, 'members', j, 'seat'), `seat ${id} belongs to tenant \`${seat.tenant}\`, not to the owner \`${y.owner}\``,
            '002 §3.6: a 400 number may only ring its owner\'s own seats');
        }
      } else {
        m.trunks?.forEach((t, k) => reg.trunks.expect(t, src, at('groups', i, 'members', j, 'trunks', k), ctx.issues, 'trunk'));
      }
    });
    if (g.overflow !== undefined) {
      if (g.overflow === g.id) error(at('groups', i, 'overflow'), `group \`${g.id}\` overflows to itself`);
      else expectGroup(g.overflow, at('groups', i, 'overflow'), 'overflow group');
    }
    return {
      id: g.id,
      strategy: g.strategy ?? 'sequential',
      noAnswerSeconds: g.noAnswerSeconds ?? DEFAULT_NO_ANSWER_SECONDS,
      members: g.members.map(member),
      ...(g.overflow !== undefined ? { overflow: g.overflow } : {}),
    };
  });
  // Overflow chains must end: a cycle would ring the same members forever.
  groups.forEach((g, i) => {
    const seen = new Set<string>([g.id]);
    for (let next = g.overflow; next !== undefined;) {
      if (seen.has(next)) {
        if (next === g.id && g.overflow !== g.id) error(at('groups', i, 'overflow'), `overflow of group \`${g.id}\` comes back to it (${[...seen, next].join(' → ')})`, 'end the chain with a group that has no overflow');
        break;
      }
      seen.add(next);
      next = groups.find((x) => x.id === next)?.overflow;
    }
  });

  // Time strategy (002 §1.3 时间策略).
  let time: Plan400['time'] = null;
  if (y.time) {
    const ruleIds = new Set<string>();
    const rules = y.time.rules.map((r, i) => {
      if (ruleIds.has(r.id)) error(at('time', 'rules', i, 'id'), `time rule \`${r.id}\` is defined twice`);
      ruleIds.add(r.id);
      const schedule: Schedule = buildSchedule(src, at('time', 'rules', i, 'schedule'), r.schedule, ctx.timezone, ctx.issues);
      noticeCalendar(ctx.issues, { src, path: at('time', 'rules', i, 'schedule') }, schedule, ctx.now);
      const workday = ranges(r.schedule.workdayRanges);
      const a = action(r.then);
      if (a.kind === 'group') expectGroup(a.group, at('time', 'rules', i, 'then', 'group'), 'group');
      return { id: r.id, schedule: workday ? { ...schedule, workdayRanges: workday } : schedule, action: a };
    });
    const otherwise = y.time.otherwise ? action(y.time.otherwise)
      : y.announcements?.closed ? { kind: 'announcement' as const, file: y.announcements.closed } : null;
    if (!otherwise) {
      ctx.issues.warn(src.issue(at('time'), `plan ${number}: no \`otherwise\` and no closed announcement: callers outside every rule are refused silently`,
        'add otherwise: { announcement: dialgate/ivr/400/closed.wav } or announcements.closed'));
    }
    if (otherwise?.kind === 'group') expectGroup(otherwise.group, at('time', 'otherwise', 'group'), 'group');
    time = { rules, otherwise: otherwise ?? { kind: 'announcement', file: '' } };
  }

  // Region strategy (002 §1.3 区域策略); a plan without one routes everything to `group`.
  let region: Plan400['region'] | undefined;
  if (y.region) {
    if (y.group !== undefined) error(at('group'), 'give either `region` (with its default) or `group`, not both');
    (y.region.branches ?? []).forEach((b, i) => expectGroup(b.group, at('region', 'branches', i, 'group'), 'group'));
    expectGroup(y.region.default, at('region', 'default'), 'default group');
    region = { branches: (y.region.branches ?? []).map((b) => ({ id: b.id, regions: [...b.regions], group: b.group })), default: y.region.default };
  } else if (y.group !== undefined) {
    expectGroup(y.group, at('group'), 'group');
    region = { branches: [], default: y.group };
  } else {
    error(path, `plan ${number} has no destination: give \`region\` (branches and a default group) or \`group\``);
  }

  let pin: Plan400['pin'];
  if (y.pin) {
    const r = await resolveSecret(y.pin.digits, ctx);
    if (!r.ok) error(at('pin', 'digits'), r.reason, r.hint);
    else if (!/^\d{3,12}$/.test(r.value.value)) error(at('pin', 'digits'), 'the PIN must be 3 to 12 digits');
    else {
      pin = {
        digits: r.value.value,
        maxAttempts: y.pin.maxAttempts ?? DEFAULT_PIN_ATTEMPTS,
        prompt: y.pin.prompt ?? DEFAULT_PIN_PROMPT,
        ...(y.pin.invalidPrompt ? { invalidPrompt: y.pin.invalidPrompt } : {}),
      };
    }
  }

  if (y.status === 'suspended' && !y.suspendedSince) {
    error(at('status'), `plan ${number} is suspended without \`suspendedSince\``, '002 §2.3: the number is reclaimed 7 days after the service stopped; give the date it stopped');
  }
  const [initial, subsequent] = parseIncrements(y.package.increments ?? '60/60');
  const ratePerMinute = money(y.package.ratePerMinute);
  if (y.status !== 'suspended') noticePackageEnd(ctx.issues, { src, path: at('package', 'startDate') }, number, y.package, ctx.now, ctx.timezone);
  if (ratePerMinute === 0) ctx.issues.warn(src.issue(at('package', 'ratePerMinute'), `plan ${number}: a free rate means answered calls cost nothing`));
  if (!ok || !region) return undefined;
  return {
    number,
    name: y.name ?? number,
    owner: y.owner,
    account: y.account ?? owner?.account ?? y.owner,
    status: y.status ?? 'active',
    ...(y.suspendedSince ? { suspendedSince: y.suspendedSince } : {}),
    package: {
      total: money(y.package.total),
      months: y.package.months,
      rate: { ratePerMinute, initialIncrement: initial, subsequentIncrement: subsequent, connectFee: 0 },
      startDate: y.package.startDate,
    },
    ...(y.welcome ? { welcome: y.welcome } : {}),
    ...(pin ? { pin } : {}),
    time,
    region,
    groups,
    announcements: { ...(y.announcements ?? {}) },
    recording: y.recording ?? false,
  };
}

export interface Plans400Build {
  drafts: PlacedDraft[];
  /** Every number seen, built or not (a broken plan still owns its number). */
  numbers?: Map<string, { src: YamlSource; path: Path }>;
  callerBlacklists: Map<string, { src: YamlSource; path: Path; yaml: CallerBlacklistYaml }>;
}

/** Builds the plans of one plans400.yaml and checks their references. */
export async function buildPlans400(src: YamlSource, ctx: BuildContext, reg: Registries, into: Plans400Build, skip: ReadonlySet<number> = new Set()): Promise<void> {
  const data = (src.data ?? {}) as Plans400Yaml;
  (data.callerBlacklists ?? []).forEach((b, i) => {
    const path: Path = ['callerBlacklists', i];
    reg.tenants.expect(b.tenant, src, [...path, 'tenant'], ctx.issues, 'tenant');
    const first = into.callerBlacklists.get(b.tenant);
    if (first) ctx.issues.error(src.issue([...path, 'tenant'], `tenant \`${b.tenant}\` has two caller blacklists; first at ${first.src.where(first.path)}`, 'merge them'));
    else into.callerBlacklists.set(b.tenant, { src, path, yaml: b });
  });
  for (const [i, y] of (data.plans400 ?? []).entries()) {
    const path: Path = ['plans400', i];
    if (skip.has(i)) continue; // schema errors already reported
    const number = national(y.number);
    into.numbers ??= new Map();
    const twin = into.numbers.get(number);
    if (twin) {
      ctx.issues.error(src.issue([...path, 'number'], `400 number ${number} is defined twice; first at ${twin.src.where(twin.path)}`, 'a number has one plan'));
      continue;
    }
    into.numbers.set(number, { src, path });
    const value = await buildPlan(src, path, y, ctx, reg);
    if (value) into.drafts.push({ value, src, path, yaml: y });
  }
}

/** Loads the plans' blacklists (they may read list files) and freezes the plans into a map. */
export async function finishPlans400(b: Plans400Build, bctx: BlacklistContext): Promise<Map<string, Plan400> | undefined> {
  const tenantLists = new Map<string, Blacklist>();
  for (const [tenant, t] of b.callerBlacklists) {
    const list = await buildBlacklist(t.src, t.path, t.yaml, bctx);
    if (!list) return undefined;
    tenantLists.set(tenant, list);
  }
  const out = new Map<string, Plan400>();
  for (const d of b.drafts) {
    const blacklist = await buildBlacklist(d.src, [...d.path, 'blacklist'], d.yaml.blacklist, bctx);
    if (!blacklist) return undefined;
    const tenantBlacklist = tenantLists.get(d.value.owner) ?? (await buildBlacklist(d.src, d.path, undefined, bctx))!;
    out.set(d.value.number, { ...d.value, blacklist, tenantBlacklist });
  }
  return out;
}
