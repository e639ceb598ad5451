// One event-socket connection, inbound (the app connected to us) or outbound (we connected to the app
// for a channel), with mod_event_socket's command parser, subscriptions, filters and linger handling.
import type net from 'node:net';
import { FsEvent, nameEvent, type EventFormat } from './event.js';

export interface EslCommand {
  /** First line, e.g. `api status` or `sendmsg <uuid>`. */
  command: string;
  /** Further `Name: value` lines, raw (mod_event_socket does not URL-decode them). */
  headers: Array<[string, string]>;
  body?: string;
}

export function cmdHeader(cmd: EslCommand, name: string): string | undefined {
  const lower = name.toLowerCase();
  return cmd.headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** What a listener needs from the switch core. */
export interface EslHost {
  readonly password: string;
  /** Runs an API command; the reply text is exactly what follows the api/response headers. */
  api(command: string, arg: string | undefined, listener: EslListener): string;
  /** Runs `bgapi`: the BACKGROUND_JOB event is fired by the host. */
  bgapi(command: string, arg: string | undefined, jobUuid: string, owner: string | undefined): void;
  sendmsg(uuid: string | undefined, cmd: EslCommand, listener: EslListener): string;
  sendevent(name: string, cmd: EslCommand): string;
  /** CHANNEL_DATA for the `connect` reply of an outbound socket (already carrying the reply headers). */
  channelData(uuid: string): FsEvent | undefined;
  getvar(uuid: string, name: string): string | undefined;
  channelName(uuid: string): string | undefined;
  channelExists(uuid: string): boolean;
  newUuid(): string;
  onListenerClosed(listener: EslListener): void;
  log(listener: EslListener, dir: 'in' | 'out', text: string): void;
}

const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

/** The event set `myevents` turns on (mod_event_socket.c). */
const MYEVENTS = [
  'CHANNEL_ANSWER', 'CHANNEL_APPLICATION', 'CHANNEL_BRIDGE', 'CHANNEL_CREATE', 'CHANNEL_DATA', 'CHANNEL_DESTROY',
  'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_ORIGINATE',
  'CHANNEL_UUID', 'CHANNEL_OUTGOING', 'CHANNEL_PARK', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_STATE',
  'CHANNEL_UNBRIDGE', 'CHANNEL_UNPARK', 'DETECTED_SPEECH', 'DTMF', 'NOTALK', 'TALK',
];

let nextId = 1;

export class EslListener {
  readonly id = nextId++;
  private buffer = Buffer.alloc(0);
  authed: boolean;
  /** The channel this connection controls (outbound socket, or inbound after `myevents <uuid>`). */
  session: string | undefined;
  format: EventFormat = 'plain';
  private eventsOn = false;
  private readonly eventList = new Set<string>();
  private readonly customSubclasses = new Set<string>();
  private allCustom = false;
  private filters: Array<[string, string]> = [];
  private myevents = false;
  /** Seconds to linger after the channel hangs up; -1 = until the client closes; undefined = no linger. */
  private linger: number | undefined;
  private handlingDisco = false;
  private lingerTimer: unknown;
  private closed = false;

  constructor(
    readonly socket: net.Socket,
    private readonly host: EslHost,
    readonly outbound: boolean,
    session?: string,
    private readonly timers?: { set(fn: () => void, ms: number): unknown; clear(t: unknown): void },
  ) {
    this.authed = outbound;
    this.session = session;
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    if (!outbound) this.write('Content-Type: auth/request\n\n');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(text: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.host.log(this, 'out', text);
    this.socket.write(text);
  }

  private reply(text: string): void {
    // A reply starting with `~` carries its own headers (mod_event_socket's convention).
    if (text.startsWith('~')) this.write(`Content-Type: command/reply\n${text.slice(1)}`);
    else this.write(`Content-Type: command/reply\nReply-Text: ${text}\n\n`);
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      // read_packet skips blank lines between commands.
      let start = 0;
      while (start < this.buffer.length && (this.buffer[start] === 0x0a || this.buffer[start] === 0x0d)) start++;
      if (start > 0) this.buffer = this.buffer.subarray(start);
      const text = this.buffer.toString('latin1');
      const m = /\r?\n\r?\n/.exec(text);
      if (!m) return;
      const headText = Buffer.from(text.slice(0, m.index), 'latin1').toString('utf8');
      const lines = headText.split(/\r?\n/);
      const cmd: EslCommand = { command: lines[0]!.trim(), headers: [] };
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        cmd.headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^ +/, '')]);
      }
      const headBytes = m.index + m[0].length;
      const len = Number(cmdHeader(cmd, 'content-length') ?? 0);
      if (len > 0) {
        if (this.buffer.length < headBytes + len) return;
        cmd.body = this.buffer.subarray(headBytes, headBytes + len).toString('utf8');
        this.buffer = this.buffer.subarray(headBytes + len);
      } else this.buffer = this.buffer.subarray(headBytes);
      this.host.log(this, 'in', headText + '\n\n' + (cmd.body ?? ''));
      this.handle(cmd);
      if (this.closed) return;
    }
  }

  /** parse_command(), in the same order of checks as mod_event_socket. */
  private handle(cmd: EslCommand): void {
    const c = cmd.command;
    const lc = c.toLowerCase();
    if (lc.startsWith('exit') || lc.startsWith('...')) {
      this.reply('+OK bye');
      this.disconnect();
      return;
    }
    if (!this.authed) {
      if (lc.startsWith('auth ')) {
        if (c.slice(5) === this.host.password) {
          this.authed = true;
          this.reply('+OK accepted');
        } else {
          this.reply('-ERR invalid');
          this.disconnect();
        }
      } else if (lc.startsWith('userauth ')) {
        this.reply('-ERR invalid');
        this.disconnect();
      } else this.reply('-ERR command not found');
      return;
    }
    if (lc.startsWith('filter ')) return this.reply(this.filter(c.slice(7)));
    if (this.session && lc.startsWith('resume')) return this.reply('+OK');
    if (this.session || lc.startsWith('myevents ')) {
      if (lc.startsWith('connect')) {
        const ev = this.session ? this.host.channelData(this.session) : undefined;
        if (ev) this.write(ev.serializePlain());
        return;
      }
      if (lc.startsWith('getvar')) {
        const name = c.split(' ')[1];
        return this.reply((this.session && name ? this.host.getvar(this.session, name) : undefined) ?? '');
      }
      if (lc.startsWith('myevents')) return this.reply(this.myeventsCmd(c));
    }
    if (lc.startsWith('divert_events')) {
      if (!this.session) return this.reply('-ERR not controlling a session.');
      const v = c.slice(13).trim();
      if (!v) return this.reply('-ERR missing value.');
      return this.reply(v.toLowerCase() === 'on' ? '+OK events diverted' : '+OK events not diverted');
    }
    if (lc.startsWith('sendmsg')) {
      const uuid = c.slice(7).trim() || cmdHeader(cmd, 'session-id');
      return this.reply(this.host.sendmsg(uuid || undefined, cmd, this));
    }
    if (lc.startsWith('sendevent')) {
      return this.reply(this.host.sendevent(c.slice(9).trim(), cmd));
    }
    if (lc.startsWith('api ')) {
      const [name, arg] = splitFirst(c.slice(4).trim());
      const body = this.host.api(name, arg, this);
      const out = body.length > 0 ? body : '-ERR no reply\n';
      this.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(out)}\n\n${out}`);
      return;
    }
    if (lc.startsWith('bgapi ')) {
      const [name, arg] = splitFirst(c.slice(6).trim());
      const job = cmdHeader(cmd, 'job-uuid') ?? this.host.newUuid();
      this.reply(`~Reply-Text: +OK Job-UUID: ${job}\nJob-UUID: ${job}\n\n`);
      this.host.bgapi(name, arg, job, this.session);
      return;
    }
    if (lc.startsWith('log')) {
      const level = c.slice(3).trim().split(' ')[0] || 'debug';
      const levels: Record<string, number> = { console: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7 };
      const n = /^\d+$/.test(level) ? Number(level) : levels[level.toLowerCase()];
      return this.reply(n === undefined || n > 7 ? '-ERR invalid log level' : `+OK log level ${level} [${n}]`);
    }
    if (lc.startsWith('linger')) {
      if (!this.session) return this.reply('-ERR not controlling a session');
      const secs = c.slice(6).trim();
      this.linger = secs ? Number.parseInt(secs, 10) || 0 : -1;
      return this.reply(this.linger === -1 ? '+OK will linger' : `+OK will linger ${this.linger} seconds`);
    }
    if (lc.startsWith('nolinger')) {
      if (!this.session) return this.reply('-ERR not controlling a session');
      this.linger = undefined;
      return this.reply('+OK will not linger');
    }
    if (lc.startsWith('nolog')) return this.reply('-ERR not loging');
    if (lc.startsWith('event')) return this.reply(this.eventCmd(c));
    if (lc.startsWith('nixevent')) return this.reply(this.nixeventCmd(c));
    if (lc.startsWith('noevents')) {
      if (!this.eventsOn) return this.reply('-ERR not listening for events');
      this.eventsOn = false;
      this.eventList.clear();
      this.customSubclasses.clear();
      this.allCustom = false;
      return this.reply('+OK no longer listening for events');
    }
    this.reply('-ERR command not found');
  }

  private filter(rest: string): string {
    const s = rest.replace(/^ +/, '');
    const sp = s.indexOf(' ');
    let name = sp < 0 ? s : s.slice(0, sp);
    let value: string | undefined = sp < 0 ? undefined : s.slice(sp + 1);
    if (name.toLowerCase() === 'delete' && value !== undefined) {
      const sp2 = value.indexOf(' ');
      name = sp2 < 0 ? value : value.slice(0, sp2);
      const v = sp2 < 0 ? undefined : value.slice(sp2 + 1);
      if (name.toLowerCase() === 'all') this.filters = [];
      else this.filters = this.filters.filter(([n, fv]) => !(n.toLowerCase() === name.toLowerCase() && (v === undefined || fv === v)));
      return `+OK filter deleted. [${name}][${v ?? '(null)'}]`;
    }
    if (value === undefined) return '-ERR invalid syntax';
    if (name.toLowerCase() === 'add') {
      const sp2 = value.indexOf(' ');
      name = sp2 < 0 ? value : value.slice(0, sp2);
      value = sp2 < 0 ? '' : value.slice(sp2 + 1);
    }
    this.filters.push([name, value]);
    return `+OK filter added. [${name}]=[${value}]`;
  }

  private myeventsCmd(c: string): string {
    if (this.myevents) return '-ERR aready enabled.';
    if (!this.session) {
      const [uuid, fmt] = c.slice(9).trim().split(' ');
      if (uuid && this.host.channelExists(uuid)) this.session = uuid;
      else if (fmt) return '-ERR invalid uuid';
      if (fmt && ['xml', 'plain', 'json'].includes(fmt.toLowerCase())) this.format = fmt.toLowerCase() as EventFormat;
    }
    for (const e of MYEVENTS) this.eventList.add(e);
    this.myevents = true;
    this.eventsOn = true;
    if (/xml/i.test(c)) this.format = 'xml';
    if (/json/i.test(c)) this.format = 'json';
    return '+OK Events Enabled';
  }

  private eventCmd(c: string): string {
    const parts = c.split(' ').slice(1).filter((p) => p.length > 0);
    let keys = 0;
    let custom = false;
    parts.forEach((p, i) => {
      if (i === 0 && ['xml', 'plain', 'json'].includes(p.toLowerCase())) {
        this.format = p.toLowerCase() as EventFormat;
        return;
      }
      if (custom) {
        this.customSubclasses.add(p);
        return;
      }
      const name = nameEvent(p);
      if (!name) return;
      keys++;
      this.eventList.add(name);
      if (name === 'ALL') this.allCustom = true;
      if (name === 'CUSTOM') custom = true;
    });
    if (keys === 0) return '-ERR no keywords supplied';
    this.eventsOn = true;
    return `+OK event listener enabled ${this.format}`;
  }

  private nixeventCmd(c: string): string {
    const parts = c.split(' ').slice(1).filter((p) => p.length > 0);
    let keys = 0;
    let custom = false;
    for (const p of parts) {
      if (custom) {
        this.customSubclasses.delete(p);
        continue;
      }
      const name = nameEvent(p);
      if (!name) continue;
      keys++;
      if (name === 'CUSTOM') custom = true;
      else if (name === 'ALL') {
        this.eventList.clear();
        this.allCustom = false;
      } else this.eventList.delete(name);
    }
    if (keys === 0) return '-ERR no keywords supplied';
    this.eventsOn = true;
    return '+OK events nixed';
  }

  /** event_handler(): subscription, then filters, then the myevents restriction. */
  wants(ev: FsEvent): boolean {
    if (this.closed || !this.eventsOn) return false;
    let send = false;
    if (this.eventList.has('ALL')) send = true;
    else if (this.eventList.has(ev.name)) {
      send = ev.name !== 'CUSTOM' || !ev.subclass || this.allCustom || this.customSubclasses.has(ev.subclass);
    }
    if (send && this.filters.length > 0) {
      send = false;
      for (const [name, raw] of this.filters) {
        const hval = ev.get(name);
        if (hval === undefined) continue;
        let pos = true;
        let compTo = raw;
        while (compTo.length > 0 && (compTo[0] === '+' || compTo[0] === '-' || compTo[0] === ' ')) {
          if (compTo[0] === '+') pos = true;
          else if (compTo[0] === '-') pos = false;
          compTo = compTo.slice(1);
        }
        if (send && pos) continue;
        let cmp: boolean;
        if (raw.startsWith('/')) {
          try {
            cmp = new RegExp(compTo.replace(/^\/|\/$/g, '')).test(hval);
          } catch {
            cmp = false;
          }
        } else cmp = hval.toLowerCase() === compTo.toLowerCase();
        if (cmp) {
          if (pos) send = true;
          else {
            send = false;
            break;
          }
        }
      }
    }
    if (send && this.myevents) {
      const uuid = ev.get('Unique-ID');
      if (!uuid || (this.session && uuid !== this.session)) send = false;
      if (this.session && this.session === ev.get('Job-Owner-UUID')) send = true;
    }
    return send;
  }

  deliver(ev: FsEvent): void {
    if (this.handlingDisco && this.linger === undefined) return;
    const body = ev.serialize(this.format);
    this.write(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-${this.format}\n\n${body}`);
  }

  /** The controlled channel went down: linger notice and timer, or goodbye and close. */
  channelDown(): void {
    if (this.handlingDisco || this.closed) return;
    this.handlingDisco = true;
    if (this.linger === undefined) {
      this.disconnect();
      return;
    }
    const name = this.session ? this.host.channelName(this.session) ?? '' : '';
    this.write(
      `Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${this.session}\nContent-Disposition: linger\n` +
        `Channel-Name: ${name}\nLinger-Time: ${this.linger}\nContent-Length: 0\n\n`,
    );
    if (this.linger >= 0 && this.timers) this.lingerTimer = this.timers.set(() => this.disconnect(), this.linger * 1000);
  }

  /** send_disconnect() then close, as at the end of listener_run. */
  disconnect(): void {
    if (this.closed) return;
    const msg = GOODBYE;
    const head = this.session
      ? `Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${this.session}\nContent-Disposition: disconnect\nContent-Length: ${msg.length}\n\n`
      : `Content-Type: text/disconnect-notice\nContent-Length: ${msg.length}\n\n`;
    this.write(head + msg);
    this.socket.end();
    this.destroy();
  }

  /** Forget the connection (socket closed, errored, or stop()). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.timers?.clear(this.lingerTimer);
    if (!this.socket.destroyed) this.socket.destroySoon?.();
    this.host.onListenerClosed(this);
  }
}

function splitFirst(s: string): [string, string | undefined] {
  const i = s.indexOf(' ');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
