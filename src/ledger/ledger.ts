// The prepaid ledger: money state of accounts in Redis (issue 4). Every state change is one Lua
// script on one account's keys ({acct:ID} hash tag) — atomic, idempotent, Cluster-safe.
// Each account's live-call index is kept by the reservation scripts (one round trip per step);
// cross-account keys (the registry of accounts with calls, the alert stream) are written next to
// the scripts, never inside them; recovery tolerates index entries that are missing their reservation.
import { ALERT_STREAM_KEY, LIVE_ACCOUNTS_KEY, LIVE_INDEX_KEY, accountKeys, beijingMonth } from './keys.js';
import { CREATE } from './lua/account.js';
import { ADOPT_ARREARS, CLOSE_FOR_ARREARS } from './lua/arrears.js';
import { ENTRY, FORFEIT } from './lua/entry.js';
import { EXTEND, HEARTBEAT, RESERVE } from './lua/reserve.js';
import type { RedisClient } from './lua/script.js';
import { SETTLE } from './lua/settle.js';
import { ACCOUNT_AND_COUNTS } from './lua/slots.js';
import type { ConcurrencySlots } from './concurrency.js';
import { isCluster } from './redis-client.js';
import { ShardedStream } from './stream-shards.js';
import { recoverOrphans, type RateFn, type RecoverOptions, type RecoveryOutcome } from './recovery.js';
import {
  LedgerError, type Account, type AccountInit, type ArrearsAlert, type AccountPatch, type AccountStatus, type EntryResult,
  type ForfeitResult, type HeartbeatResult, type HistoryEntry, type LowBalanceAlert, type Money,
  type ReserveRequest, type ReserveResult, type Reservation, type SettleResult,
} from './types.js';

export interface LedgerOptions {
  /** This app instance; recorded on reservations and claims. */
  instanceId: string;
  /** How often live calls heartbeat (recovery bills one interval past the last heartbeat). */
  heartbeatMs?: number;
  /** A reservation whose heartbeat is older than this is an orphan. Default 3 × heartbeatMs. */
  staleMs?: number;
  /** How long a settlement is remembered for idempotency. Default 90 days. */
  settlementTtlMs?: number;
  /** The legacy global live index (read by recovery only). */
  liveIndexKey?: string;
  liveAccountsKey?: string;
  alertStreamKey?: string;
  /** Keys the alert stream is spread over (by account; 1 = the plain key). Default 1. */
  alertStreamShards?: number;
  /** Called for each low-balance alert after it is on the stream (e.g. the webhook POSTer). */
  onAlert?: (alert: LowBalanceAlert) => void;
  /** Called for each arrears step (001 §6: suspended, first late fee, closed) once it is on the stream. */
  onArrears?: (alert: ArrearsAlert) => void;
}

interface ScriptErr { err?: 'NO_ACCOUNT' | 'INSUFFICIENT_BALANCE' | 'STALE'; available?: number }
interface WithAlert<T> extends ScriptErr { result?: T; alert?: LowBalanceAlert; arrearsAlerts?: ArrearsAlert[] }

/** A late fee refused because the arrears it was reckoned on changed meanwhile. */
export interface StaleArrears { stale: true; principal: Money; since: number | null }

function money(name: string, v: number, allowNegative = false): void {
  if (!Number.isSafeInteger(v) || (!allowNegative && v < 0)) {
    throw new LedgerError('BAD_ARGUMENT', `${name} must be an integer number of 0.0001 yuan units${allowNegative ? '' : ' ≥ 0'}: ${v}`);
  }
}

function noAccount(acct: string): LedgerError {
  return new LedgerError('NO_ACCOUNT', `no ledger account ${acct}`);
}

export class Ledger {
  readonly instanceId: string;
  readonly heartbeatMs: number;
  readonly staleMs: number;
  readonly liveIndexKey: string;
  readonly liveAccountsKey: string;
  readonly alertStreamKey: string;
  /** The alert stream's shards (an account's alerts stay in one, in order). */
  readonly alertStream: ShardedStream;
  private readonly settlementTtlMs: number;
  /** Accounts this process put in the registry, and when (re-added every 10 minutes at most). */
  private readonly registered = new Map<string, number>();

