// Settled costs towards a tenant's toll-fraud spend caps (issue 16 B): each reservation's cost once
// (the counters are idempotent per reservation); a cap crossed is logged and alerted, and from then
// the tenant's new calls are refused by the outbound decision.
import type { ConfigSnapshot, Tenant } from '../config/types.js';
import { fraudZone } from '../fraud/zone.js';
import type { CallSession } from './call-session.js';
import type { Settled } from './reservation.js';

export async function countSpend(s: CallSession, tenant: Tenant, cfg: ConfigSnapshot, endAt: number, settled: readonly Settled[]): Promise<void> {
  const { fraud, onSpendCap } = s.deps;
  if (!fraud || (tenant.maxSpendPerHour === undefined && tenant.maxSpendPerDay === undefined)) return;
  for (const x of settled) {
    if (x.cost <= 0) continue;
    const crossed = await fraud.addSpend(tenant.id, x.reservationId, x.cost, endAt, fraudZone(tenant, cfg), tenant);
    for (const c of crossed) {
      s.log.warn({ cap: c.cap, limit: c.limit, spent: c.spent }, 'tenant spend cap crossed: new calls blocked');
      onSpendCap?.(c);
    }
  }
}
