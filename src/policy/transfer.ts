// Blind transfer (REFER, RFC 3515) from a seat in an answered call: what the Refer-To names, and
// whether the new target may be reached. Pure: the registrar lookup, the ledger view and the clock
// come in as arguments. A number target goes through decideOutbound exactly like a fresh call from
// the transferring seat (window, scope, blacklist, caller id, ports, route, balance); a seat target
// must be a seat of the same tenant that is registered now.
import type { ConfigSnapshot } from '../config/types.js';
import { decideOutbound } from './decideOutbound.js';
import { reasonHeader } from './reasons.js';
import type { Allow, LedgerView } from './types.js';

export type ReferTarget =
  | { kind: 'seat'; seat: string }
  | { kind: 'number'; number: string }
  /** Attended transfer (Refer-To carries Replaces): answered 501, see transfer.ts in calls/. */
  | { kind: 'replaces' }
  | { kind: 'bad'; why: string };

/**
 * Reads a Refer-To value: `<sip:1002@host>`, `sip:13812345678@host;user=phone`, `<tel:+86...>`.
 * The user part names a seat when a seat has that id, otherwise a number.
 */
export function parseReferTo(value: string | undefined, cfg: Pick<ConfigSnapshot, 'seats'>): ReferTarget {
  if (!value || value.trim() === '') return { kind: 'bad', why: 'no Refer-To header' };
  const v = value.trim();
  const uri = /<([^>]*)>/.exec(v)?.[1] ?? v.split(';')[0]!;
  // URI headers (after '?') of a Refer-To: Replaces makes it an attended transfer (RFC 3891).
  const q = uri.indexOf('?');
  if (q >= 0 && /(^|&)replaces=/i.test(uri.slice(q + 1))) return { kind: 'replaces' };
  const m = /^sips?:([^@;?]+)@/i.exec(uri) ?? /^tel:([^;?]+)/i.exec(uri);
  if (!m) return { kind: 'bad', why: `Refer-To names no user: ${v.slice(0, 80)}` };
  const user = decodeURIComponent(m[1]!).trim();
  if (user === '') return { kind: 'bad', why: 'Refer-To has an empty user part' };
  if (cfg.seats.has(user)) return { kind: 'seat', seat: user };
  return { kind: 'number', number: user };
}

/** The call being transferred, as the decision needs it. */
export interface TransferContext {
  /** Call-ID of the call; the new leg's decision is traced under `${callId}:xfer<n>`. */
  callId: string;
  /** Sequence of this transfer in the call (1, 2 ...). */
  n: number;
  /** The seat sending REFER and its tenant. */
  seat: string;
  tenant: string;
}

export type TransferDecision =
  | { kind: 'seat'; seat: string; contact: string }
  | { kind: 'number'; decision: Allow }
  | { kind: 'deny'; sipStatus: number; reason: string; reasonHeader: string; detail: string };

function refuse(sipStatus: number, reason: string, text: string, detail: string): TransferDecision {
  return { kind: 'deny', sipStatus, reason, reasonHeader: reasonHeader(sipStatus, text), detail };
}

/**
 * Decides a transfer target. `contact` is the target seat's registered contact (null: not
 * registered); `ledger` the tenant's ledger view for a number target.
 */
export function decideTransfer(
  ctx: TransferContext, target: Extract<ReferTarget, { kind: 'seat' | 'number' }>, cfg: ConfigSnapshot,
  contact: string | null, ledger: LedgerView, now: number,
): TransferDecision {
  if (target.kind === 'seat') {
    const seat = cfg.seats.get(target.seat);
    // A seat of another tenant is refused as if unknown: its existence is not the transferor's business.
    if (!seat || seat.tenant !== ctx.tenant) return refuse(404, 'unknown-seat', 'Not a seat of this tenant', `seat ${target.seat} is not a seat of tenant ${ctx.tenant}`);
    if (seat.id === ctx.seat) return refuse(403, 'self-transfer', 'Cannot transfer to yourself', `seat ${ctx.seat} referred the call to itself`);
    if (!contact) return refuse(480, 'not-registered', 'Seat not registered', `seat ${seat.id} is not registered`);
    return { kind: 'seat', seat: seat.id, contact };
  }
  // From = the seat id: the caller-id policy presents the seat's default number, as on its own calls.
  const d = decideOutbound({
    callId: `${ctx.callId}:xfer${ctx.n}`, seatId: ctx.seat, tenantId: ctx.tenant, from: ctx.seat, to: target.number,
  }, cfg, ledger, now);
  if (d.kind === 'deny') return { kind: 'deny', sipStatus: d.sipStatus, reason: d.reason, reasonHeader: d.reasonHeader, detail: d.detail };
  return { kind: 'number', decision: d };
}

/** RFC 3420 message/sipfrag body of a NOTIFY: the status line, and the Reason when there is one. */
export function sipfrag(status: number, text: string, reason?: string): string {
  return `SIP/2.0 ${status} ${text}\r\n${reason ? `Reason: ${reason}\r\n` : ''}`;
}
