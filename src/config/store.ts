// ConfigStore: the running config snapshot, swapped atomically on reload.
// Readers call current() once per call and keep that reference, so a call in progress finishes on
// the snapshot it started with. An invalid change never replaces the running snapshot: it is
// logged and kept as lastError for the health endpoint and `dialgate status`.
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BlacklistCache } from './blacklist.js';
import { diffSnapshots, formatDiff, type ConfigDiff } from './diff.js';
import { formatErrors, type ConfigError, type ConfigWarning } from './errors.js';
import { loadConfig, type LoadOptions } from './load.js';
import type { ConfigSnapshot } from './types.js';

/** The part of a pino logger the store uses. */
export interface ConfigLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ReloadedEvent { version: string; previousVersion: string; diff: ConfigDiff; warnings: ConfigWarning[]; reason: string }
export interface RejectedEvent { errors: ConfigError[]; warnings: ConfigWarning[]; keptVersion: string; reason: string }

export interface ConfigStoreEvents {
  reloaded: [ReloadedEvent];
  rejected: [RejectedEvent];
}

export interface ReloadFailure { at: number; reason: string; errors: ConfigError[] }

export type ReloadResult =
  | { ok: true; version: string; diff: ConfigDiff; warnings: ConfigWarning[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

export interface ConfigStatus {
  dir: string;
  version: string;
  loadedAt: number;
  lastReloadAttemptAt: number;
  /** Set while the files on disk are invalid and the previous config is running. */
  lastError: ReloadFailure | null;
  warnings: ConfigWarning[];
}

export interface ConfigStoreOptions extends Omit<LoadOptions, 'blacklistCache'> {
  logger?: ConfigLogger;
  /** Quiet time after the last file event before a reload (editors write in bursts). */
  debounceMs?: number;
}

export class ConfigLoadError extends Error {
  constructor(readonly errors: ConfigError[], readonly warnings: ConfigWarning[]) {
    super(`invalid config:\n${formatErrors(errors)}`);
  }
}

const silent: ConfigLogger = { info() {}, warn() {}, error() {} };

/** Editor droppings and temp files that should not trigger a reload. */
const IGNORED = /(^\.|~$|\.sw[a-p]$|\.tmp$|^4913$)/;
/** Files dialgate itself writes (CDR lines, recordings, logs): never config input. */
const OUTPUT_FILES = /\.(jsonl|wav|log|pid)$/;

export class ConfigStore extends EventEmitter<ConfigStoreEvents> {
  private snapshot: ConfigSnapshot;
  private warningList: ConfigWarning[];
  private failure: ReloadFailure | null = null;
  private attemptAt: number;
  private running: Promise<ReloadResult> | null = null;
  private queued: Promise<ReloadResult> | null = null;
  private readonly watchers = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | null = null;
  private readonly log: ConfigLogger;
  private readonly resync = (): void => void this.syncWatchers();

  private constructor(
    readonly dir: string,
    first: { snapshot: ConfigSnapshot; warnings: ConfigWarning[] },
    private readonly opts: ConfigStoreOptions,
    private readonly cache: BlacklistCache,
  ) {
    super();
    this.snapshot = first.snapshot;
    this.warningList = first.warnings;
    this.attemptAt = first.snapshot.loadedAt;
    this.log = opts.logger ?? silent;
  }

  /** Loads `dir`; throws ConfigLoadError if it is invalid (the server must not start on it). */
  static async open(dir: string, opts: ConfigStoreOptions = {}): Promise<ConfigStore> {
    const cache = new BlacklistCache();
    const r = await loadConfig(dir, { ...opts, blacklistCache: cache });
    if (!r.ok) throw new ConfigLoadError(r.errors, r.warnings);
    const store = new ConfigStore(dir, r, opts, cache);
    (opts.logger ?? silent).info({ version: short(r.snapshot.version), warnings: r.warnings.length }, 'config loaded');
    return store;
  }

  /** The running snapshot. Take it once per call and keep it for the call's lifetime. */
  current(): ConfigSnapshot {
    return this.snapshot;
  }

  get lastError(): ReloadFailure | null {
    return this.failure;
  }

  status(): ConfigStatus {
    return {
      dir: this.dir,
      version: this.snapshot.version,
      loadedAt: this.snapshot.loadedAt,
      lastReloadAttemptAt: this.attemptAt,
      lastError: this.failure,
      warnings: this.warningList,
    };
  }

  /**
   * Re-reads the directory. Reloads never overlap: a request during a reload queues one more
   * reload after it (several requests share that one), so the last file state always wins.
   */
  reload(reason = 'manual'): Promise<ReloadResult> {
    if (!this.running) {
      this.running = this.doReload(reason).finally(() => { this.running = null; });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = null;
      return this.reload(reason);
    });
    return this.queued;
  }

  private async doReload(reason: string): Promise<ReloadResult> {
    const now = this.opts.now ?? Date.now;
    this.attemptAt = now();
    const previous = this.snapshot;
    let r;
    try {
      r = await loadConfig(this.dir, { ...this.opts, blacklistCache: this.cache });
    } catch (e) {
      r = { ok: false as const, errors: [{ file: this.dir, line: 0, column: 0, field: '', message: `reload failed: ${(e as Error).message}` }], warnings: [] };
    }
    if (!r.ok) {
      this.failure = { at: this.attemptAt, reason, errors: r.errors };
      this.log.error({ reason, keptVersion: short(previous.version), errors: r.errors.slice(0, 20) },
        `config reload rejected (${r.errors.length} error(s)); still running ${short(previous.version)}\n${formatErrors(r.errors.slice(0, 20))}`);
      this.emit('rejected', { errors: r.errors, warnings: r.warnings, keptVersion: previous.version, reason });
      return r;
    }
    const diff = diffSnapshots(previous, r.snapshot);
    this.snapshot = r.snapshot; // the swap: one assignment, seen whole by every later current()
    this.warningList = r.warnings;
    this.failure = null;
    this.log.info({ reason, version: short(r.snapshot.version), previousVersion: short(previous.version), diff: formatDiff(diff), warnings: r.warnings.length },
      `config reloaded: ${formatDiff(diff)}`);
    const server = diff.find((d) => d.kind === 'server');
    if (server) {
      this.log.warn({ fields: server.changed }, `server settings changed (${server.changed.join(', ')}): they take effect after a restart`);
    }
    this.emit('reloaded', { version: r.snapshot.version, previousVersion: previous.version, diff, warnings: r.warnings, reason });
    return { ok: true, version: r.snapshot.version, diff, warnings: r.warnings };
  }

  /** Reloads on changes in the directory, its subdirectories (lists/, seats/ ...) after a debounce. */
  async watch(): Promise<void> {
    await this.syncWatchers();
    this.off('reloaded', this.resync).on('reloaded', this.resync); // new subdirectories get watched
  }

  private async syncWatchers(): Promise<void> {
    const dirs = new Set([this.dir]);
    // Output directories placed inside the config directory (CDRs, recordings) change all the
    // time while calls flow: watching them would keep re-arming the debounce and delay reloads.
    const server = this.snapshot.server;
    const outputs = [server?.cdr.dir, server?.freeswitch.recordingDir].filter((d): d is string => !!d).map((d) => resolve(this.dir, d));
    try {
      for (const e of await readdir(this.dir, { withFileTypes: true })) {
        const sub = join(this.dir, e.name);
        if (e.isDirectory() && !e.name.startsWith('.') && !outputs.includes(sub)) dirs.add(sub);
      }
    } catch (e) {
      this.log.warn({ err: e }, 'cannot list config directory for watching');
    }
    for (const [d, w] of this.watchers) if (!dirs.has(d)) { w.close(); this.watchers.delete(d); }
    for (const d of dirs) {
      if (this.watchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, (_event, name) => {
          if (name && (IGNORED.test(String(name)) || OUTPUT_FILES.test(String(name)))) return;
          this.schedule(`file change: ${d === this.dir ? '' : `${d.slice(this.dir.length + 1)}/`}${name ?? '?'}`);
        });
        w.on('error', () => { w.close(); this.watchers.delete(d); });
        this.watchers.set(d, w);
      } catch (e) {
        this.log.warn({ dir: d, err: e }, 'cannot watch config directory');
      }
    }
  }

  private schedule(reason: string): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.reload(reason);
    }, this.opts.debounceMs ?? 300);
    this.debounce.unref();
  }

  /** Stops watching; the store keeps serving its snapshot. */
  close(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.off('reloaded', this.resync);
  }
}

/** Reload on SIGHUP (the conventional "re-read your config"); returns the unhook function. */
export function reloadOnSighup(store: ConfigStore, proc: NodeJS.EventEmitter = process): () => void {
  const handler = (): void => void store.reload('SIGHUP');
  proc.on('SIGHUP', handler);
  return () => { proc.off('SIGHUP', handler); };
}

function short(version: string): string {
  return version.slice(0, 12);
}
