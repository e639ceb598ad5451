// Bearer tokens with roles: who a header names, and what each role may read.
import { describe, expect, it } from 'vitest';
import { AccessTable, bearerOf, describe as who, OPEN_ACCESS, readsAll, readsMetrics, readsTenant } from '../../src/ops/access.js';

const ADMIN = 'admin-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const SCRAPE = 'scrape-token-0123456789abcdef';

const table = new AccessTable([
  { name: 'noc', role: 'admin', token: ADMIN },
  { name: 'telesales-portal', role: 'tenant-viewer', tenant: 'telesales', token: VIEWER },
  { name: 'prometheus', role: 'metrics', token: SCRAPE },
]);

describe('AccessTable', () => {
  it('names the holder of each token, and nobody for a wrong, empty, prefixed or missing one', () => {
    expect(table.authenticate(`Bearer ${ADMIN}`)).toEqual({ name: 'noc', role: 'admin' });
    expect(table.authenticate(`bearer   ${VIEWER}  `)).toEqual({ name: 'telesales-portal', role: 'tenant-viewer', tenant: 'telesales' });
    expect(table.authenticate(`Bearer ${SCRAPE}`)).toEqual({ name: 'prometheus', role: 'metrics' });
    for (const h of [`Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(0, -1)}`, 'Bearer ', 'Bearer', `Basic ${ADMIN}`, ADMIN, '', undefined]) {
      expect(table.authenticate(h)).toBeNull();
    }
    expect(bearerOf(`Bearer ${ADMIN}`)).toBe(ADMIN);
  });

  it('the single http.token is an admin; with no token at all the API is open (everyone admin)', () => {
    const single = AccessTable.fromSettings({ token: ADMIN, tokens: [{ name: 'v', role: 'tenant-viewer', tenant: 't', token: VIEWER }] });
    expect(single.authenticate(`Bearer ${ADMIN}`)).toEqual({ name: 'http.token', role: 'admin' });
    expect(single.authenticate(`Bearer ${VIEWER}`)?.role).toBe('tenant-viewer');
    const open = AccessTable.fromSettings({});
    expect(open.open).toBe(true);
    expect(open.authenticate(undefined)).toBe(OPEN_ACCESS);
  });

  it('roles: admin reads everything; a tenant-viewer its own tenant only; metrics only /metrics', () => {
    const admin = table.authenticate(`Bearer ${ADMIN}`)!;
    const viewer = table.authenticate(`Bearer ${VIEWER}`)!;
    const scrape = table.authenticate(`Bearer ${SCRAPE}`)!;
    expect([readsAll(admin), readsTenant(admin, 'other'), readsMetrics(admin)]).toEqual([true, true, true]);
    expect([readsAll(viewer), readsTenant(viewer, 'telesales'), readsTenant(viewer, 'other'), readsMetrics(viewer)]).toEqual([false, true, false, false]);
    expect([readsAll(scrape), readsTenant(scrape, 'telesales'), readsMetrics(scrape)]).toEqual([false, false, true]);
    expect(who(viewer)).toBe('telesales-portal (tenant-viewer of telesales)');
    expect(who(null)).toBe('anonymous');
  });

  it('keeps only digests: the table holds no token value', () => {
    const seen = JSON.stringify(table, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
    for (const t of [ADMIN, VIEWER, SCRAPE]) expect(seen).not.toContain(t);
  });
});
