// Call recordings: one file per call under <recordingsDir>/<tenant>/<local day>/, the day in the
// configured time zone (not a fixed +8 h), started with uuid_record on the bridged endpoint.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { endpointApiOk, type Endpoint } from '../media/media-gateway.js';
import { localDate } from '../time/zone.js';

export function recordingFile(dir: string, timeZone: string, owner: string, inviteAt: number, callId: string, prefix = ''): string {
  return join(dir, owner, localDate(timeZone, inviteAt), `${prefix}${callId.replace(/[^A-Za-z0-9._-]/g, '_')}.wav`);
}

/** uuid_record, not `execute record_session`: an api runs on a bridged channel at once. */
export async function startRecording(ep: Endpoint, path: string, log: Logger): Promise<{ ok: true; path: string } | { ok: false; why: string }> {
  try {
    await endpointApiOk(ep, 'uuid_record', `${ep.uuid} start ${path}`);
    return { ok: true, path };
  } catch (err) {
    log.warn({ err }, 'recording failed to start');
    return { ok: false, why: (err as Error).message };
  }
}
