// Value checks the JSON Schemas call through the `dg` keyword ({ dg: "money" }): each returns why
// a value is wrong in words an admin understands, instead of a bare "must match pattern".
import { parseYuan } from './money.js';
import { toNationalNumber } from './national.js';
import { isIsoDate, isValidTimeZone, parseTimeRange } from './schedule.js';
import { checkSecretSpec } from './secrets.js';

export type CheckFailure = { reason: string; hint?: string };
export type Check = (value: unknown) => CheckFailure | null;

const QUOTE_HINT = 'quote it, e.g. "01088886666" (unquoted digits are read as a number)';

export const CHECKS: Readonly<Record<string, Check>> = {
  money(v) {
    const r = parseYuan(v);
    return r.ok ? null : { reason: r.reason, ...(r.hint ? { hint: r.hint } : {}) };
  },
  timeRange(v) {
    if (typeof v !== 'string') return { reason: 'expected a time range such as "08:00-19:30"' };
    const r = parseTimeRange(v);
    return r.ok ? null : { reason: r.reason, ...(r.hint ? { hint: r.hint } : {}) };
  },
  phone(v) {
    if (typeof v === 'number') {
      return Number.isSafeInteger(v) && v > 0 ? null : { reason: `${v} is not a phone number`, hint: QUOTE_HINT };
    }
    if (typeof v !== 'string' || toNationalNumber(v) === null) {
      return { reason: `${JSON.stringify(v)} is not a phone number`, hint: 'digits, optionally with +86 / 0086 and separators' };
    }
    return null;
  },
  digits(v) {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return null;
    if (typeof v === 'string' && /^\d+$/.test(v)) return null;
    return { reason: `${JSON.stringify(v)} is not a digit prefix`, hint: 'prefixes are digits in national form, e.g. "0106" or "170"' };
  },
  secret(v) {
    return checkSecretSpec(v);
  },
  timezone(v) {
    if (typeof v === 'string' && isValidTimeZone(v)) return null;
    return { reason: `${JSON.stringify(v)} is not an IANA time zone`, hint: 'e.g. Asia/Shanghai' };
  },
  isoDate(v) {
    if (typeof v === 'string' && isIsoDate(v)) return null;
    return { reason: `${JSON.stringify(v)} is not a date`, hint: 'write dates as YYYY-MM-DD' };
  },
  sipUri(v) {
    const uri = /^sips?:[^\s@]*@?[A-Za-z0-9.[\]:-]+(:\d{1,5})?(;[^\s]*)?$/;
    if (typeof v === 'string' && uri.test(v)) return null;
    const fixed = typeof v === 'string' && uri.test(`sip:${v}`) ? `did you mean "sip:${v}"?` : undefined;
    return { reason: `${JSON.stringify(v)} is not a SIP URI`, hint: fixed ?? 'e.g. sip:127.0.0.1:5090 or sip:gw.carrier.example;transport=tcp' };
  },
  increments(v) {
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return null;
    if (typeof v === 'string') {
      const m = /^(\d+)\/(\d+)$/.exec(v.trim());
      if (m && Number(m[1]) > 0 && Number(m[2]) > 0) return null;
    }
    return { reason: `${JSON.stringify(v)} is not a billing increment`, hint: 'write initial/subsequent seconds, e.g. 60/60 or 30/6' };
  },
  trunkRef(v) {
    if (typeof v === 'string' && v !== '') return null;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== 'trunk' && k !== 'weight' && k !== 'priority');
      if (extra.length) return { reason: `unknown field \`${extra[0]}\` in a trunk reference`, hint: 'a trunk reference is a trunk id, or { trunk: id, weight: n, priority: tier }' };
      if (o.priority !== undefined && !(Number.isInteger(o.priority) && (o.priority as number) >= 0)) {
        return { reason: '`priority` (failover tier) must be an integer ≥ 0' };
      }
      if (typeof o.trunk !== 'string') return { reason: 'missing `trunk` id in a trunk reference' };
      if (o.weight !== undefined && !(Number.isInteger(o.weight) && (o.weight as number) > 0)) {
        return { reason: '`weight` must be a positive integer' };
      }
      return null;
    }
    return { reason: 'expected a trunk id or { trunk: id, weight: n }' };
  },
  // plans400.yaml: `then:` / `otherwise:` of the time strategy.
  planAction(v) {
    const hint = 'route, { group: id }, { announcement: file } or { voicemail: { prompt, maxSeconds } }';
    if (v === 'route') return null;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { reason: `${JSON.stringify(v)} is not an action`, hint };
    const keys = Object.keys(v);
    const o = v as Record<string, unknown>;
    if (keys.length !== 1) return { reason: `an action has one key, got ${keys.join(', ') || 'none'}`, hint };
    const [k] = keys as [string];
    const isId = (x: unknown) => typeof x === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(x);
    if (k === 'group') return isId(o.group) ? null : { reason: '`group` must name a group id' };
    if (k === 'announcement') return typeof o.announcement === 'string' && o.announcement !== '' ? null : { reason: '`announcement` must be a file' };
    if (k === 'voicemail') {
      const vm = o.voicemail;
      if (typeof vm !== 'object' || vm === null || Array.isArray(vm)) return { reason: '`voicemail` must be a mapping', hint: '{ voicemail: { prompt: file, maxSeconds: 60 } }' };
      const extra = Object.keys(vm).filter((x) => x !== 'prompt' && x !== 'maxSeconds');
      if (extra.length) return { reason: `unknown field \`${extra[0]}\` in voicemail`, hint: 'voicemail takes prompt and maxSeconds' };
      const { prompt, maxSeconds } = vm as Record<string, unknown>;
      if (prompt !== undefined && (typeof prompt !== 'string' || prompt === '')) return { reason: '`prompt` must be a file' };
      if (maxSeconds !== undefined && !(Number.isInteger(maxSeconds) && (maxSeconds as number) >= 1 && (maxSeconds as number) <= 600)) {
        return { reason: '`maxSeconds` must be a whole number 1..600' };
      }
      return null;
    }
    return { reason: `unknown action \`${k}\``, hint };
  },
  // plans400.yaml: a destination group member (002 §1.3 号码绑定).
  groupMember(v) {
    const hint = '{ seat: "1001" } or { number: "13800138000" }, optionally with weight, noAnswerSeconds (and trunks for a number)';
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { reason: `${JSON.stringify(v)} is not a member`, hint };
    const o = v as Record<string, unknown>;
    const kinds = ['seat', 'number'].filter((k) => k in o);
    if (kinds.length !== 1) return { reason: kinds.length ? 'a member is a seat or a number, not both' : 'a member needs `seat` or `number`', hint };
    const allowed = kinds[0] === 'seat' ? ['seat', 'weight', 'noAnswerSeconds'] : ['number', 'weight', 'noAnswerSeconds', 'trunks'];
    const extra = Object.keys(o).filter((k) => !allowed.includes(k));
    if (extra.length) return { reason: `unknown field \`${extra[0]}\` in a ${kinds[0]} member`, hint: `known fields: ${allowed.join(', ')}` };
    if (kinds[0] === 'seat' && !((typeof o.seat === 'string' && /^[A-Za-z0-9._~-]+$/.test(o.seat)) || Number.isInteger(o.seat))) {
      return { reason: `${JSON.stringify(o.seat)} is not a seat id` };
    }
    if (kinds[0] === 'number') {
      const bad = CHECKS.phone!(o.number);
      if (bad) return bad;
      if (o.trunks !== undefined && !(Array.isArray(o.trunks) && o.trunks.length > 0 && o.trunks.every((t) => typeof t === 'string' && t !== ''))) {
        return { reason: '`trunks` must be a list of trunk ids' };
      }
    }
    if (o.weight !== undefined && !(Number.isInteger(o.weight) && (o.weight as number) >= 1)) return { reason: '`weight` must be a whole number ≥ 1' };
    if (o.noAnswerSeconds !== undefined && !(Number.isInteger(o.noAnswerSeconds) && (o.noAnswerSeconds as number) >= 1 && (o.noAnswerSeconds as number) <= 300)) {
      return { reason: '`noAnswerSeconds` must be a whole number 1..300' };
    }
    return null;
  },
  listFile(v) {
    if (typeof v === 'string' && v !== '') return null;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== 'path' && k !== 'column');
      if (extra.length) return { reason: `unknown field \`${extra[0]}\` in a list file`, hint: 'a list file is a path, or { path, column } for CSV' };
      if (typeof o.path !== 'string' || o.path === '') return { reason: 'missing `path` of the list file' };
      const c = o.column;
      if (c !== undefined && !(typeof c === 'string' && c !== '') && !(Number.isInteger(c) && (c as number) >= 1)) {
        return { reason: '`column` must be a header name or a 1-based column number' };
      }
      return null;
    }
    return { reason: 'expected a list file path, or { path, column }' };
  },
};
