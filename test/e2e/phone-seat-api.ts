// TEST-ONLY STAND-IN for the seat API the web phone calls (task13-common.md, built by H1 on
// branch issue13-agents): POST /phone/login, GET /phone/me, PUT /phone/me/state,
// GET /phone/me/calls. The lead drops this file once H1's routes are merged and points
// phone.test.ts at dialgate's own HTTP server. It fronts dialgate's ops HTTP (the page, its
// /phone/config and everything else are proxied through unchanged) and answers only those four
// paths, from the same sources the real API uses: the seat's HA1 in the running config and the
// CDR files, a seat seeing only its own calls.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cdr } from '../../src/cdr/model.js';
import type { ConfigStore } from '../../src/config/index.js';
import { readJson, send } from '../../src/ops/http-util.js';

export interface SeatApiStandIn {
  url: string;
  /** Seat → state set by PUT /phone/me/state. */
  states: Map<string, string>;
  close(): Promise<void>;
}

/** A seat's own calls: outbound ones it placed, 400 calls it answered (the answered attempt names it). */
export function callsOfSeat(cdrs: readonly Cdr[], seat: string): Cdr[] {
  return cdrs.filter((c) => c.seat === seat
    || (c.direction === 'inbound' && c.trunks.some((a) => a.sipStatus === 200 && (a.trunk === seat || a.trunk === `seat:${seat}`))));
}

export async function startSeatApiStandIn(o: { store: ConfigStore; opsUrl: string; readCdrs: () => Cdr[] }): Promise<SeatApiStandIn> {
  const tokens = new Map<string, string>();
  const states = new Map<string, string>();
  const ops = new URL(o.opsUrl);
  const seatOf = (req: IncomingMessage): string | undefined => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return m ? tokens.get(m[1]!) : undefined;
  };
  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    const up = request({ host: ops.hostname, port: ops.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => send(res, 502, { error: 'ops http unreachable' }));
    req.pipe(up);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const cfg = o.store.current();
    if (url.pathname === '/phone/login' && req.method === 'POST') {
      const body = await readJson(req);
      const seat = cfg.seats.get(String(body.seat ?? ''));
      const ha1 = seat ? createHash('md5').update(`${seat.id}:${cfg.server.realm}:${String(body.password ?? '')}`).digest('hex') : '';
      if (!seat || ha1 !== seat.ha1) return send(res, 401, { error: 'wrong seat or password' });
      const token = randomBytes(16).toString('hex');
      tokens.set(token, seat.id);
      return send(res, 200, { token, seat: seat.id, tenant: seat.tenant, name: `坐席 ${seat.id}`, expiresAt: Date.now() + 8 * 3_600_000 });
    }
    if (url.pathname.startsWith('/phone/me')) {
      const id = seatOf(req);
      const seat = id ? cfg.seats.get(id) : undefined;
      if (!seat) return send(res, 401, { error: 'seat token required' });
      if (url.pathname === '/phone/me' && req.method === 'GET') {
        return send(res, 200, { seat: seat.id, tenant: seat.tenant, name: `坐席 ${seat.id}`, state: states.get(seat.id) ?? 'available', callerId: seat.callerId ?? null, registered: true });
      }
      if (url.pathname === '/phone/me/state' && req.method === 'PUT') {
        const state = String((await readJson(req)).state ?? '');
        if (state !== 'available' && state !== 'away') return send(res, 400, { error: 'state: available or away' });
        states.set(seat.id, state);
        return send(res, 200, { state });
      }
      if (url.pathname === '/phone/me/calls' && req.method === 'GET') {
        const limit = Math.min(100, Number(url.searchParams.get('limit') ?? 20) || 20);
        const calls = callsOfSeat(o.readCdrs(), seat.id).sort((a, b) => b.inviteAt - a.inviteAt).slice(0, limit).map((c) => ({
          callId: c.callId, at: c.inviteAt, direction: c.direction,
          number: c.direction === 'inbound' ? c.callerRaw : c.calleeNormalised ?? c.calleeRaw,
          status: c.answerAt !== null ? 'answered' : `${c.sipStatus}`, reason: c.denyReason ?? c.hangupCause ?? null,
          billedSeconds: c.billedSeconds, cost: c.cost,
        }));
        return send(res, 200, { calls });
      }
      return send(res, 404, { error: 'no such seat endpoint' });
    }
    proxy(req, res);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => { if (!res.headersSent) send(res, 500, { error: err.message }); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    states,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
