// Every interval, compares FreeSWITCH's channels with what this instance holds and kills the
// orphans (uuid_kill), so a lost teardown never leaves media running: a release whose uuid_kill and
// BYE were both lost, or the bridged channels of an instance that crashed. Each kill is a log line
// and a count (dialgate_fs_orphans_killed_total). The decision is orphan-channels.ts; this is the
// adapter around it (timer, event socket, owner probe).
import { createConnection } from 'node:net';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../calls/clock.js';
import { getvarValue, type ChannelRow, type ReconcileReport } from './freeswitch-status.js';

export type { ReconcileReport };
import type { FreeSwitchWatcher } from './freeswitch-watcher.js';
import { orphanCandidates, ownerOf, verdict } from './orphan-channels.js';

export interface ReconcileSettings {
  enabled: boolean;
  intervalMs: number;
  /** A channel younger than this (since we first saw it) is never killed: it may be being set up. */
  graceMs: number;
}

export interface ChannelReconcilerDeps {
  watcher: Pick<FreeSwitchWatcher, 'connected' | 'channels' | 'firstSeen' | 'api'>;
  /** uuids of the FreeSWITCH channels this instance holds (live calls, endpoints being released). */
  held: () => ReadonlySet<string>;
  /** This instance's outbound event-socket address (its endpoints' X-esl-outbound); null when unknown. */
  self: () => string | null;
  /** Read at every round, so a config reload applies at the next one. */
  settings: () => ReconcileSettings;
  clock: Clock;
  log: Logger;
  /** Whether another instance's listener at host:port accepts a connection. Default: a TCP connect. */
  probe?: (address: string) => Promise<boolean>;
}

/** The header drachtio-fsmrf puts on every endpoint's INVITE: where FreeSWITCH connects back. */
const OWNER_VARIABLE = 'sip_h_X-esl-outbound';

export class ChannelReconciler {
  private timer: Timer | null = null;
  private stopped = true;
  private killedTotal = 0;
  private last: ReconcileReport | null = null;
  private running: Promise<ReconcileReport | null> | null = null;
  /** Owners (other instances) whose listener refused us, and for how many rounds in a row. */
  private readonly gone = new Map<string, number>();
  private readonly probe: (address: string) => Promise<boolean>;

  constructor(private readonly d: ChannelReconcilerDeps) {
    this.probe = d.probe ?? listening;
  }

  /** Orphans killed since start. */
  get killed(): number { return this.killedTotal; }
  get lastReport(): ReconcileReport | null { return this.last; }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.d.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.d.clock.setTimeout(() => {
      this.timer = null;
      void this.tick().finally(() => this.schedule());
    }, this.d.settings().intervalMs);
  }

  private async tick(): Promise<void> {
    if (!this.d.settings().enabled || !this.d.watcher.connected) return;
    await this.runOnce().catch((err: unknown) => this.d.log.warn({ err }, 'FreeSWITCH channel reconciliation failed'));
  }

  /** One round now (also what the timer runs); concurrent callers share the round in progress. */
  runOnce(): Promise<ReconcileReport | null> {
    this.running ??= this.round().finally(() => { this.running = null; });
    return this.running;
  }

  private async round(): Promise<ReconcileReport | null> {
    const { watcher, clock, log } = this.d;
    const rows = await watcher.channels();
    const now = clock.now();
    const held = this.d.held();
    const seen = rows.map((r) => ({ ...r, firstSeenAt: watcher.firstSeen(r.uuid) ?? now }));
    const candidates = orphanCandidates(seen, held, now, this.d.settings().graceMs);
    const report: ReconcileReport = { at: now, channels: rows.length, held: rows.filter((r) => held.has(r.uuid)).length, killed: 0, leftToOwner: 0 };
    const probed = new Map<string, boolean>();
    for (const ch of candidates) {
      const owner = getvarValue(await watcher.api('uuid_getvar', `${ch.uuid} ${OWNER_VARIABLE}`));
      if (owner.gone) continue;
      if (owner.value !== null && owner.value !== this.d.self() && !probed.has(owner.value)) {
        const up = await this.probe(owner.value).catch(() => false);
        probed.set(owner.value, up);
        this.gone.set(owner.value, up ? 0 : (this.gone.get(owner.value) ?? 0) + 1);
      }
      const v = verdict(ownerOf(owner.value, this.d.self(), (a) => this.gone.get(a) ?? 0));
      if (!v.orphan) {
        report.leftToOwner++;
        continue;
      }
      // A call may have taken the channel while we were asking: check again right before the kill.
      if (this.d.held().has(ch.uuid)) continue;
      if (await this.kill(ch, v.why, owner.value, clock.now() - ch.firstSeenAt)) report.killed++;
    }
    // Owners not met this round start counting again if they come back.
    for (const a of this.gone.keys()) if (!probed.has(a)) this.gone.delete(a);
    this.last = report;
    if (report.killed > 0) log.info({ ...report }, 'FreeSWITCH channels reconciled');
    else log.debug({ ...report }, 'FreeSWITCH channels reconciled');
    return report;
  }

  private async kill(ch: ChannelRow, why: string, owner: string | null, ageMs: number): Promise<boolean> {
    const reply = (await this.d.watcher.api('uuid_kill', ch.uuid)).trim();
    if (!reply.startsWith('+OK')) {
      // Gone meanwhile (-ERR No such channel!): it ended by itself.
      this.d.log.debug({ uuid: ch.uuid, reply }, 'orphan channel already gone');
      return false;
    }
    this.killedTotal++;
    this.d.log.warn({ uuid: ch.uuid, channel: ch.name, application: ch.application, owner, why, ageSeconds: Math.floor(ageMs / 1000) },
      'orphan FreeSWITCH channel killed (no live call holds it)');
    return true;
  }
}

/** Whether something accepts a TCP connection at `host:port` within 1 s. */
export function listening(address: string, timeoutMs = 1_000): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
