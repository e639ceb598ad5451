// Registrations (RFC 3261 §10.3) in Redis, shared by all instances.
//
// Per AOR (seat id), under one hash tag so each update is one atomic Lua script on Cluster:
//   dialgate:reg:{<aor>}:b  hash  contact URI → Binding JSON
//   dialgate:reg:{<aor>}:x  zset  contact URI → expiresAt (epoch ms)
// Every contact has its own expiry; both keys carry a TTL equal to the latest one, so an AOR whose
// phones vanish disappears from Redis by itself. Expiry is judged against the injected `now`.
//
// A global index (dialgate:reg:{index}:c / :a) serves count(); it is updated after the per-AOR
// script, so under racing updates of one AOR it may be briefly off, never longer than one
// registration interval (its scores expire too). lookup() is always exact.
import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_EXPIRES, type ParsedContact } from './parse.js';
import { LuaScript } from '../ledger/lua/script.js';

export { parseRegister, type ParsedContact, type ParsedRegister, type RegisterHeaders } from './parse.js';

export interface RegisterInput {
  /** Address of record: the seat id. */
  aor: string;
  contact: string;
  /** Where the REGISTER came from, "ip:port": requests to the seat go there (NAT). */
  source: string;
  transport: string;
  /** Requested seconds; 0 removes the contact. */
  expires: number;
  callId: string;
  cseq: number;
  userAgent?: string;
  q?: number;
}

export interface Binding {
  aor: string;
  contact: string;
  source: string;
  transport: string;
  callId: string;
  cseq: number;
  userAgent?: string;
  q?: number;
  registeredAt: number;
  expiresAt: number;
  /** Seconds left at lookup time (for the Contact ;expires of the 200 OK). */
  expires: number;
}

export type RegisterDecision =
  | { kind: 'ok'; expires: number; bindings: Binding[] } // 200 OK listing all bindings
  | { kind: 'interval-too-brief'; minExpires: number } // 423 with Min-Expires
  | { kind: 'out-of-order' }; // §10.3 step 7: same Call-ID, CSeq not higher → 500

export interface RegistrarOptions {
  prefix?: string;
  /** Below this (and not 0) the answer is 423. Default 60 s. */
  minExpires?: number;
  /** Longer requests are shortened to this. Default 3600 s. */
  maxExpires?: number;
  /** Oldest-expiring contacts are dropped beyond this many per AOR. Default 10. */
  maxContactsPerAor?: number;
}

export interface RegistrarStore {
  register(input: RegisterInput, now: number): Promise<RegisterDecision>;
  /** All contacts of one REGISTER: intervals are checked first so a 423 changes nothing. */
  registerContacts(
    aor: string, contacts: readonly ParsedContact[], meta: Omit<RegisterInput, 'aor' | 'contact' | 'expires' | 'q'>, now: number,
  ): Promise<RegisterDecision>;
  /** Expires: 0 for one contact, or '*' for all of them. */
  unregister(aor: string, contact: string, now: number, seq?: { callId: string; cseq: number }): Promise<RegisterDecision>;
  lookup(aor: string, now: number): Promise<Binding[]>;
  /** Registered seats and live contacts. */
  count(now: number): Promise<{ aors: number; contacts: number }>;
}

/** RFC 3261 §10.3 step 7: clamp down to the max, refuse below the min (0 means remove). */
export function grantExpires(requested: number, min = 60, max = 3600): number | 'too-brief' {
  if (!Number.isFinite(requested) || requested < 0) return Math.min(DEFAULT_EXPIRES, max);
  const s = Math.floor(requested);
  if (s === 0) return 0;
  if (s < min) return 'too-brief';
  return Math.min(s, max);
}

// KEYS: bindings hash, expiry zset.
// ARGV: now, mode (set|del|all), contact, bindingJson, expiresAt, callId, cseq, maxContacts.
// Returns {'out-of-order'} or {'ok', removedContacts, liveBindingJsons}.
const APPLY = new LuaScript('registrar-apply', `
local H, Z = KEYS[1], KEYS[2]
local now, mode, contact = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local callId, cseq = ARGV[6], tonumber(ARGV[7])
local removed = redis.call('ZRANGEBYSCORE', Z, '-inf', now)
for _, c in ipairs(removed) do redis.call('HDEL', H, c) end
redis.call('ZREMRANGEBYSCORE', Z, '-inf', now)
local function stale(json)
  if not json then return false end
  local b = cjson.decode(json)
  return b.callId == callId and tonumber(b.cseq) >= cseq
end
if mode == 'all' then
  if callId ~= '' then
    for _, v in ipairs(redis.call('HVALS', H)) do if stale(v) then return {'out-of-order'} end end
  end
  for _, c in ipairs(redis.call('ZRANGE', Z, 0, -1)) do table.insert(removed, c) end
  redis.call('DEL', H, Z)
  return {'ok', removed, {}}
end
if callId ~= '' and stale(redis.call('HGET', H, contact)) then return {'out-of-order'} end
if mode == 'del' then
  if redis.call('HDEL', H, contact) == 1 then table.insert(removed, contact) end
  redis.call('ZREM', Z, contact)
else
  redis.call('HSET', H, contact, ARGV[4])
  redis.call('ZADD', Z, ARGV[5], contact)
  local excess = redis.call('ZCARD', Z) - tonumber(ARGV[8])
  if excess > 0 then
    for _, c in ipairs(redis.call('ZRANGE', Z, 0, -1)) do
      if excess <= 0 then break end
      if c ~= contact then
        redis.call('HDEL', H, c); redis.call('ZREM', Z, c); table.insert(removed, c); excess = excess - 1
      end
    end
  end
end
local last = redis.call('ZRANGE', Z, -1, -1, 'WITHSCORES')
if #last == 0 then
  redis.call('DEL', H, Z)
  return {'ok', removed, {}}
end
local ttl = math.max(1, tonumber(last[2]) - now)
redis.call('PEXPIRE', H, ttl)
redis.call('PEXPIRE', Z, ttl)
return {'ok', removed, redis.call('HVALS', H)}
`);

