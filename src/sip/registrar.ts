// REGISTER handler (RFC 3261 §10.3): authenticate, then bind the seat's contacts in Redis.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { ConfigSnapshot } from '../config/types.js';
import { parseRegister, type RegistrarStore } from '../registrar/store.js';
import { isRedisUnavailable } from '../ledger/redis-errors.js';
import { isWebSocketTransport, viaTransport } from '../policy/media-mode.js';
import type { Authenticator } from './authenticator.js';

export interface RegistrarDeps {
  auth: Authenticator;
  store: RegistrarStore;
  config(): ConfigSnapshot;
  now(): number;
  log: Logger;
}

/** The user part of a To/From header value (`"x" <sip:1001@host>;tag=1` → 1001). */
export function userOfHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const m = /sips?:([^@;>]+)@/i.exec(value);
  return m?.[1];
}

export function createRegisterHandler(deps: RegistrarDeps) {
  return async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const cfg = deps.config();
    const auth = await deps.auth.authenticate(req, res, cfg);
    if (!auth.ok) return;
    const seat = auth.seat;
    // A seat registers its own AOR only (004 §2.2: ports are for the customer's own use).
    const aor = userOfHeader(req.get('To'));
    if (aor !== seat.id) {
      res.send(403, { headers: { Reason: 'SIP;cause=403;text="AOR does not match credentials"' } });
      return;
    }
    const parsed = parseRegister({
      contact: req.has('Contact') ? req.get('Contact') : undefined,
      expires: req.has('Expires') ? req.get('Expires') : undefined,
    });
    const now = deps.now();
    const cseq = Number.parseInt(req.get('CSeq'), 10);
    const via = viaTransport(req.get('Via'));
    const meta = {
      source: `${req.source_address}:${req.source_port}`,
      // drachtio-server reports a WebSocket as tcp; the phone's Via says ws/wss.
      transport: via && isWebSocketTransport(via) ? via : req.protocol,
      callId: req.get('Call-ID'),
      cseq: Number.isFinite(cseq) ? cseq : 0,
      ...(req.has('User-Agent') ? { userAgent: req.get('User-Agent') } : {}),
    };
    let decision;
    try {
      decision = await bind();
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      // Registrations live in Redis: while it is away the phone keeps its binding and retries.
      deps.log.warn({ seat: seat.id }, 'redis unavailable: REGISTER refused with 503');
      res.send(503, { headers: { 'Retry-After': '30', Reason: 'SIP;cause=503;text="Service temporarily unavailable"' } });
      return;
    }
    if (!decision) return;
    async function bind() {
    switch (parsed.kind) {
      case 'invalid':
        res.send(400, { headers: { Reason: `SIP;cause=400;text="${parsed.reason.replace(/"/g, "'")}"` } });
        return null;
      case 'query':
        return { kind: 'ok' as const, expires: 0, bindings: await deps.store.lookup(seat.id, now) };
      case 'remove-all':
        return deps.store.unregister(seat.id, '*', now, { callId: meta.callId, cseq: meta.cseq });
      case 'contacts':
        return deps.store.registerContacts(seat.id, parsed.contacts, meta, now);
    }
    }
    if (decision.kind === 'interval-too-brief') {
      res.send(423, { headers: { 'Min-Expires': String(decision.minExpires) } });
      return;
    }
    if (decision.kind === 'out-of-order') {
      res.send(500, { headers: { 'Retry-After': '1' } });
      return;
    }
    deps.log.info({ seat: seat.id, tenant: seat.tenant, contacts: decision.bindings.length, source: meta.source }, 'registered');
    const contacts = decision.bindings.map((b) => `<${b.contact}>;expires=${b.expires}`);
    res.send(200, {
      headers: {
        ...(contacts.length > 0 ? { Contact: contacts.join(', ') } : {}),
        Date: new Date(now).toUTCString(),
      },
    });
  };
}
