// Reads event-socket traces (test/traces/freeswitch/*-esl.txt, recorded by test/traces/record/) and
// reduces each connection to the kinds of messages that crossed it, in order: commands by name
// (`sendmsg hangup`, `api uuid_kill`), replies by outcome, events by name and application.
// Ids, times and variables are left out, so a stand-in run compares with a real one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TRACE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../traces/freeswitch');

export function readTrace(name: string): string {
  return fs.readFileSync(path.join(TRACE_DIR, name), 'utf8');
}

interface Chunk { conn: number; toFs: boolean; at: number; data: Buffer }

const HEAD = /^\[conn (\d+)\] (APP ==> FS|FS ==> APP) \+(\d+)ms$/gm;

/** Each chunk is `[conn N] DIR +Nms`, the raw text, and one separating newline. */
function chunks(text: string): Chunk[] {
  const heads = [...text.matchAll(HEAD)];
  return heads.map((m, i) => {
    const start = (m.index ?? 0) + m[0].length + 1;
    const end = i + 1 < heads.length ? (heads[i + 1]!.index ?? text.length) : text.length;
    const body = text.slice(start, end).replace(/\n$/, '');
    return { conn: Number(m[1]), toFs: m[2] === 'APP ==> FS', at: Number(m[3]), data: Buffer.from(body, 'utf8') };
  });
}

export interface EslStep { conn: number; at: number; step: string }

function commandStep(cmd: string): string {
  const first = cmd.split('\n')[0]!.trim();
  const word = first.split(/\s+/)[0] ?? '';
  if (word === 'sendmsg') return `sendmsg ${/execute-app-name: *(\S+)/.exec(cmd)?.[1] ?? /call-command: *(\S+)/.exec(cmd)?.[1] ?? ''}`;
  if (word === 'api' || word === 'bgapi') return `${word} ${first.split(/\s+/)[1] ?? ''}`;
  return word;
}

function headerOf(head: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(head)?.[1];
}

function messageStep(head: string, body: string): string {
  const type = headerOf(head, 'Content-Type');
  if (headerOf(head, 'Event-Name') === 'CHANNEL_DATA') return 'CHANNEL_DATA';
  if (type === 'command/reply') return `reply ${(headerOf(head, 'Reply-Text') ?? '').split(' ')[0]}`;
  if (type === 'api/response') return 'api-response';
  if (type === 'text/disconnect-notice') return `disconnect ${headerOf(head, 'Content-Disposition') ?? ''}`.trim();
  if (type === 'text/event-json') {
    const e = JSON.parse(body) as Record<string, string>;
    return [e['Event-Name'], e['Application'], e['Playback-Status'], e['Channel-Call-State'] === 'HANGUP' ? 'HANGUP' : undefined]
      .filter(Boolean).join(' ');
  }
  return type ?? 'unknown';
}

/** One message that crossed an event socket: a command (toFs) or a reply / event / notice. */
export interface EslMessage { conn: number; at: number; toFs: boolean; head: string; body: string }

/** Splits each connection's two byte streams into messages, ordered by time, then by arrival. */
export function eslMessages(text: string): EslMessage[] {
  const out: EslMessage[] = [];
  const bufs = new Map<string, Buffer>();
  for (const c of chunks(text)) {
    const key = `${c.conn}${c.toFs ? '>' : '<'}`;
    let buf = Buffer.concat([bufs.get(key) ?? Buffer.alloc(0), c.data]);
    for (;;) {
      const end = buf.indexOf('\n\n');
      if (end < 0) break;
      const head = buf.subarray(0, end).toString('utf8');
      if (c.toFs) {
        buf = buf.subarray(end + 2);
        if (head.trim()) out.push({ conn: c.conn, at: c.at, toFs: true, head: head.replace(/^\n+/, ''), body: '' });
        continue;
      }
      const len = Number(headerOf(head, 'Content-Length') ?? 0);
      if (buf.length < end + 2 + len) break;
      const body = buf.subarray(end + 2, end + 2 + len).toString('utf8');
      buf = buf.subarray(end + 2 + len);
      if (head.trim()) out.push({ conn: c.conn, at: c.at, toFs: false, head: head.replace(/^\n+/, ''), body });
    }
    bufs.set(key, buf);
  }
  return out;
}

/** Each message reduced to its kind (see the file comment). */
export function eslSteps(text: string): EslStep[] {
  return eslMessages(text).map((m) => ({ conn: m.conn, at: m.at, step: m.toFs ? commandStep(m.head) : messageStep(m.head, m.body) }));
}

/** The JSON events of one connection (numbered in order of first appearance), parsed. */
export function connEvents(text: string, nth: number): Array<Record<string, string>> {
  const msgs = eslMessages(text);
  const conn = [...new Set(msgs.map((m) => m.conn))][nth - 1];
  return msgs.filter((m) => m.conn === conn && !m.toFs && headerOf(m.head, 'Content-Type') === 'text/event-json')
    .map((m) => JSON.parse(m.body) as Record<string, string>);
}

/** The api/response bodies of one connection, each with the command that asked for it. */
export function connApi(text: string, nth: number): Array<{ command: string; body: string }> {
  const msgs = eslMessages(text);
  const conn = [...new Set(msgs.map((m) => m.conn))][nth - 1];
  const mine = msgs.filter((m) => m.conn === conn);
  const asked = mine.filter((m) => m.toFs && /^api /.test(m.head)).map((m) => m.head.split('\n')[0]!);
  const answers = mine.filter((m) => !m.toFs && headerOf(m.head, 'Content-Type') === 'api/response').map((m) => m.body);
  return answers.map((body, i) => ({ command: asked[i] ?? '', body }));
}

/** The steps of one connection (numbered in order of first appearance: 1st, 2nd ...), as strings. */
export function connSteps(steps: EslStep[], nth: number): string[] {
  const conns = [...new Set(steps.map((s) => s.conn))];
  const conn = conns[nth - 1];
  return steps.filter((s) => s.conn === conn).map((s) => s.step);
}
