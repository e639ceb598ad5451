// Per-source request limits in front of authentication (Kamailio's pike is the anchor): a source
// that sends INVITE, REGISTER or OPTIONS faster than its limit is banned for a while, so a flood
// of unauthenticated requests costs a map lookup instead of a digest check and a Redis write per
// packet. Known scanner User-Agents are dropped without a response (answering tells them a SIP
// server is here). Known networks (carriers, tenants' allowedSources) are exempt: a call centre
// behind one NAT address may dial faster than any stranger should. State is per instance and bounded.

export interface FloodLimits {
  /** Requests per second per source, per method class; bursts of twice that pass. */
  invite: number;
  register: number;
  options: number;
  other: number;
  /** How long a source that exceeded a limit is refused. */
  banMs: number;
  /** Sources tracked at most (the oldest are forgotten first). */
  maxSources: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  invite: 50, register: 20, options: 10, other: 20, banMs: 60_000, maxSources: 50_000,
};

/** User-Agents of SIP scanners and war-diallers seen in the wild (case-insensitive substrings). */
export const SCANNER_AGENTS = /friendly-scanner|sipvicious|sipcli|sip-scan|sundayddr|iWar|VaxSIPUserAgent|sipptk|smap|pplsip/i;

export type FloodVerdict = 'ok' | 'scanner' | 'banned' | 'limited';

type MethodClass = 'invite' | 'register' | 'options' | 'other';

interface SourceState {
  /** Tokens per method class, refilled at the class's rate. */
  tokens: Record<MethodClass, number>;
  at: number;
  bannedUntil: number;
}

export interface FloodCounters {
  scannerDrops: number;
  limited: Record<MethodClass, number>;
  bans: number;
}

export class FloodGuard {
  private readonly sources = new Map<string, SourceState>();
  readonly counters: FloodCounters = { scannerDrops: 0, limited: { invite: 0, register: 0, options: 0, other: 0 }, bans: 0 };

  constructor(private readonly limits: FloodLimits = DEFAULT_FLOOD_LIMITS) {}

  /** Decides on one request; `exempt` sources (carriers) are never limited. */
  admit(method: string, source: string, userAgent: string | undefined, now: number, exempt = false): FloodVerdict {
    if (userAgent && SCANNER_AGENTS.test(userAgent)) {
      this.counters.scannerDrops++;
      return 'scanner';
    }
    if (exempt) return 'ok';
    const cls = classOf(method);
    let s = this.sources.get(source);
    if (!s) {
      s = { tokens: { invite: this.burst('invite'), register: this.burst('register'), options: this.burst('options'), other: this.burst('other') }, at: now, bannedUntil: 0 };
      this.remember(source, s);
    } else {
      // Refill every class since the last request, up to its burst.
      const secs = Math.max(0, now - s.at) / 1000;
      for (const c of ['invite', 'register', 'options', 'other'] as const) s.tokens[c] = Math.min(this.burst(c), s.tokens[c] + secs * this.limits[c]);
      s.at = now;
      // Most recently seen last, so the oldest are evicted first.
      this.sources.delete(source);
      this.sources.set(source, s);
    }
    if (s.bannedUntil > now) return 'banned';
    if (s.tokens[cls] < 1) {
      this.counters.limited[cls]++;
      this.counters.bans++;
      s.bannedUntil = now + this.limits.banMs;
      return 'limited';
    }
    s.tokens[cls] -= 1;
    return 'ok';
  }

  /** Sources refused right now. */
  bannedSources(now: number): number {
    let n = 0;
    for (const s of this.sources.values()) if (s.bannedUntil > now) n++;
    return n;
  }

  private burst(c: MethodClass): number { return this.limits[c] * 2; }

  private remember(source: string, s: SourceState): void {
    if (this.sources.size >= this.limits.maxSources) {
      const oldest = this.sources.keys().next().value;
      if (oldest !== undefined) this.sources.delete(oldest);
    }
    this.sources.set(source, s);
  }
}

function classOf(method: string): MethodClass {
  switch (method.toUpperCase()) {
    case 'INVITE': return 'invite';
    case 'REGISTER': return 'register';
    case 'OPTIONS': return 'options';
    default: return 'other';
  }
}
