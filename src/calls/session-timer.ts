// SIP session timers (RFC 4028) as dialgate negotiates them. drachtio-server runs the timers
// itself (SipDialog::setSessionTimer): once a 200 to an INVITE carries Session-Expires it sends the
// refreshing re-INVITEs when it is the refresher, and when a refresh fails (timeout, 408, 481 ...)
// or the peer's refresh does not come before expiry it BYEs the peer and hands the app an
// unsolicited BYE with `Reason: ... text="Session timer expired"`. So dialgate offers and answers
// Session-Expires, refuses too-small intervals (422), and turns that BYE into the end of the call,
// billed up to the moment the leg is known dead.

export interface SessionTimerSettings {
  /** Session-Expires we offer and answer with (RFC 4028 recommends 1800). */
  seconds: number;
  /** Our Min-SE: shorter intervals are refused with 422 (RFC 4028 floor is 90). */
  minSeconds: number;
}

/** The Reason text drachtio-server puts on the BYE of a stale dialog. */
export const SESSION_EXPIRED_TEXT = 'Session timer expired';
/** RFC 3261 Timer B on UDP: how long a refresh that gets no answer is waited for. */
export const REFRESH_TIMEOUT_MS = 32_000;

/** A leg's negotiated timer: the interval and whether our side (the server) refreshes. */
export interface LegTimer {
  seconds: number;
  weRefresh: boolean;
  /** When the leg's timer started, if not at the call's answer (a transfer target's leg). */
  since?: number;
}

interface HeaderSource { get(name: string): string | undefined }

/** `1800;refresher=uac` → { seconds, refresher }; null when absent or unreadable. */
export function parseSessionExpires(value: string | undefined): { seconds: number; refresher: 'uac' | 'uas' | null } | null {
  const m = value ? /^\s*(\d{1,9})\s*(?:;|$)/.exec(value) : null;
  if (!m) return null;
  const r = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(value!);
  return { seconds: Number(m[1]), refresher: r ? (r[1]!.toLowerCase() as 'uac' | 'uas') : null };
}

function hasOptionTag(h: HeaderSource, name: string, tag: string): boolean {
  const v = h.get(name);
  return !!v && v.split(',').some((t) => t.trim().toLowerCase() === tag);
}

function safeGet(req: { get(name: string): string | undefined; has?(name: string): boolean }): HeaderSource {
  return { get: (name) => { try { return req.get(name) || undefined; } catch { return undefined; } } };
}

/** Headers of an INVITE we send (we are UAC): we offer to refresh. */
export function offerHeaders(st: SessionTimerSettings): Record<string, string> {
  return { Supported: 'timer', 'Session-Expires': `${st.seconds};refresher=uac`, 'Min-SE': String(st.minSeconds) };
}

/**
 * RFC 4028 §8.2: the far end refused our INVITE with 422 Session Interval Too Small. The headers
 * of the one retry: Session-Expires raised to its Min-SE (never lowered) and that Min-SE; null when
 * the 422 names no usable Min-SE or our INVITE offered no timer (nothing to raise).
 */
export function retryAfter422(sent: Record<string, string>, res: { get(name: string): string | undefined } | undefined): Record<string, string> | null {
  const ours = parseSessionExpires(sent['Session-Expires']);
  const theirMin = Number(/^\s*(\d{1,9})\s*(?:;|$)/.exec(res ? safeGet(res).get('Min-SE') ?? '' : '')?.[1] ?? NaN);
  // A Min-SE we already met leaves nothing to raise: the 422 stands.
  if (!ours || !Number.isFinite(theirMin) || theirMin <= ours.seconds) return null;
  const seconds = Math.max(ours.seconds, theirMin);
  const ourMin = Number(/^\s*(\d{1,9})/.exec(sent['Min-SE'] ?? '')?.[1] ?? 0);
  return { ...sent, 'Session-Expires': `${seconds};refresher=${ours.refresher ?? 'uac'}`, 'Min-SE': String(Math.max(ourMin, theirMin)) };
}

/** The trunk's (or member's) 200: the timer it settled on; none when it did not echo one. */
export function uacTimer(res: { get(name: string): string | undefined } | undefined): LegTimer | null {
  if (!res) return null;
  const se = parseSessionExpires(safeGet(res).get('Session-Expires'));
  // drachtio-server: refresher absent or uac → we refresh.
  return se ? { seconds: se.seconds, weRefresh: se.refresher !== 'uas' } : null;
}

export type UasAnswer =
  | { kind: 'reject'; minSe: number }
  | { kind: 'answer'; headers: Record<string, string>; timer: LegTimer };

/**
 * How we answer an INVITE (we are UAS). A caller that supports timers and offers less than our
 * Min-SE gets 422 (RFC 4028 §8.1); otherwise we answer with an interval no shorter than either
 * side's Min-SE, and we refresh unless the caller asked to: a seat that vanishes cannot be trusted
 * to refresh, and a refresh it cannot answer is what ends such a call.
 */
export function answerTimer(req: { get(name: string): string | undefined }, st: SessionTimerSettings): UasAnswer {
  const h = safeGet(req);
  const offered = parseSessionExpires(h.get('Session-Expires'));
  const supported = hasOptionTag(h, 'Supported', 'timer') || hasOptionTag(h, 'Require', 'timer');
  if (offered && supported && offered.seconds < st.minSeconds) return { kind: 'reject', minSe: st.minSeconds };
  const theirMin = Number(/^\s*(\d{1,9})/.exec(h.get('Min-SE') ?? '')?.[1] ?? 0);
  const wanted = offered ? Math.min(offered.seconds, st.seconds) : st.seconds;
  const seconds = Math.max(wanted, st.minSeconds, theirMin);
  const refresher = supported && offered?.refresher === 'uac' ? 'uac' : 'uas';
  return {
    kind: 'answer',
    headers: { 'Session-Expires': `${seconds};refresher=${refresher}`, ...(supported ? { Require: 'timer' } : {}) },
    timer: { seconds, weRefresh: refresher === 'uas' },
  };
}

/**
 * When a leg torn down by its session timer was last known alive. The peer refreshing: it missed
 * the expiry, which is now. We refreshing: the refresh that failed went out at a half-interval
 * point; the teardown came when it failed (at once for 408/481, Timer B later for silence).
 */
export function knownDeadAt(now: number, answerAt: number, timer: LegTimer | null): number {
  if (!timer || !timer.weRefresh) return now;
  const half = (timer.seconds * 1000) / 2;
  const sinceAnswer = Math.max(0, now - answerAt);
  const lastRefresh = answerAt + Math.floor(sinceAnswer / half) * half;
  // A teardown well past the last refresh point (a timeout) belongs to that point; one right after
  // it (an error response) too. Never later than now, never before the answer.
  return Math.max(answerAt, Math.min(now, lastRefresh > answerAt ? lastRefresh : now - Math.min(REFRESH_TIMEOUT_MS, sinceAnswer)));
}
