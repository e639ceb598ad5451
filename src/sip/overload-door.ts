// Overload control at the door (adapter): the event loop's load feeds OverloadGuard, and a call's
// first INVITE that the guard refuses gets 503 + Retry-After before anything else is spent on it.
// An INVITE answering our digest challenge belongs to a call already taken on, and an emergency
// call is never refused. Limits come from the running config (a reload applies them).
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../config/types.js';
import { normalizeNumber, userPart } from '../numbers/normalize.js';
import { watchLoopLoad } from '../ops/loop-load.js';
import { DEFAULT_OVERLOAD, OverloadGuard, type OverloadVerdict } from './overload.js';

export interface OverloadDoor {
  /** True when the request was refused (503 sent): the caller stops there. */
  refuse(req: Srf.SrfRequest, res: Srf.SrfResponse): boolean;
  /** Share of new calls refused for load right now (0-1). */
  shedShare(): number;
  /** For /health: the share now and the calls refused since start, by limit. */
  status(): OverloadStatus;
  stop(): void;
}

export interface OverloadStatus {
  shedShare: number;
  refused: { overload: number; callsPerSecond: number };
}

export function openOverloadDoor(o: {
  config: () => ConfigSnapshot;
  log: Logger;
  onRefused: (reason: Extract<OverloadVerdict, { ok: false }>['reason']) => void;
}): OverloadDoor {
  let settingsOf = o.config().server.overload;
  const guard = new OverloadGuard(settingsOf ?? DEFAULT_OVERLOAD);
  const stopWatch = watchLoopLoad((load) => guard.observe(load));
  let episode: { since: number; last: number; refused: number } | null = null;
  // 503s sent (the guard's own counters also count the emergency calls let through)
  const refused = { overload: 0, callsPerSecond: 0 };

  return {
    refuse(req, res) {
      const current = o.config().server.overload;
      if (current !== settingsOf) {
        settingsOf = current;
        guard.configure(current ?? DEFAULT_OVERLOAD);
      }
      if (req.has('Proxy-Authorization') || req.has('Authorization')) return false;
      const now = Date.now();
      const verdict = guard.admit(now);
      if (verdict.ok) {
        // over once nothing was refused for a second (a calls-per-second cap refuses in bursts)
        if (episode && now - episode.last > 1000) {
          o.log.info({ refused: episode.refused, seconds: Math.round((now - episode.since) / 1000) }, 'overload over: new calls admitted again');
          episode = null;
        }
        return false;
      }
      const n = normalizeNumber(userPart(req.uri));
      if (n.ok && n.number.class === 'emergency') return false;
      // One line when refusing starts and one when it ends: a line per call would add to the load.
      if (!episode) {
        episode = { since: now, last: now, refused: 0 };
        o.log.warn({ reason: verdict.reason, shedShare: guard.shedShare }, 'overload: refusing new calls with 503');
      }
      episode.refused++;
      episode.last = now;
      refused[verdict.reason === 'overload' ? 'overload' : 'callsPerSecond']++;
      o.onRefused(verdict.reason);
      const text = verdict.reason === 'overload' ? 'Server overloaded' : 'Calls per second limit';
      res.send(503, { headers: { 'Retry-After': String(guard.retryAfterSeconds), Reason: `SIP;cause=503;text="${text}"` } });
      return true;
    },
    shedShare: () => guard.shedShare,
    status: () => ({ shedShare: guard.shedShare, refused: { ...refused } }),
    stop: stopWatch,
  };
}
