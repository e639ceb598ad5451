// What FreeSWITCH says about its load and channels, read from its own words: the `status` api,
// HEARTBEAT events and `show channels as json` (formats as recorded from 1.10.12 in
// test/traces/freeswitch/watcher-*.txt), and the typed status dialgate shows of it on /health and
// /metrics. Pure: text in, figures out.

/** FreeSWITCH's load as it reports it (switch_core.c send_heartbeat, mod_commands.c status). */
export interface FreeSwitchLoad {
  /** Sessions (channels) FreeSWITCH counted when it reported. */
  sessions: number;
  /** Its session limit (switch.conf max-sessions). */
  maxSessions: number;
  /** Sessions created in the last whole second it measured (`N session(s) per Sec`). */
  sessionsPerSecond: number;
  /** The highest sessions per second of the last five minutes. */
  sessionsPerSecondPeak5m: number;
  /** Percent of CPU idle, as FreeSWITCH measures it. */
  idleCpu: number;
  /** Milliseconds since FreeSWITCH started, when it reported. */
  uptimeMs: number;
  version?: string;
}

/** What the watcher knows of FreeSWITCH (media/freeswitch-watcher.ts). */
export interface FreeSwitchHealth {
  /** The event socket watched, host:port (the `freeswitch` label on /metrics). */
  address: string;
  connected: boolean;
  /** Channels up now: CHANNEL_CREATE minus CHANNEL_DESTROY, checked against each `show channels`. */
  sessions: number;
  /** FreeSWITCH's own figures from its last HEARTBEAT (or `status` at connect); null before any. */
  maxSessions: number | null;
  sessionsPerSecond: number | null;
  sessionsPerSecondPeak5m: number | null;
  /** Percent. */
  idleCpu: number | null;
  uptimeSeconds: number | null;
  version: string | null;
  /** When those figures were reported (epoch ms, our clock). */
  reportedAt: number | null;
  /** Connections lost since start. */
  disconnects: number;
}

/** One reconciliation round (media/channel-reconciler.ts). */
export interface ReconcileReport {
  at: number;
  /** Channels FreeSWITCH listed. */
  channels: number;
  /** Channels held by this instance's calls. */
  held: number;
  killed: number;
  /** Orphan-looking channels left to another instance that is still up. */
  leftToOwner: number;
}

/** FreeSWITCH on /health and /metrics: the watcher's figures and the reconciler's. */
export interface FreeSwitchStatus extends FreeSwitchHealth {
  /** Orphan channels killed since start (dialgate_fs_orphans_killed_total). */
  orphansKilled: number;
  lastReconcile: ReconcileReport | null;
}

/** One row of `show channels as json`. */
export interface ChannelRow {
  uuid: string;
  name: string;
  /** Epoch seconds on FreeSWITCH's clock (informative: ages are measured on ours). */
  createdEpoch: number;
  state: string;
  application: string;
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};

/** `UP 0 years, 2 days, 3 hours, 4 minutes, 5 seconds, 6 milliseconds, 7 microseconds` → ms. */
function uptimeOf(line: string): number | undefined {
  const part = (unit: string) => Number(new RegExp(`(\\d+) ${unit}`).exec(line)?.[1] ?? 0);
  if (!/^UP /.test(line)) return undefined;
  const days = part('years?') * 365 + part('days?');
  return (((days * 24 + part('hours?')) * 60 + part('minutes?')) * 60 + part('seconds?')) * 1000 + part('milliseconds?');
}

/** Parses the `status` api reply; undefined when it is not one (an -ERR, or another text). */
export function parseStatus(text: string): FreeSwitchLoad | undefined {
  const lines = text.split('\n');
  const uptimeMs = uptimeOf(lines[0] ?? '');
  const sessions = /^(\d+) session\(s\) - peak/m.exec(text)?.[1];
  const sps = /^(\d+) session\(s\) per Sec out of max \d+, peak \d+, last 5min (\d+)/m.exec(text);
  const max = /^(\d+) session\(s\) max/m.exec(text)?.[1];
  const cpu = /^min idle cpu [\d.]+\/([\d.]+)/m.exec(text)?.[1];
  if (uptimeMs === undefined || sessions === undefined || !sps || max === undefined || cpu === undefined) return undefined;
  const version = /^FreeSWITCH \(Version (\S+)/m.exec(text)?.[1];
  return {
    sessions: Number(sessions),
    maxSessions: Number(max),
    sessionsPerSecond: Number(sps[1]),
    sessionsPerSecondPeak5m: Number(sps[2]),
    idleCpu: Number(cpu),
    uptimeMs,
    ...(version ? { version } : {}),
  };
}

/**
 * A HEARTBEAT event's figures. `Session-Per-Sec` there is what is left of the current second's
 * budget, not a rate; the rate is `Session-Per-Sec-Last` (switch_time.c).
 */
export function loadFromHeartbeat(get: (header: string) => string | undefined): FreeSwitchLoad | undefined {
  const sessions = num(get('Session-Count'));
  const maxSessions = num(get('Max-Sessions'));
  const sps = num(get('Session-Per-Sec-Last'));
  const peak = num(get('Session-Per-Sec-FiveMin'));
  const idleCpu = num(get('Idle-CPU'));
  const uptimeMs = num(get('Uptime-msec'));
  if (sessions === undefined || maxSessions === undefined || sps === undefined || idleCpu === undefined || uptimeMs === undefined) return undefined;
  const version = get('FreeSWITCH-Version');
  return {
    sessions, maxSessions, sessionsPerSecond: sps, sessionsPerSecondPeak5m: peak ?? sps, idleCpu, uptimeMs,
    ...(version ? { version } : {}),
  };
}

/**
 * `show channels as json`: `{"row_count": 0}` when there are none, else `{"row_count":N,"rows":[…]}`.
 * Throws on anything else (an -ERR reply), so a failed listing is never read as "no channels".
 */
export function parseChannelList(text: string): ChannelRow[] {
  let doc: { row_count?: unknown; rows?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new Error(`show channels: not a channel list: ${text.trim().slice(0, 120)}`);
  }
  if (typeof doc.row_count !== 'number') throw new Error(`show channels: no row_count in ${text.trim().slice(0, 120)}`);
  const rows = Array.isArray(doc.rows) ? doc.rows as Array<Record<string, unknown>> : [];
  return rows.filter((r) => typeof r['uuid'] === 'string' && r['uuid'] !== '').map((r) => ({
    uuid: String(r['uuid']),
    name: String(r['name'] ?? ''),
    createdEpoch: Number(r['created_epoch'] ?? 0),
    state: String(r['state'] ?? ''),
    application: String(r['application'] ?? ''),
  }));
}

/** `uuid_getvar` answers `_undef_` for an unset variable and `-ERR …` for a gone channel. */
export function getvarValue(reply: string): { gone: true } | { gone: false; value: string | null } {
  const v = reply.trim();
  if (v.startsWith('-ERR')) return { gone: true };
  return { gone: false, value: v === '_undef_' || v === '' ? null : v };
}
