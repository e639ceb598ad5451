// Who may read what on the ops HTTP API: bearer tokens with roles (issue 14).
//   admin          everything: live calls, CDRs, recordings and balances of every tenant, /metrics, full /health
//   tenant-viewer  one tenant's calls, CDRs, recordings and balance; anything of another tenant is 403
//   metrics        /metrics only (a Prometheus scrape token that can read no call data)
// Tokens come from dialgate.yaml like every secret ({ env } / { file }); only their SHA-256 is kept
// here, a presented token is compared against every one in constant time, and none is ever logged.
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'admin' | 'tenant-viewer' | 'metrics';
export const ROLES: readonly Role[] = ['admin', 'tenant-viewer', 'metrics'];

/** A token as dialgate.yaml `http.tokens` defines it (`token` is the secret value). */
export interface ApiToken {
  /** Shown in access logs instead of the token. */
  name: string;
  role: Role;
  /** The one tenant a tenant-viewer sees. */
  tenant?: string;
  token: string;
}

/** The holder of a presented token. */
export interface Principal {
  name: string;
  role: Role;
  tenant?: string;
}

/** With no token configured the API is open (a loopback-only development set-up): everyone is admin. */
export const OPEN_ACCESS: Principal = { name: 'open-access', role: 'admin' };

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The token of an `Authorization: Bearer <token>` header, or '' when there is none. */
export function bearerOf(header: string | undefined): string {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  return m?.[1]?.trim() ?? '';
}

export class AccessTable {
  private readonly entries: { principal: Principal; sha: Buffer }[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({
      principal: { name: t.name, role: t.role, ...(t.tenant !== undefined ? { tenant: t.tenant } : {}) },
      sha: digest(t.token),
    }));
  }

  /** The `http` settings of dialgate.yaml: the single `token` (admin) and the `tokens` list. */
  static fromSettings(http: { token?: string; tokens?: readonly ApiToken[] }): AccessTable {
    return new AccessTable([
      ...(http.token ? [{ name: 'http.token', role: 'admin' as const, token: http.token }] : []),
      ...(http.tokens ?? []),
    ]);
  }

  /** No token configured: every request is admin. */
  get open(): boolean {
    return this.entries.length === 0;
  }

  /**
   * The principal of an Authorization header; null when it names no configured token. Every entry
   * is compared (no early exit) on equal-length digests, so timing tells nothing about the tokens.
   */
  authenticate(header: string | undefined): Principal | null {
    if (this.open) return OPEN_ACCESS;
    const given = bearerOf(header);
    const sha = digest(given);
    let found: Principal | null = null;
    for (const e of this.entries) {
      if (timingSafeEqual(sha, e.sha) && found === null) found = e.principal;
    }
    return given.length > 0 ? found : null;
  }
}

/** Every tenant's data (lists over all tenants, full /health). */
export function readsAll(p: Principal): boolean {
  return p.role === 'admin';
}

/** One tenant's calls, CDRs, recordings and balance. */
export function readsTenant(p: Principal, tenant: string): boolean {
  return p.role === 'admin' || (p.role === 'tenant-viewer' && p.tenant === tenant);
}

export function readsMetrics(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'metrics';
}

/** For access logs: who, never the token. */
export function describe(p: Principal | null): string {
  if (!p) return 'anonymous';
  return p.role === 'tenant-viewer' ? `${p.name} (tenant-viewer of ${p.tenant})` : `${p.name} (${p.role})`;
}
