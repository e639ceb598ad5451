// The web phone's seat session on the ops HTTP server (issue 13):
//   POST /phone/login        {seat, password} → {token, seat, tenant, name, expiresAt}; 401 otherwise
//   GET  /phone/me           the seat: {seat, tenant, name, state, callerId, registered}
//   PUT  /phone/me/state     {state: available | away} → {state}
//   GET  /phone/me/calls     ?limit=20: the seat's own recent calls, newest first
// A seat token (auth/seat-token.ts) opens these and nothing else; an ops API token opens none of
// them. A seat only ever reaches its own data: every route works on the seat its token names.
// Passwords and tokens are never logged (the access log names the seat).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SeatClaims } from '../auth/seat-token.js';
import type { Cdr } from '../cdr/model.js';
import { DENY_REASONS, type DenyReason } from '../policy/reasons.js';
import { HttpError, readJson, send } from './http-util.js';

export interface PhoneLogin {
  token: string;
  seat: string;
  tenant: string;
  name: string;
  expiresAt: number;
}

export interface PhoneMe {
  seat: string;
  tenant: string;
  name: string;
  state: string;
  callerId: string | null;
  registered: boolean;
}

/** One of the seat's calls as the phone's history shows it. */
export interface PhoneCall {
  callId: string;
  /** INVITE time, epoch ms. */
  at: number;
  direction: Cdr['direction'];
  /** The far party: the number dialled (outbound), the caller (inbound). */
  number: string;
  /** answered, denied (our policy refused it), or not-answered. */
  status: 'answered' | 'denied' | 'not-answered';
  /** The deny reason or hang-up cause code, and its words where dialgate has them. */
  reason: string | null;
  reasonText: string | null;
  sipStatus: number;
  billedSeconds: number;
  cost: number;
}

export interface PhoneProviders {
  /** Verifies id and password (lockout shared with SIP digest); null = refused, for whatever reason. */
  login(seat: string, password: string, source: string): Promise<PhoneLogin | null>;
  /** The claims of a seat token still valid in the running config; null otherwise. */
  authenticate(token: string): SeatClaims | null;
  me(seat: string): Promise<PhoneMe>;
  setState(seat: string, state: 'available' | 'away'): Promise<{ state: string }>;
  calls(seat: string, limit: number): Promise<Cdr[]>;
}

export function phoneCall(c: Cdr): PhoneCall {
  const reason = c.denyReason ?? c.hangupCause;
  return {
    callId: c.callId,
    at: c.inviteAt,
    direction: c.direction,
    number: c.direction === 'outbound' ? c.calleeNormalised ?? c.calleeRaw : c.callerPresented ?? c.callerRaw,
    status: c.decision === 'deny' ? 'denied' : c.answerAt !== null ? 'answered' : 'not-answered',
    reason,
    reasonText: c.denyReason && c.denyReason in DENY_REASONS ? DENY_REASONS[c.denyReason as DenyReason].text : null,
    sipStatus: c.sipStatus,
    billedSeconds: c.billedSeconds,
    cost: c.cost,
  };
}

const MAX_CALLS = 100;

/**
 * Serves /phone/login and /phone/me...; undefined for any other path (the page itself and its
 * assets are not this module's). `who` is the access-log subject, set once the seat is known.
 */
export async function phoneRoute(
  req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams, bearer: string,
  p: PhoneProviders, who: { seat?: string },
): Promise<number | undefined> {
  if (path === '/phone/login') {
    if (req.method !== 'POST') throw methodNotAllowed(res, 'POST');
    const body = await readJson(req);
    const seat = body.seat, password = body.password;
    if ((typeof seat !== 'string' && typeof seat !== 'number') || typeof password !== 'string' || password === '' || String(seat) === '') {
      throw new HttpError(400, 'send {"seat": "<id>", "password": "<SIP password>"}');
    }
    who.seat = String(seat);
    const r = await p.login(String(seat), password, req.socket.remoteAddress ?? '');
    // Wrong id, wrong password and a lockout look the same from outside, as on SIP.
    if (!r) throw new HttpError(401, 'wrong seat or password');
    send(res, 200, r);
    return 200;
  }
  if (path !== '/phone/me' && !path.startsWith('/phone/me/')) return undefined;
  const claims = bearer ? p.authenticate(bearer) : null;
  if (!claims) throw new HttpError(401, 'log in first: POST /phone/login, then send Authorization: Bearer <seat token>');
  who.seat = claims.seat;
  switch (path) {
    case '/phone/me': {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
      send(res, 200, await p.me(claims.seat));
      return 200;
    }
    case '/phone/me/state': {
      if (req.method !== 'PUT') throw methodNotAllowed(res, 'PUT');
      const state = (await readJson(req)).state;
      if (state !== 'available' && state !== 'away') throw new HttpError(400, 'state must be "available" or "away"');
      send(res, 200, await p.setState(claims.seat, state));
      return 200;
    }
    case '/phone/me/calls': {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(res, 'GET, HEAD');
      const raw = params.get('limit') ?? '20';
      if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1) throw new HttpError(400, 'limit must be a whole number from 1');
      // The provider queries by seat; filtered again here, so no other seat's call can slip through.
      const calls = (await p.calls(claims.seat, Math.min(Number(raw), MAX_CALLS))).filter((c) => c.seat === claims.seat);
      send(res, 200, { calls: calls.map(phoneCall) });
      return 200;
    }
    default:
      throw new HttpError(404, 'no such endpoint; try /phone/me, /phone/me/state or /phone/me/calls');
  }
}

function methodNotAllowed(res: ServerResponse, allow: string): HttpError {
  res.setHeader('allow', allow);
  return new HttpError(405, `method not allowed; use ${allow}`);
}
