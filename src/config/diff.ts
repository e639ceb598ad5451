// What changed between two snapshots, per kind of entity, for reload logs and `config check`.
// Secrets are compared but never shown: a changed password shows as "seat 1001 changed".
import { CompactNumberSet } from './numberset.js';
import type { Blacklist, ConfigSnapshot } from './types.js';

export type DiffKind = 'server' | 'tenants' | 'seats' | 'trunks' | 'routes' | 'tariffs' | 'blacklist' | 'plans400';

export interface KindDiff { kind: DiffKind; added: string[]; removed: string[]; changed: string[] }

/** Only kinds with a change are listed; empty = identical. */
export type ConfigDiff = KindDiff[];

export function diffSnapshots(old: ConfigSnapshot, next: ConfigSnapshot): ConfigDiff {
  const out: ConfigDiff = [];
  const push = (d: KindDiff): void => {
    if (d.added.length || d.removed.length || d.changed.length) out.push(d);
  };
  push({ kind: 'server', added: [], removed: [], changed: changedFields(old.server, next.server) });
  push(diffMaps('tenants', old.tenants, next.tenants));
  push(diffMaps('seats', old.seats, next.seats));
  push(diffMaps('trunks', old.trunks, next.trunks));
  push(diffMaps('routes', new Map(old.routes.map((r) => [r.id, r])), new Map(next.routes.map((r) => [r.id, r]))));
  if (old.routes.map((r) => r.id).join() !== next.routes.map((r) => r.id).join()) {
    const d = out.find((x) => x.kind === 'routes');
    if (d) d.changed.push('(order)');
    else out.push({ kind: 'routes', added: [], removed: [], changed: ['(order)'] });
  }
  push(diffMaps('tariffs', old.tariffs, next.tariffs));
  push({ kind: 'blacklist', added: [], removed: [], changed: stable(old.blacklist) === stable(next.blacklist) ? [] : [describeBlacklist(old.blacklist, next.blacklist)] });
  push(diffMaps('plans400', old.plans400 ?? new Map(), next.plans400 ?? new Map()));
  return out;
}

/** "tenants ~telesales; seats +1004 -1003; blacklist 5→6 numbers" or "no changes". */
export function formatDiff(diff: ConfigDiff): string {
  if (!diff.length) return 'no changes';
  return diff.map((d) => {
    const parts = [...d.added.map((x) => `+${x}`), ...d.removed.map((x) => `-${x}`), ...d.changed.map((x) => (d.kind === 'blacklist' ? x : `~${x}`))];
    return `${d.kind} ${parts.join(' ')}`;
  }).join('; ');
}

function diffMaps<T>(kind: DiffKind, a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>): KindDiff {
  const d: KindDiff = { kind, added: [], removed: [], changed: [] };
  for (const [id, v] of b) {
    const prev = a.get(id);
    if (prev === undefined) d.added.push(id);
    else if (stable(prev) !== stable(v)) d.changed.push(id);
  }
  for (const id of a.keys()) if (!b.has(id)) d.removed.push(id);
  return d;
}

function changedFields(a: object, b: object, prefix = ''): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (isPlain(x) && isPlain(y)) out.push(...changedFields(x, y, `${prefix}${k}.`));
    else if (stable(x) !== stable(y)) out.push(`${prefix}${k}`);
  }
  return out;
}

function isPlain(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function describeBlacklist(a: Blacklist, b: Blacklist): string {
  const parts: string[] = [];
  if (a.exact.size !== b.exact.size) parts.push(`${a.exact.size}→${b.exact.size} numbers`);
  else if (stable(a.exact) !== stable(b.exact)) parts.push(`numbers changed (${b.exact.size})`);
  if (a.prefixes.join() !== b.prefixes.join()) parts.push(`prefixes ${a.prefixes.length}→${b.prefixes.length}`);
  if (a.files.join() !== b.files.join()) parts.push(`files ${b.files.join(', ') || 'none'}`);
  return parts.join(', ') || 'changed';
}

/** Canonical JSON: sorted keys; number sets by size and content fingerprint. */
function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof CompactNumberSet) return { size: x.size, fingerprint: x.fingerprint };
    if (x instanceof Map) return Object.fromEntries([...x.entries()].sort());
    if (isPlain(x)) return Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1)));
    return x;
  });
}
