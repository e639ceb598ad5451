// Every FreeSWITCH operation a call waits on has a deadline derived from what it does, because
// FreeSWITCH does not always finish on its own: a prompt to a leg that sends no RTP stalls
// (seen on 1.10.12 with and without enable-timer), and a channel inside uuid_bridge never runs the
// `execute hangup` that drachtio-fsmrf's Endpoint.destroy() queues. Past a deadline the call
// stops the operation (uuid_break, uuid_kill) and goes on; nothing waits for FreeSWITCH forever.
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** An api command (uuid_break, uuid_kill, uuid_broadcast): a reply takes milliseconds. */
export const ESL_COMMAND_TIMEOUT_MS = 3_000;
/** Added to a prompt's own length (setup, jitter, a loaded media server). */
export const PROMPT_MARGIN_MS = 2_000;
/** A prompt whose length cannot be known here (not one of our shipped files). */
export const UNKNOWN_PROMPT_MS = 30_000;
/** Endpoint release: FreeSWITCH's BYE after uuid_kill normally takes a few ms. */
export const RELEASE_TIMEOUT_MS = 2_000;

export class MediaDeadlineError extends Error {
  constructor(readonly operation: string, readonly ms: number) {
    super(`${operation} not done within ${ms} ms`);
    this.name = 'MediaDeadlineError';
  }
}

/**
 * Resolves or rejects with `p`, or rejects with MediaDeadlineError after `ms`. A value that comes
 * after the deadline goes to `onLate` (an endpoint or dialog nobody will use: released there).
 */
export function withDeadline<T>(p: Promise<T>, ms: number, operation: string, onLate?: (value: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new MediaDeadlineError(operation, ms));
    }, ms);
  });
  // a rejection after the deadline is nobody's business
  p.then((v) => { if (timedOut) onLate?.(v); }, () => {});
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Where prompts named relative to FreeSWITCH's sounds_dir can be read here, to learn their
 * length: the project's freeswitch/sounds is `dialgate/` under sounds_dir (docker-compose mounts
 * it at /usr/local/freeswitch/sounds/dialgate).
 */
export interface PromptFiles {
  /** Local copy of the files FreeSWITCH sees as `<sounds_dir>/dialgate/...`. */
  localDir: string;
}

const durations = new Map<string, { mtimeMs: number; ms: number | null }>();

/** Length of a PCM WAV file from its header, or null when it is not one. */
export function wavDurationMs(path: string): number | null {
  let st;
  try { st = statSync(path); } catch { return null; }
  const cached = durations.get(path);
  if (cached && cached.mtimeMs === st.mtimeMs) return cached.ms;
  let ms: number | null = null;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n >= 12 && head.toString('ascii', 0, 4) === 'RIFF' && head.toString('ascii', 8, 12) === 'WAVE') {
      let byteRate = 0;
      for (let off = 12; off + 8 <= n;) {
        const id = head.toString('ascii', off, off + 4);
        const size = head.readUInt32LE(off + 4);
        if (id === 'fmt ' && off + 16 <= n) byteRate = head.readUInt32LE(off + 16);
        if (id === 'data') {
          // A streaming writer may leave the size 0 or 0xffffffff: use the file size instead.
          const bytes = size === 0 || size === 0xffffffff ? st.size - off - 8 : size;
          if (byteRate > 0) ms = Math.round((bytes / byteRate) * 1000);
          break;
        }
        off += 8 + size + (size % 2);
      }
    }
  } catch {
    ms = null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  durations.set(path, { mtimeMs: st.mtimeMs, ms });
  return ms;
}

/** `tone_stream://%(on,off,freq);loops=N` and `silence_stream://ms`: their length, or null. */
function streamDurationMs(file: string): number | null {
  const silence = /^silence_stream:\/\/(\d+)/.exec(file);
  if (silence) return Number(silence[1]);
  if (!file.startsWith('tone_stream://')) return null;
  const loops = Number(/;loops=(-?\d+)/.exec(file)?.[1] ?? 1);
  if (loops < 0) return null; // endless
  let once = 0;
  for (const m of file.matchAll(/%\((\d+),(\d+),/g)) once += Number(m[1]) + Number(m[2]);
  return once > 0 ? once * Math.max(1, loops) : null;
}

/** How long a prompt plays, when that can be known here; null otherwise. */
export function promptDurationMs(file: string, files?: PromptFiles): number | null {
  const stream = streamDurationMs(file);
  if (stream !== null || file.includes('://')) return stream;
  if (!files) return null;
  const m = /^(?:\/usr\/local\/freeswitch\/sounds\/)?dialgate\/(.+)$/.exec(file);
  if (!m || m[1]!.split('/').includes('..')) return null;
  return wavDurationMs(join(files.localDir, m[1]!));
}

/** The deadline for playing `file` once. */
export function promptDeadlineMs(file: string, files?: PromptFiles): number {
  const ms = promptDurationMs(file, files);
  return ms === null ? UNKNOWN_PROMPT_MS : ms + PROMPT_MARGIN_MS;
}
