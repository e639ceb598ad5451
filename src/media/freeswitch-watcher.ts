// FreeSWITCH through modesl: one inbound event socket of our own (beside drachtio-fsmrf's) that
// follows CHANNEL_CREATE / CHANNEL_DESTROY and HEARTBEAT, keeps FreeSWITCH's load figures, runs the
// api commands the channel reconciler needs, and reconnects with backoff when FreeSWITCH goes away.
// It never throws into the process: every failure is a log line and a reconnect.
import esl from 'modesl';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock, Timer } from '../calls/clock.js';
import { loadFromHeartbeat, parseChannelList, parseStatus, type ChannelRow, type FreeSwitchHealth, type FreeSwitchLoad } from './freeswitch-status.js';

export type { FreeSwitchHealth };

export interface EventSocketAddress {
  host: string;
  port: number;
  password: string;
}

export interface FreeSwitchWatcherOptions {
  /** Reconnect backoff and channel ages run on this clock (tests inject one). */
  clock: Clock;
  log: Logger;
  /** An api reply later than this means a hung event socket: the connection is dropped. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect delays: first, doubled per failure up to max. */
  backoff?: { firstMs: number; maxMs: number };
}

/** The events the watcher asks for; modesl subscribes its own two at auth, which we take back. */
const EVENTS = 'CHANNEL_CREATE CHANNEL_DESTROY HEARTBEAT';
const MODESL_EVENTS = 'BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE';
/** A CHANNEL_DESTROY can come before `show channels` (read from the core db) stops listing it. */
const DESTROYED_MEMORY_MS = 60_000;

export class FreeSwitchWatcher {
  private conn: esl.Connection | null = null;
  private socket: Socket | null = null;
  /** Auth accepted and subscriptions made: api commands may be sent. */
  private ready = false;
  private synced = false;
  private closed = false;
  private started = false;
  private retryTimer: Timer | null = null;
  private delayMs: number;
  private readonly pending = new Set<(err: Error) => void>();
  /** Channels up, with when we first saw each (our clock). */
  private readonly seen = new Map<string, number>();
  private readonly destroyed = new Map<string, number>();
  private load: FreeSwitchLoad | null = null;
  private loadAt: number | null = null;
  private disconnects = 0;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoff: { firstMs: number; maxMs: number };

  constructor(private readonly address: EventSocketAddress, private readonly o: FreeSwitchWatcherOptions) {
    this.commandTimeoutMs = o.commandTimeoutMs ?? 3_000;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 5_000;
    this.backoff = o.backoff ?? { firstMs: 1_000, maxMs: 30_000 };
    this.delayMs = this.backoff.firstMs;
  }

  /** Connected, subscribed and synchronised with FreeSWITCH's channel list. */
  get connected(): boolean { return this.synced; }

