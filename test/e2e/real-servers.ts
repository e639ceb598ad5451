// The e2e suites' second lane: the real drachtio-server and FreeSWITCH (../shared/realstack, or
// any pair named in DIALGATE_REAL_SERVERS) instead of the call bench's stand-ins. `npm run
// test:real` sets the variable; without it every suite runs on the bench as before.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { FreeSwitchStandIn } from '../bench/freeswitch/index.js';

export interface RealServers {
  drachtio: { host: string; port: number; secret: string };
  /** Where seats and carriers send SIP (drachtio's SIP address). */
  sip: string;
  esl: { host: string; port: number; password: string };
  /** drachtio's SIP-over-WebSocket URL (`ws=HOST:PORT`), for the WebRTC seat; absent when not given. */
  ws?: string;
}

/** realstack's loopback addresses (../shared/realstack/README.md). */
const REALSTACK = 'drachtio=127.0.0.1:9022/cymru,sip=127.0.0.1:5060,esl=127.0.0.1:8021/ClueCon';

/**
 * DIALGATE_REAL_SERVERS: `realstack`, or `drachtio=HOST:PORT/SECRET,sip=HOST:PORT,esl=HOST:PORT/PASSWORD[,ws=HOST:PORT]`.
 * Null when unset: the bench lane.
 */
export function realServers(env = process.env.DIALGATE_REAL_SERVERS): RealServers | null {
  if (!env) return null;
  const spec = env === 'realstack' || env === '1' ? REALSTACK : env;
  const parts = new Map(spec.split(',').map((p) => p.split('=') as [string, string]));
  const addr = (key: string): { host: string; port: number; secret: string } => {
    const v = parts.get(key);
    const m = v ? /^([^:/]+):(\d+)(?:\/(.*))?$/.exec(v) : null;
    if (!m) throw new Error(`DIALGATE_REAL_SERVERS: ${key}=HOST:PORT[/SECRET] missing or malformed in ${JSON.stringify(env)}`);
    return { host: m[1]!, port: Number(m[2]), secret: m[3] ?? '' };
  };
  const d = addr('drachtio');
  const s = addr('sip');
  const e = addr('esl');
  const ws = parts.has('ws') ? addr('ws') : null;
  return {
    drachtio: { ...d, secret: d.secret || 'cymru' }, sip: `${s.host}:${s.port}`, esl: { host: e.host, port: e.port, password: e.secret || 'ClueCon' },
    ...(ws ? { ws: `ws://${ws.host}:${ws.port}` } : {}),
  };
}

export const REAL = realServers();

/** Whether a TCP port answers (the real servers are up). */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** One event as the tests read it, from the stand-in's log or a real event socket. */
export interface ObservedEvent {
  name: string;
  event: { get(header: string): string | undefined };
}

/** What a test may look at on the media server, in either lane. */
export interface MediaView {
  readonly events: ObservedEvent[];
  /** Live channels (endpoints). */
  channelCount(): Promise<number>;
  close(): Promise<void>;
}

export function standInView(fs: FreeSwitchStandIn): MediaView {
  return {
    events: fs.events,
    channelCount: async () => fs.channels().length,
    close: async () => {},
  };
}

interface EslEvent { getHeader(name: string): string | undefined; getBody(): string }
interface EslConnection {
  on(event: string, fn: (...a: unknown[]) => void): void;
  events(type: string, list: string, cb?: () => void): void;
  api(command: string, cb: (res: EslEvent) => void): void;
  disconnect(): void;
}

/** Subscribes to a real FreeSWITCH's call events over the inbound event socket. */
export function realFreeSwitchView(o: RealServers['esl']): Promise<MediaView> {
  return new Promise((resolve, reject) => {
    const events: ObservedEvent[] = [];
    // modesl ships no types: the few calls used here are declared in EslConnection.
    const Conn = (createRequire(import.meta.url)('modesl') as { Connection: new (h: string, p: number, pw: string, cb: () => void) => EslConnection }).Connection;
    const conn: EslConnection = new Conn(o.host, o.port, o.password, () => {
      conn.events('plain', 'PLAYBACK_START PLAYBACK_STOP CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP_COMPLETE RECORD_START RECORD_STOP', () => {
        resolve({
          events,
          channelCount: () => new Promise((res) => conn.api('show channels count', (r) => res(Number(/(\d+) total/.exec(r.getBody())?.[1] ?? 0)))),
          close: async () => conn.disconnect(),
        });
      });
    });
    conn.on('error', (err) => reject(err as Error));
    conn.on('esl::event::**', (e) => {
      const evt = e as EslEvent;
      events.push({ name: evt.getHeader('Event-Name') ?? '', event: { get: (h) => evt.getHeader(h) } });
      if (events.length > 20_000) events.splice(0, 10_000);
    });
  });
}

let rtpFile: string | null = null;
/** Ten seconds of A-law speech-band tones for sipp's rtp_stream (real media needs real RTP). */
export function rtpAudioFile(): string {
  if (rtpFile && existsSync(rtpFile)) return rtpFile;
  const path = join(mkdtempSync(join(tmpdir(), 'dialgate-rtp-')), 'tones.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'a-law', path, 'synth', '10', 'sine', '300-3000', 'vol', '0.5']);
  rtpFile = path;
  return path;
}
