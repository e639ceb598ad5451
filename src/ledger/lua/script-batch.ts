// Scripts a turn of the event loop sends to one Redis server leave as one EVALSHA. A call takes its
// port, money, trunk slot and agent state in one turn, and under load several calls' turns meet:
// each EVALSHA costs ioredis ~10 µs and Redis ~10 µs before the script does anything, and each
// write wakes Redis. The batch runs a "library" script holding every LuaScript of the process, and
// runs the batch's scripts in order, each under pcall so that one failing script fails only its own
// caller.
//
// What stays the same: each script sees its own KEYS and ARGV, runs atomically, and its reply and
// errors reach its own caller unchanged. Order on the connection stays the order of the calls: a
// command that is not a batched script (a MULTI, a plain GET) sends the pending batch before itself.
// What changes: the scripts of one batch run back to back, nothing of other clients in between.
// Only on a single server (or a Sentinel's master): on Cluster the keys of one batch would span
// slots, so Cluster clients never batch.
import { createHash } from 'node:crypto';
import { ReplyError, type Redis } from 'ioredis';

type Arg = string | number;

export interface BatchableScript {
  readonly name: string;
  readonly sha: string;
  readonly source: string;
}

interface Evaluator {
  evalsha(sha: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  eval(src: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
}

/** EVALSHA, and EVAL (which loads it) only when the server answers NOSCRIPT. */
export async function evalCached(redis: object, sha: string, source: string, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown> {
  const r = redis as Evaluator;
  try {
    return await r.evalsha(sha, keys.length, ...keys, ...args);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
    return r.eval(source, keys.length, ...keys, ...args);
  }
}

interface Pending {
  script: BatchableScript;
  keys: readonly string[];
  args: readonly Arg[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Every script of the process, by sha: the library is built from them. */
const registry = new Map<string, BatchableScript>();
let library: { sha: string; source: string; size: number } | null = null;

export function registerScript(s: BatchableScript): void {
  if (!registry.has(s.sha)) registry.set(s.sha, s);
}

const RUNNER = `
local out, ki, ai = {}, 1, 2
for c = 1, tonumber(ARGV[1]) do
  local id, nk, na = ARGV[ai], tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2])
  ai = ai + 3
  local k, a = {}, {}
  for j = 1, nk do k[j] = KEYS[ki + j - 1] end
  for j = 1, na do a[j] = ARGV[ai + j - 1] end
  ki, ai = ki + nk, ai + na
  local ok, r = pcall(RUN, id, k, a)
  if not ok then
    out[c] = {0, type(r) == 'table' and r.err or tostring(r)}
  elseif type(r) == 'table' and r.err then
    out[c] = {0, r.err}
  else
    out[c] = {1, r}
  end
end
return out
`;

function currentLibrary(): { sha: string; source: string } {
  if (!library || library.size !== registry.size) {
    // One function dispatching on the sha: the chunk runs on every call, so it builds no closure
    // per script. (Called with a batch, so the registry holds at least its scripts.)
    const branches = [...registry.values()].map((s, i) => `${i === 0 ? 'if' : 'elseif'} id == '${s.sha}' then do\n${s.source}\nend`);
    const source = ['local function RUN(id, KEYS, ARGV)', ...branches, "else error('unknown script ' .. id) end\nend", RUNNER].join('\n');
    library = { sha: createHash('sha1').update(source).digest('hex'), source, size: registry.size };
  }
  return library;
}

class ScriptBatcher {
  private pending: Pending[] = [];

  constructor(private readonly redis: Redis) {
    // Whatever else is sent on this connection goes after the scripts called before it.
    const send = redis.sendCommand.bind(redis) as (...a: unknown[]) => unknown;
    (redis as unknown as { sendCommand: (...a: unknown[]) => unknown }).sendCommand = (...a: unknown[]) => {
      if (this.pending.length > 0) this.flush();
      return send(...a);
    };
  }

  run(script: BatchableScript, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const n = this.pending.push({ script, keys, args, resolve, reject });
      if (n === 1) process.nextTick(() => this.flush());
      // One script call holds Redis for its whole batch: under overload a turn can call hundreds.
      else if (n >= MAX_BATCH) this.flush();
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    if (batch.length === 1) {
      const c = batch[0]!;
      evalCached(this.redis, c.script.sha, c.script.source, c.keys, c.args).then(c.resolve, c.reject);
      return;
    }
    const keys: string[] = [];
    const argv: Arg[] = [batch.length];
    for (const c of batch) {
      keys.push(...c.keys);
      argv.push(c.script.sha, c.keys.length, c.args.length, ...c.args);
    }
    const lib = currentLibrary();
    evalCached(this.redis, lib.sha, lib.source, keys, argv)
      .then((reply) => {
        const rows = reply as Array<[number, unknown?]>;
        batch.forEach((c, i) => {
          const row = rows[i];
          if (row?.[0] === 1) c.resolve(row[1] ?? null);
          else c.reject(new ReplyError(String(row?.[1] ?? `no reply to ${c.script.name}`)));
        });
      }, (err: unknown) => { for (const c of batch) c.reject(err); });
  }
}

/** Scripts per batch at most (~30 µs each in Redis: a batch blocks other clients ≤ ~4 ms). */
export const MAX_BATCH = 128;

const batchers = new WeakMap<object, ScriptBatcher>();

/** From now on, scripts run on this client in one turn leave together (single server only). */
export function batchScripts(redis: Redis): void {
  if (!batchers.has(redis)) batchers.set(redis, new ScriptBatcher(redis));
}

export function batcherOf(redis: object): ScriptBatcher | undefined {
  return batchers.get(redis);
}