  /** Connects in the background and keeps reconnecting until stop(). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  stop(): void {
    this.closed = true;
    if (this.retryTimer) this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // `exit`, and FreeSWITCH says goodbye and closes; the socket is destroyed if it lingers.
    const sock = this.socket;
    try {
      if (this.ready) this.conn?.send('exit');
    } catch { /* already gone */ }
    this.socket = null;
    this.dropConnection(new Error('watcher stopped'));
    if (sock) setTimeout(() => sock.destroy(), 1_000).unref();
  }

  health(): FreeSwitchHealth {
    const l = this.load;
    const at = this.loadAt;
    return {
      address: `${this.address.host}:${this.address.port}`,
      connected: this.synced,
      sessions: this.seen.size,
      maxSessions: l?.maxSessions ?? null,
      sessionsPerSecond: l?.sessionsPerSecond ?? null,
      sessionsPerSecondPeak5m: l?.sessionsPerSecondPeak5m ?? null,
      idleCpu: l?.idleCpu ?? null,
      // Counted on from the report, so it stays right between heartbeats.
      uptimeSeconds: l && at !== null ? Math.floor((l.uptimeMs + Math.max(0, this.o.clock.now() - at)) / 1000) : null,
      version: l?.version ?? null,
      reportedAt: at,
      disconnects: this.disconnects,
    };
  }

  /** When this channel was first seen (CHANNEL_CREATE or a listing), on our clock. */
  firstSeen(uuid: string): number | undefined {
    return this.seen.get(uuid);
  }

  /**
   * FreeSWITCH's channels now (`show channels as json`), less those already reported destroyed;
   * the tracked set is brought in line with it.
   */
  async channels(): Promise<ChannelRow[]> {
    const askedAt = this.o.clock.now();
    const rows = parseChannelList(await this.api('show', 'channels as json'));
    const now = this.o.clock.now();
    for (const [uuid, at] of this.destroyed) if (now - at > DESTROYED_MEMORY_MS) this.destroyed.delete(uuid);
    const live = rows.filter((r) => !this.destroyed.has(r.uuid));
    const listed = new Set(live.map((r) => r.uuid));
    for (const r of live) if (!this.seen.has(r.uuid)) this.seen.set(r.uuid, now);
    // A CHANNEL_DESTROY missed while disconnected: drop channels known before we asked that are gone.
    for (const [uuid, at] of this.seen) if (!listed.has(uuid) && at < askedAt) this.seen.delete(uuid);
    return live;
  }

  /**
   * An api command's reply body (an -ERR is a reply too). Rejects when not connected, on disconnect,
   * and when no reply comes within the deadline (the connection is then dropped and rebuilt).
   */
  api(command: string, args = ''): Promise<string> {
    const conn = this.conn;
    if (!conn || !this.ready) return Promise.reject(new Error('FreeSWITCH event socket not connected'));
    return new Promise<string>((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => {
        // Replies are matched to commands in order: after a lost one nothing can be trusted.
        this.o.log.warn({ command, timeoutMs: this.commandTimeoutMs }, 'FreeSWITCH event socket did not answer: reconnecting');
        fail(new Error(`${command}: no reply within ${this.commandTimeoutMs} ms`));
        this.socket?.destroy();
      }, this.commandTimeoutMs);
      timer.unref();
      this.pending.add(fail);
      try {
        conn.api(command, args, (res) => {
          clearTimeout(timer);
          this.pending.delete(fail);
          resolve(res.getBody());
        });
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  // ---- connection ------------------------------------------------------------------------------

  private connect(): void {
    if (this.closed) return;
    const { host, port, password } = this.address;
    let conn: esl.Connection;
    try {
      conn = new esl.Connection(host, port, password, () => { void this.onAuthed(conn); });
    } catch (err) {
      this.o.log.warn({ err, host, port }, 'FreeSWITCH event socket: cannot connect');
      this.scheduleReconnect();
      return;
    }
    const sock = conn.socket!;
    this.conn = conn;
    this.socket = sock;
    sock.setNoDelay(true);
    // A server that never answers (a dropped SYN, a hung process) is given up on.
    sock.setTimeout(this.connectTimeoutMs, () => {
      if (!this.ready) sock.destroy(new Error(`no event socket greeting within ${this.connectTimeoutMs} ms`));
    });
    conn.on('error', (err: Error) => this.o.log.debug({ err, host, port }, 'FreeSWITCH event socket error'));
    conn.on('esl::event::auth::fail', () => {
      this.o.log.error({ host, port }, 'FreeSWITCH event socket refused the password (freeswitch.secret)');
      sock.destroy();
    });
    conn.on('esl::event::**', (evt: esl.Event) => this.onEvent(evt));
    sock.once('close', () => this.onClose(conn));
  }

  private async onAuthed(conn: esl.Connection): Promise<void> {
    if (conn !== this.conn || this.closed) return;
    this.socket?.setTimeout(0);
    this.ready = true;
    try {
      await this.command(conn, `event json ${EVENTS}`);
      // modesl subscribed us to every channel's CHANNEL_EXECUTE_COMPLETE and every BACKGROUND_JOB;
      // the watcher needs neither, and on a busy switch they are most of the traffic.
      await this.command(conn, `nixevent ${MODESL_EVENTS}`);
      const status = parseStatus(await this.api('status'));
      if (status) this.report(status);
      await this.channels();
    } catch (err) {
      if (conn === this.conn) {
        this.o.log.warn({ err }, 'FreeSWITCH event socket: subscribing failed; reconnecting');
        this.socket?.destroy();
      }
      return;
    }
    if (conn !== this.conn) return;
    this.synced = true;
    this.delayMs = this.backoff.firstMs;
    this.o.log.info({ host: this.address.host, port: this.address.port, sessions: this.seen.size }, 'FreeSWITCH watcher connected');
  }

  /** A command/reply, bounded like api(); -ERR rejects. */
  private command(conn: esl.Connection, text: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`${text}: no reply within ${this.commandTimeoutMs} ms`)), this.commandTimeoutMs);
      timer.unref();
      this.pending.add(fail);
      conn.sendRecv(text, (reply) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        const r = reply.getHeader('Reply-Text') ?? '';
        if (r.startsWith('-ERR')) reject(new Error(`${text}: ${r}`));
        else resolve(r);
      });
    });
  }

  private onEvent(evt: esl.Event): void {
    const name = evt.getHeader('Event-Name');
    if (name === 'CHANNEL_CREATE') {
      const uuid = evt.getHeader('Unique-ID');
      if (uuid && !this.seen.has(uuid)) this.seen.set(uuid, this.o.clock.now());
    } else if (name === 'CHANNEL_DESTROY') {
      const uuid = evt.getHeader('Unique-ID');
      if (uuid) {
        this.seen.delete(uuid);
        this.destroyed.set(uuid, this.o.clock.now());
      }
    } else if (name === 'HEARTBEAT') {
      const load = loadFromHeartbeat((h) => evt.getHeader(h));
      if (load) this.report(load);
    }
  }

  private report(load: FreeSwitchLoad): void {
    this.load = load;
    this.loadAt = this.o.clock.now();
  }

  private onClose(conn: esl.Connection): void {
    if (conn !== this.conn) return;
    const wasSynced = this.synced;
    this.dropConnection(new Error('FreeSWITCH event socket closed'));
    if (this.closed) return;
    if (wasSynced) {
      this.disconnects++;
      this.o.log.error({ host: this.address.host, port: this.address.port }, 'FreeSWITCH watcher lost the event socket; reconnecting');
    }
    this.scheduleReconnect();
  }

  private dropConnection(err: Error): void {
    const conn = this.conn;
    this.conn = null;
    this.ready = false;
    this.synced = false;
    for (const fail of [...this.pending]) fail(err);
    conn?.removeAllListeners();
    // modesl emits socket errors as 'error' events; one after this point must not be unhandled.
    conn?.on('error', () => undefined);
    this.socket?.destroy();
    this.socket = null;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.o.log.warn({ host: this.address.host, port: this.address.port, retryInMs: delay }, 'FreeSWITCH event socket unavailable');
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }
}