type Stored = Omit<Binding, 'expires'>;

export function createRegistrarStore(redis: Redis | Cluster, opts: RegistrarOptions = {}): RegistrarStore {
  const prefix = opts.prefix ?? 'dialgate:reg';
  const min = opts.minExpires ?? 60;
  const max = opts.maxExpires ?? 3600;
  const maxContacts = opts.maxContactsPerAor ?? 10;
  const keys = (aor: string) => {
    const base = `${prefix}:{${encodeURIComponent(aor)}}`;
    return { h: `${base}:b`, z: `${base}:x` };
  };
  const indexC = `${prefix}:{index}:c`;
  const indexA = `${prefix}:{index}:a`;
  const member = (aor: string, contact: string) => JSON.stringify([aor, contact]);

  const live = (jsons: string[], now: number): Binding[] =>
    jsons
      .map((j) => JSON.parse(j) as Stored)
      .filter((b) => b.expiresAt > now)
      .map((b) => ({ ...b, expires: Math.ceil((b.expiresAt - now) / 1000) }))
      .sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.registeredAt - a.registeredAt);

  async function apply(
    aor: string, mode: 'set' | 'del' | 'all', contact: string, stored: Stored | null, now: number,
    seq: { callId: string; cseq: number } | undefined,
  ): Promise<RegisterDecision> {
    const k = keys(aor);
    const reply = (await APPLY.run(redis, [k.h, k.z], [now, mode, contact,
      stored ? JSON.stringify(stored) : '', stored?.expiresAt ?? 0,
      seq?.callId ?? '', seq?.cseq ?? 0, maxContacts])) as [string, string[]?, string[]?];
    if (reply[0] !== 'ok') return { kind: 'out-of-order' };
    const bindings = live(reply[2] ?? [], now);
    const tx = redis.multi();
    for (const c of reply[1] ?? []) tx.zrem(indexC, member(aor, c));
    for (const b of bindings) tx.zadd(indexC, b.expiresAt, member(aor, b.contact));
    const latest = Math.max(0, ...bindings.map((b) => b.expiresAt));
    if (latest > 0) tx.zadd(indexA, latest, aor); else tx.zrem(indexA, aor);
    await tx.exec();
    const mine = bindings.find((b) => b.contact === contact);
    return { kind: 'ok', expires: mine?.expires ?? 0, bindings };
  }

  const store: RegistrarStore = {
    async register(input, now) {
      const granted = grantExpires(input.expires, min, max);
      if (granted === 'too-brief') return { kind: 'interval-too-brief', minExpires: min };
      const seq = { callId: input.callId, cseq: input.cseq };
      if (granted === 0) return apply(input.aor, 'del', input.contact, null, now, seq);
      const stored: Stored = {
        aor: input.aor, contact: input.contact, source: input.source, transport: input.transport,
        callId: input.callId, cseq: input.cseq, registeredAt: now, expiresAt: now + granted * 1000,
      };
      if (input.userAgent !== undefined) stored.userAgent = input.userAgent;
      if (input.q !== undefined) stored.q = input.q;
      return apply(input.aor, 'set', input.contact, stored, now, seq);
    },

    async registerContacts(aor, contacts, meta, now) {
      if (contacts.some((c) => grantExpires(c.expires, min, max) === 'too-brief')) {
        return { kind: 'interval-too-brief', minExpires: min };
      }
      let last: RegisterDecision = { kind: 'ok', expires: 0, bindings: await store.lookup(aor, now) };
      for (const c of contacts) {
        const input: RegisterInput = { ...meta, aor, contact: c.uri, expires: c.expires };
        if (c.q !== undefined) input.q = c.q;
        last = await store.register(input, now);
        if (last.kind !== 'ok') return last;
      }
      return last;
    },

    unregister(aor, contact, now, seq) {
      return contact.trim() === '*'
        ? apply(aor, 'all', '', null, now, seq)
        : apply(aor, 'del', contact, null, now, seq);
    },

    async lookup(aor, now) {
      return live(await redis.hvals(keys(aor).h), now);
    },

    async count(now) {
      const [, , c, a] = (await redis.multi()
        .zremrangebyscore(indexC, '-inf', now)
        .zremrangebyscore(indexA, '-inf', now)
        .zcard(indexC)
        .zcard(indexA)
        .exec()) ?? [];
      return { aors: Number(a?.[1] ?? 0), contacts: Number(c?.[1] ?? 0) };
    },
  };
  return store;
}