  constructor(readonly redis: RedisClient, private readonly opts: LedgerOptions) {
    this.instanceId = opts.instanceId;
    this.heartbeatMs = opts.heartbeatMs ?? 10_000;
    this.staleMs = opts.staleMs ?? 3 * this.heartbeatMs;
    this.settlementTtlMs = opts.settlementTtlMs ?? 90 * 86_400_000;
    this.liveIndexKey = opts.liveIndexKey ?? LIVE_INDEX_KEY;
    this.liveAccountsKey = opts.liveAccountsKey ?? LIVE_ACCOUNTS_KEY;
    this.alertStreamKey = opts.alertStreamKey ?? ALERT_STREAM_KEY;
    this.alertStream = new ShardedStream(this.alertStreamKey, opts.alertStreamShards ?? 1);
  }

  // ── accounts ──────────────────────────────────────────────────────────────────────────────

  /** Creates the account with balance 0 unless it exists. */
  async createAccount(acct: string, init: AccountInit): Promise<{ created: boolean }> {
    const k = accountKeys(acct);
    for (const [n, v] of [['prepaidTotal', init.prepaidTotal], ['monthlyFees', init.monthlyFees]] as const) {
      if (v !== undefined) money(n, v);
    }
    const fields: Record<string, string> = {
      tenant: init.tenant, status: init.status ?? 'active',
      validFrom: String(init.validFrom ?? 0), validUntil: String(init.validUntil ?? 0),
      prepaidTotal: String(init.prepaidTotal ?? 0), monthlyFees: String(init.monthlyFees ?? 0),
      balance: '0', reserved: '0', credits: '0', debits: '0', arrears: '0', alertArmed: '1',
      createdAt: String(Date.now()),
    };
    const created = await CREATE.run(this.redis, [k.account], Object.entries(fields).flat());
    return { created: created === 1 };
  }

  async getAccount(acct: string): Promise<Account | null> {
    return accountOf(acct, await this.redis.hgetall(accountKeys(acct).account));
  }

  /**
   * The account and the live count of each slot set (ConcurrencySlots keys): on a single Redis one
   * script call, on Cluster (keys in several slots) the account and each count on their own.
   */
  async accountAndSlotCounts(acct: string, slots: ConcurrencySlots, slotKeys: readonly string[]): Promise<[Account | null, number[]]> {
    if (isCluster(this.redis) || slotKeys.length === 0) return Promise.all([this.getAccount(acct), slots.countMany(slotKeys)]);
    const [flat, ...counts] = (await ACCOUNT_AND_COUNTS.run(this.redis, [accountKeys(acct).account, ...slotKeys], [])) as [string[], ...unknown[]];
    const h: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
    return [accountOf(acct, h), counts.map(Number)];
  }

