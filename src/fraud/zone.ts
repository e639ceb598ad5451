// The local day of a tenant's daily fraud caps (attempts per callee, spend per day).
import type { ConfigSnapshot, Tenant } from '../config/types.js';
import { DEFAULT_TIME_ZONE } from '../time/schedule.js';

/** The tenant's window's zone, else the server's. */
export function fraudZone(t: Tenant, cfg: ConfigSnapshot): string {
  return t.window?.timezone || cfg.server?.timezone || DEFAULT_TIME_ZONE;
}
