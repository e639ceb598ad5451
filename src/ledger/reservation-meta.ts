// What a call stores with each of its reservations, so that crash recovery can rate the call and
// write its CDR without the live call: written by calls/reservation.ts, read by recovery.
import type { TariffRate } from '../config/types.js';

export interface ReservationMeta {
  rate: TariffRate;
  tenant: string | null;
  seat: string | null;
  callee: string;
  /** Who called (From user part), so a recovered CDR still says. */
  caller?: string;
  inviteAt: number;
  /** 'inbound-forward': a 400 call's leg to a number, paid by the owner tenant. */
  direction: 'outbound' | 'inbound' | 'inbound-forward';
  /** The CDR this reservation's cost belongs in; unique per reservation, so recovery never drops one. */
  cdrId: string;
}

export function encodeMeta(meta: ReservationMeta): string {
  return JSON.stringify(meta);
}

/** Null for a reservation written without meta (or by an older version without a rate). */
export function decodeMeta(text: string): ReservationMeta | null {
  try {
    const m = JSON.parse(text || '{}') as Partial<ReservationMeta>;
    if (!m.rate || typeof m.cdrId !== 'string') return null;
    return {
      rate: m.rate, tenant: m.tenant ?? null, seat: m.seat ?? null, callee: m.callee ?? '', caller: m.caller ?? '', inviteAt: m.inviteAt ?? 0,
      direction: m.direction ?? 'outbound', cdrId: m.cdrId,
    };
  } catch {
    return null;
  }
}