  /** Changes descriptive fields (package renewal: new validUntil and prepaidTotal). Not money. */
  async updateAccount(acct: string, patch: AccountPatch): Promise<void> {
    const k = accountKeys(acct);
    if (!(await this.redis.hexists(k.account, 'balance'))) throw noAccount(acct);
    const fields: Record<string, string> = {};
    for (const [f, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (f !== 'tenant') money(f, v as number);
      fields[f] = String(v);
    }
    if (Object.keys(fields).length) await this.redis.hset(k.account, fields);
  }

  /** suspended/closed accounts are refused by reserve and extend (live reservations still settle). */
  async setStatus(acct: string, status: AccountStatus): Promise<void> {
    await this.updateAccount(acct, {});
    await this.redis.hset(accountKeys(acct).account, 'status', status);
  }

  // ── entries ───────────────────────────────────────────────────────────────────────────────

  /** Credits amount (> 0) once per entryId; pays arrears first. */
  async topUp(acct: string, entryId: string, amount: Money, note = '', now = Date.now()): Promise<EntryResult> {
    money('amount', amount);
    return this.entry(acct, entryId, 'credit', amount, 'topup', note, now);
  }

  /** Signed correction once per entryId; never below what live reservations hold (so never < 0). */
  async adjust(acct: string, entryId: string, amount: Money, note = '', now = Date.now()): Promise<EntryResult> {
    money('amount', amount, true);
    return this.entry(acct, entryId, 'adjust', amount, 'adjust', note, now);
  }

  /** A fee (rent, minimum, complaint, ...) once per entryId: what is not available becomes arrears. */
  async charge(acct: string, entryId: string, type: string, amount: Money, note = '', now = Date.now()): Promise<EntryResult> {
    money('amount', amount);
    return this.entry(acct, entryId, 'charge', amount, type, note, now);
  }

  /**
   * A late fee (001 §6) once per entryId, charged like any fee, but only if the account still owes
   * `principal` in the episode that began at `since` (what the fee was reckoned on); otherwise
   * nothing is recorded and the current principal is returned, to reckon the fee again.
   */
  async chargeLateFee(acct: string, entryId: string, amount: Money, on: { principal: Money; since: number }, note = '', now = Date.now()): Promise<EntryResult | StaleArrears> {
    money('amount', amount);
    const r = await this.entryScript(acct, entryId, 'charge', amount, 'latefee', note, now, [on.principal, String(on.since)]);
    if (r.err === 'STALE') {
      const s = r as unknown as { principal: number; since: string };
      return { stale: true, principal: s.principal, since: s.since ? Number(s.since) : null };
    }
    return this.entryResult(acct, amount, r);
  }

  private async entry(acct: string, entryId: string, mode: string, amount: Money, type: string, note: string, now: number): Promise<EntryResult> {
    return this.entryResult(acct, amount, await this.entryScript(acct, entryId, mode, amount, type, note, now, ['', '']));
  }

  private async entryScript(acct: string, entryId: string, mode: string, amount: Money, type: string, note: string, now: number, guard: [Money | '', string]): Promise<WithAlert<EntryResult>> {
    if (!entryId) throw new LedgerError('BAD_ARGUMENT', 'entryId is required');
    const k = accountKeys(acct);
    return ENTRY.json<WithAlert<EntryResult>>(this.redis, [k.account, k.entries, k.history],
      [acct, entryId, mode, amount, type, note, now, ...guard]);
  }

  private async entryResult(acct: string, amount: Money, r: WithAlert<EntryResult>): Promise<EntryResult> {
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    if (r.err === 'INSUFFICIENT_BALANCE') {
      throw new LedgerError('INSUFFICIENT_BALANCE',
        `adjustment ${amount} on ${acct} would take the balance below zero (available ${r.available})`, r.available);
    }
    const result = await this.withArrears(r.result!, r.arrearsAlerts ?? []);
    return this.withAlert(result, r.alert);
  }

  // ── arrears (001 §6) ──────────────────────────────────────────────────────────────────────

  /** Stamps an arrears episode recorded before episodes were (arrears > 0, no arrearsSince) as starting now. */
  async adoptArrears(acct: string, now: number): Promise<ArrearsAlert | null> {
    const r = await ADOPT_ARREARS.json<{ err?: 'NO_ACCOUNT'; adopted?: boolean; alert?: ArrearsAlert }>(this.redis, [accountKeys(acct).account], [acct, now]);
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    if (!r.alert) return null;
    await this.withArrears({}, [r.alert]);
    return r.alert;
  }

  /**
   * 001 §6(二)5: closes the account if it is still in the arrears episode that began at `since`.
   * changed = this call closed it (and alerted); closed = it is closed now.
   */
  async closeForArrears(acct: string, since: number, note: string, now: number): Promise<{ closed: boolean; changed: boolean; alert?: ArrearsAlert }> {
    const k = accountKeys(acct);
    const r = await CLOSE_FOR_ARREARS.json<{ err?: 'NO_ACCOUNT'; closed: boolean; changed: boolean; alert?: ArrearsAlert }>(this.redis,
      [k.account, k.history], [acct, String(since), now, note]);
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    if (r.alert) await this.withArrears({}, [r.alert]);
    return { closed: r.closed, changed: r.changed, ...(r.alert ? { alert: r.alert } : {}) };
  }

  /** Newest first. */
  async history(acct: string, limit = 100): Promise<HistoryEntry[]> {
    return this.historyBefore(acct, null, limit);
  }

  /** Newest first, older than the stream id `before` (null: from the newest). */
  async historyBefore(acct: string, before: string | null, limit: number): Promise<HistoryEntry[]> {
    const rows = await this.redis.xrevrange(accountKeys(acct).history, before === null ? '+' : `(${before}`, '-', 'COUNT', limit);
    return rows.map(parseHistory);
  }

  /**
   * The account's balance and arrears together with its newest history entries, read in one
   * MULTI (one slot), so walking the history back from them is exact however busy the account.
   */
  async historySnapshot(acct: string, limit: number): Promise<{ balance: Money; arrears: Money; entries: HistoryEntry[] } | null> {
    const k = accountKeys(acct);
    const res = await this.redis.multi().hmget(k.account, 'balance', 'arrears').xrevrange(k.history, '+', '-', 'COUNT', limit).exec();
    if (!res) throw new Error(`history snapshot of ${acct} was aborted`);
    const [[e1, fields], [e2, rows]] = res as [[Error | null, (string | null)[]], [Error | null, [string, string[]][]]];
    if (e1 || e2) throw e1 ?? e2!;
    if (fields[0] === null) return null;
    return { balance: Number(fields[0]), arrears: Number(fields[1] ?? 0), entries: rows.map(parseHistory) };
  }

  /** Money debited by calls in a Beijing-time month (YYYY-MM), for the 400 minimum (002 §2.4). */
  async usage(acct: string, yyyyMm: string): Promise<Money> {
    return Number((await this.redis.get(accountKeys(acct).usage(yyyyMm))) ?? 0);
  }

  // ── calls ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Authorises a call: grants min(available, max) if ≥ min. Idempotent per callId. The script also
   * indexes the reservation for crash recovery; the account is put in recovery's registry first
   * (on the same connection, so an indexed reservation's account is always registered).
   */
  async reserve(acct: string, callId: string, req: ReserveRequest, nowMs: number, meta = ''): Promise<ReserveResult> {
    this.checkReq(req);
    const k = accountKeys(acct);
    const register = this.register(acct, nowMs);
    const script = () => RESERVE.json<ReserveResult & ScriptErr>(this.redis, [k.account, k.reservations, k.settlement(callId), k.live],
      [callId, req.min, req.max, nowMs, this.instanceId, meta]);
    // One connection keeps the order for free; on Cluster the registry and the account live on
    // different masters, so the registry write must be acknowledged first (once per 10 minutes).
    const r = isCluster(this.redis) ? await register.then(script) : (await Promise.all([register, script()]))[1];
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    return r;
  }

  /** Adds the account to recovery's registry (a set; once per 10 minutes per process). */
  private register(acct: string, nowMs: number): Promise<unknown> {
    const at = this.registered.get(acct);
    if (at !== undefined && Math.abs(nowMs - at) < 600_000) return Promise.resolve();
    this.registered.set(acct, nowMs);
    return this.redis.sadd(this.liveAccountsKey, acct).catch((err: unknown) => {
      this.registered.delete(acct);
      throw err;
    });
  }

  /** Adds the next chunk to a live reservation (same rule as reserve). */
  async extend(acct: string, callId: string, req: ReserveRequest, nowMs: number): Promise<ReserveResult> {
    this.checkReq(req);
    const k = accountKeys(acct);
    return EXTEND.json<ReserveResult>(this.redis, [k.account, k.reservations, k.live], [callId, req.min, req.max, nowMs]);
  }

  /** Records last-seen time and (once) the answer time; refused once recovery took the call. */
  async heartbeat(acct: string, callId: string, nowMs: number, answeredAt?: number): Promise<HeartbeatResult> {
    const k = accountKeys(acct);
    return HEARTBEAT.json<HeartbeatResult>(this.redis, [k.reservations, k.live], [callId, nowMs, answeredAt ?? 0]);
  }

  /** Debits exactly cost (capped by the reservation; the rest is shortfall); once per call. */
  async settle(acct: string, callId: string, cost: Money, cdrRef: string, now = Date.now()): Promise<SettleResult> {
    money('cost', cost);
    return this.settleAs('settle', acct, callId, cost, cdrRef, now);
  }

  /** Ends a call that never connected: the reservation is released, nothing debited. */
  async release(acct: string, callId: string, now = Date.now()): Promise<SettleResult> {
    return this.settleAs('release', acct, callId, 0, 'release', now);
  }

  /** @internal used by recovery */
  async settleAs(kind: SettleResult['kind'], acct: string, callId: string, cost: Money, cdrRef: string, now: number): Promise<SettleResult> {
    const k = accountKeys(acct);
    const r = await SETTLE.json<WithAlert<SettleResult>>(this.redis,
      [k.account, k.reservations, k.settlement(callId), k.history, k.usage(beijingMonth(now)), k.live],
      [acct, callId, cost, cdrRef, now, this.settlementTtlMs, kind]);
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    return this.withAlert(r.result!, r.alert);
  }

  /** Recovery's index of the account's live calls: callId → last heartbeat ms. */
  async liveIndex(acct: string): Promise<Map<string, number>> {
    const flat = await this.redis.zrange(accountKeys(acct).live, '0', '-1', 'WITHSCORES');
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
    return out;
  }

  async reservations(acct: string): Promise<Reservation[]> {
    const h = await this.redis.hgetall(accountKeys(acct).reservations);
    return Object.entries(h).map(([callId, json]) => ({ account: acct, callId, ...(JSON.parse(json) as Omit<Reservation, 'account' | 'callId'>) }));
  }

  // ── policies ──────────────────────────────────────────────────────────────────────────────

  /** 003 §7 / 002 §3.11: past validUntil the unused balance is zeroed by a 'forfeit' entry. */
  async forfeitIfExpired(acct: string, now: number): Promise<ForfeitResult> {
    const k = accountKeys(acct);
    const r = await FORFEIT.json<WithAlert<ForfeitResult>>(this.redis, [k.account, k.history], [now]);
    if (r.err === 'NO_ACCOUNT') throw noAccount(acct);
    return r.result!;
  }

  /** Finds reservations without a heartbeat for staleMs and settles them (see recovery.ts). */
  recoverOrphans(now: number, rateFn: RateFn, opts?: RecoverOptions): Promise<RecoveryOutcome[]> {
    return recoverOrphans(this, now, rateFn, opts);
  }

  private checkReq(req: ReserveRequest): void {
    money('min', req.min);
    money('max', req.max);
    if (req.min > req.max) throw new LedgerError('BAD_ARGUMENT', `min ${req.min} > max ${req.max}`);
  }

  /** Puts arrears steps on the global alert stream (outside the script: another Cluster slot). */
  private async withArrears<T extends { arrearsAlerts?: ArrearsAlert[] }>(result: T, alerts: ArrearsAlert[]): Promise<T> {
    for (const a of alerts) {
      await this.redis.xadd(this.alertStream.keyFor(a.account), 'MAXLEN', '~', 100_000, '*',
        'type', a.type, 'account', a.account, 'tenant', a.tenant, 'arrears', String(a.arrears), 'since', String(a.since),
        'time', String(a.time), 'entry', a.entry, ...(a.fee !== undefined ? ['fee', String(a.fee)] : []));
      this.opts.onArrears?.(a);
    }
    return alerts.length ? { ...result, arrearsAlerts: alerts } : result;
  }

  /** Puts a fired alert on the global stream (outside the script: another Cluster slot). */
  private async withAlert<T extends { alert?: LowBalanceAlert }>(result: T, alert: LowBalanceAlert | undefined): Promise<T> {
    if (!alert) return result;
    await this.redis.xadd(this.alertStream.keyFor(alert.account), 'MAXLEN', '~', 100_000, '*',
      'type', 'low-balance', 'account', alert.account, 'balance', String(alert.balance), 'reason', alert.reason,
      'prepaidTotal', String(alert.prepaidTotal), 'monthlyFees', String(alert.monthlyFees), 'time', String(alert.time));
    this.opts.onAlert?.(alert);
    return { ...result, alert };
  }
}

function parseHistory([streamId, kv]: [string, string[]]): HistoryEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < kv.length; i += 2) f[kv[i]!] = kv[i + 1]!;
  const e: HistoryEntry = {
    streamId, id: f.id ?? '', type: f.type ?? '', amount: Number(f.amount), balanceAfter: Number(f.balanceAfter),
    time: Number(f.time), note: f.note ?? '',
  };
  if (f.arrears) e.arrears = Number(f.arrears);
  return e;
}

/** An account from its hash (HGETALL); null when it has no balance field (no such account). */
function accountOf(acct: string, h: Record<string, string>): Account | null {
  if (!h.balance) return null;
  const n = (f: string): number => Number(h[f] ?? 0);
  const opt = (f: string): number | null => (h[f] ? Number(h[f]) : null);
  return {
    id: acct, tenant: h.tenant ?? '', status: (h.status ?? 'closed') as AccountStatus,
    balance: n('balance'), reserved: n('reserved'), available: n('balance') - n('reserved'),
    validFrom: n('validFrom'), validUntil: n('validUntil'), prepaidTotal: n('prepaidTotal'),
    monthlyFees: n('monthlyFees'), credits: n('credits'), debits: n('debits'), arrears: n('arrears'),
    arrearsSince: opt('arrearsSince'), lateFeeArrears: n('lateFeeArrears'), lateFees: n('lateFees'), closedAt: opt('closedAt'),
  };
}
