// GET /tenants/:id/balance: a tenant's money as the ledger holds it, its prepaid account and the
// package account of each 400 number it owns. Integer units of 0.0001 yuan, with yuan text beside.
import { formatYuan } from '../config/money.js';
import type { ConfigSnapshot } from '../config/types.js';
import type { Account } from '../ledger/types.js';
import type { BalanceJson } from './http.js';

interface AccountReader {
  getAccount(id: string): Promise<Account | null>;
}

function view(a: Account): Record<string, unknown> {
  return {
    status: a.status,
    balance: a.balance, reserved: a.reserved, available: a.available, arrears: a.arrears, prepaidTotal: a.prepaidTotal,
    balanceYuan: formatYuan(a.balance), availableYuan: formatYuan(a.available), arrearsYuan: formatYuan(a.arrears),
    validFrom: a.validFrom, validUntil: a.validUntil,
  };
}

/** null when the tenant is unknown or none of its accounts exists in the ledger. */
export async function tenantBalance(cfg: ConfigSnapshot, ledger: AccountReader, tenantId: string): Promise<BalanceJson | null> {
  const tenant = cfg.tenants.get(tenantId);
  if (!tenant) return null;
  const accounts: BalanceJson['accounts'] = [];
  const main = await ledger.getAccount(tenant.account);
  if (main) accounts.push({ account: tenant.account, kind: 'prepaid', ...view(main) });
  for (const plan of cfg.plans400?.values() ?? []) {
    if (plan.owner !== tenantId) continue;
    const a = await ledger.getAccount(plan.account);
    if (a) accounts.push({ account: plan.account, kind: 'package-400', number: plan.number, ...view(a) });
  }
  return accounts.length ? { tenant: tenantId, accounts } : null;
}
