// CDRs for calls crash recovery settled (issue 4 §6): one per reservation, each under the cdrId
// its reservation names, so an inbound call's package and its forwarded leg both keep their cost.
// A live call that did write its CDR wins: the same cdrId is then dropped as a duplicate.
import { buildCdr, type Cdr } from '../cdr/model.js';
import { decodeMeta } from '../ledger/reservation-meta.js';
import type { RateFn, RecoveryOutcome } from '../ledger/recovery.js';
import { rateCall } from '../rating/rate.js';

/** Prices an orphaned reservation from the rate its call stored with it. */
export const rateFromMeta: RateFn = (r, billableMs) => {
  const meta = decodeMeta(r.meta);
  return meta ? rateCall(meta.rate, billableMs).cost : 0;
};

/** The CDRs of the reservations this recovery run settled or released. */
export function recoveryCdrs(outcomes: readonly RecoveryOutcome[]): Cdr[] {
  const out: Cdr[] = [];
  for (const o of outcomes) {
    if ((o.outcome !== 'settled' && o.outcome !== 'released') || !o.reservation) continue;
    const r = o.reservation;
    const meta = decodeMeta(r.meta);
    const rated = meta && o.billableMs ? rateCall(meta.rate, o.billableMs) : null;
    const cost = o.settlement?.debited ?? 0;
    out.push(buildCdr({
      cdrId: meta?.cdrId ?? `out-${o.callId}`,
      callId: meta?.direction === 'inbound-forward' ? o.callId.replace(/:[^:]+:[^:]+$/, '') : o.callId,
      direction: meta?.direction.startsWith('inbound') ? 'inbound' : 'outbound',
      tenant: meta?.tenant ?? null,
      seat: meta?.seat ?? null,
      callerRaw: meta?.caller ?? '',
      calleeRaw: meta?.callee ?? '',
      calleeNormalised: meta?.callee ?? null,
      decision: 'allow',
      sipStatus: r.answeredAt ? 200 : 0,
      inviteAt: meta?.inviteAt || r.startedAt,
      endAt: r.answeredAt ? r.answeredAt + (o.billableMs ?? 0) : r.lastHeartbeat,
      answerAt: r.answeredAt || null,
      billableSeconds: rated?.billableSeconds ?? 0,
      billedSeconds: rated?.billedSeconds ?? 0,
      cost,
      balanceAfter: o.settlement?.balanceAfter ?? null,
      charges: cost > 0 ? [{ account: o.account, reservation: o.callId, cost }] : [],
      hangupBy: 'system',
      hangupCause: 'recovered-after-crash',
      configVersion: '',
      recovered: true,
    }));
  }
  return out;
}
