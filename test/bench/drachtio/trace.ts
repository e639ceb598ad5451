// Reads the recorded drachtio wire traces (/work/shared/traces/drachtio/*.txt) and reduces frames
// to comparable shapes: which kind of frame, which fields are filled and how, which ids refer back
// to earlier frames, and the SIP start line and header names. Ids, times and tags are abstracted.
import type { FrameDirection, FrameRecord } from './standin.js';

export interface TraceFrame {
  dir: FrameDirection;
  at: number;
  /** The declared `len=` (the frame's byte length on the wire). */
  len: number;
  /** The payload with CRLF line ends restored. */
  payload: string;
}

const HEADER = /^(APP ==> SERVER|SERVER ==> APP) \+(\d+)ms len=(\d+)$/gm;

/**
 * The trace files store each frame as a `DIR +Nms len=N` line, the payload with LF line ends,
 * and a blank line. CRLF is restored so payload byte lengths match `len`.
 */
export function parseTraceFile(text: string): TraceFrame[] {
  const heads = [...text.matchAll(HEADER)];
  return heads.map((m, i) => {
    const start = (m.index ?? 0) + m[0].length + 1;
    const end = i + 1 < heads.length ? (heads[i + 1]!.index ?? text.length) : text.length;
    let body = text.slice(start, end);
    body = body.replace(/\n\n$/, '');
    return {
      dir: m[1] as FrameDirection,
      at: Number(m[2]),
      len: Number(m[3]),
      payload: body.replace(/\r?\n/g, '\r\n'),
    };
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KEYWORDS = new Set([
  'sip', 'response', 'network', 'application', 'udp', 'tcp', 'OK', 'NOK', 'NO', 'Msg sent:', 'route', 'authenticate',
  'continue', 'done', 'pong', 'ping', 'proxy', 'unsolicited', 'remove_route', 'register', 'invite', 'options',
  'bye', 'info', 'message', 'notify', 'subscribe', 'publish', 'cymru', 'remainInDialog', 'fullResponse', 'serial',
]);

/**
 * Symbolic ids. The app's message ids are numbered by their order among the app's frames (`A#k`),
 * everything the server mints (transaction ids `S#k`, dialog ids `D#k`) by its order among the
 * server's frames, so that a different interleaving of the two directions does not renumber.
 */
export class IdMap {
  private readonly ids = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  assign(id: string, prefix: string): string {
    let s = this.ids.get(id);
    if (!s) {
      const n = (this.counters.get(prefix) ?? 0) + 1;
      this.counters.set(prefix, n);
      s = `${prefix}#${n}`;
      this.ids.set(id, s);
    }
    return s;
  }
  sym(id: string, kind: 'uuid' | 'dialog'): string {
    return this.ids.get(id) ?? this.assign(id, kind === 'dialog' ? 'D' : 'X');
  }
  /** Pre-numbers the ids of a flow (see above). */
  prepare(frames: Array<{ dir: FrameDirection; payload: string }>): void {
    const firstLine = (p: string) => (p.indexOf('\r\n') < 0 ? p : p.slice(0, p.indexOf('\r\n'))).split('|');
    for (const f of frames) {
      if (f.dir !== 'APP ==> SERVER') continue;
      const id = firstLine(f.payload)[0];
      if (id && UUID.test(id)) this.assign(id, 'A');
    }
    for (const f of frames) {
      if (f.dir !== 'SERVER ==> APP') continue;
      firstLine(f.payload).forEach((t, i) => {
        if (i === 0) return;
        if (UUID.test(t)) this.assign(t, 'S');
        else if (t.includes(';from-tag=')) this.assign(t, 'D');
      });
    }
  }
}

function tokenShape(tok: string, ids: IdMap): string {
  if (tok === '') return '';
  if (UUID.test(tok)) return ids.sym(tok, 'uuid');
  if (tok.includes(';from-tag=')) return ids.sym(tok, 'dialog');
  if (KEYWORDS.has(tok)) return tok;
  if (/^\d{2}:\d{2}:\d{2}\.\d{6}$/.test(tok)) return 'TIME';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(tok)) return 'IP';
  if (/^\d+$/.test(tok)) return 'NUM';
  if (/^(udp|tcp|tls|wss?)\/[^,]+(,(udp|tcp|tls|wss?)\/[^,]+)*$/.test(tok)) return 'HOSTPORTS';
  if (/^v?\d+\.\d+\.\d+/.test(tok)) return 'VERSION';
  return 'TEXT';
}

export interface FrameShape {
  dir: FrameDirection;
  fields: string[];
  /** `INVITE`, `BYE`, `200`, `486` ...; empty for frames without a SIP message. */
  sipStart: string;
  /** Header names of the SIP message, lower case, in order. */
  headerNames: string[];
  /** Request-URI of a SIP request (with host/port/user abstracted), to see e.g. `sip:placeholder` being filled. */
  uriShape: string;
}

export function frameShape(dir: FrameDirection, payload: string, ids: IdMap): FrameShape {
  const crlf = payload.indexOf('\r\n');
  const first = crlf < 0 ? payload : payload.slice(0, crlf);
  const rest = crlf < 0 ? '' : payload.slice(crlf + 2);
  const tokens = first.split('|');
  // the server's own frame ids are never referred to; everything else is numbered by first use
  const fields = tokens.map((t, i) => (i === 0 && dir === 'SERVER ==> APP' ? 'UUID' : tokenShape(t, ids)));
  let sipStart = '';
  let uriShape = '';
  const headerNames: string[] = [];
  if (rest.length > 0) {
    const head = rest.split('\r\n\r\n')[0] ?? '';
    const lines = head.split('\r\n');
    const start = lines.shift() ?? '';
    const resp = /^SIP\/2\.0 (\d{3})/.exec(start);
    const req = /^([A-Z]+) (\S+) SIP\/2\.0/.exec(start);
    if (resp) sipStart = resp[1]!;
    else if (req) {
      sipStart = req[1]!;
      uriShape = req[2]!.includes('placeholder') ? 'sip:placeholder'
        : req[2]!.replace(/^(sips?):(?:[^@]+@)?[^;]+/, (_m, s: string) => `${s}:${req[2]!.includes('@') ? 'USER@' : ''}HOST`);
    }
    for (const l of lines) {
      const c = l.indexOf(':');
      if (c > 0) headerNames.push(l.slice(0, c).trim().toLowerCase());
    }
  }
  return { dir, fields, sipStart, headerNames, uriShape };
}

export function shapesOf(frames: Array<{ dir: FrameDirection; payload: string }>): FrameShape[] {
  const ids = new IdMap();
  ids.prepare(frames);
  return frames.map((f) => frameShape(f.dir, f.payload, ids));
}

export function describe(s: FrameShape): string {
  return `${s.dir} [${s.fields.join('|')}] ${s.sipStart} ${s.uriShape} {${s.headerNames.join(',')}}`;
}

function lcs(a: string[], b: string[]): number {
  const dp: number[] = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let prev = 0;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = a[i - 1] === b[j - 1] ? prev + 1 : Math.max(dp[j]!, dp[j - 1]!);
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export interface Comparison {
  ok: boolean;
  problems: string[];
  expected: string[];
  actual: string[];
}

/**
 * Compares a recorded flow with a trace. Per direction, the frames must be the same kinds in the
 * same order; between directions a frame may be one place off, since the app and the network race.
 * `ignoreHeaderNamesOf` lists SIP start lines whose headers come from elsewhere (e.g. FreeSWITCH).
 */
export function compareFlows(trace: Array<{ dir: FrameDirection; payload: string }>,
  recorded: Array<{ dir: FrameDirection; payload: string }>, opts: { maxReorder?: number } = {}): Comparison {
  const exp = shapesOf(trace).map(describe);
  const act = shapesOf(recorded).map(describe);
  const problems: string[] = [];
  const perDir = (dir: FrameDirection) => {
    const e = exp.filter((s) => s.startsWith(dir));
    const a = act.filter((s) => s.startsWith(dir));
    if (e.length !== a.length) problems.push(`${dir}: expected ${e.length} frames, got ${a.length}`);
    const sortedE = [...e].sort();
    const sortedA = [...a].sort();
    for (const s of sortedE) {
      const i = sortedA.indexOf(s);
      if (i >= 0) sortedA.splice(i, 1);
      else problems.push(`missing: ${s}`);
    }
    for (const s of sortedA) problems.push(`unexpected: ${s}`);
    const common = lcs(e, a);
    if (common < Math.min(e.length, a.length) - (opts.maxReorder ?? 1)) problems.push(`${dir}: order differs`);
  };
  perDir('SERVER ==> APP');
  perDir('APP ==> SERVER');
  return { ok: problems.length === 0, problems, expected: exp, actual: act };
}

export function framesSince(frames: FrameRecord[], from: number): FrameRecord[] {
  return frames.slice(from);
}
