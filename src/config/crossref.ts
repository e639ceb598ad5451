// Checks that span entities and files: references that point to nothing, ids defined twice,
// numbers owned by two tenants, routes that can never be chosen, scopes nothing can serve.
import type { Placed, TenantDraft } from './build.js';
import { didYouMean, type IssueList } from './errors.js';
import type { Path, YamlSource } from './source.js';
import type { Route, RouteMatch, Seat, Tariff, Trunk } from './types.js';
import { EMERGENCY_NUMBERS } from '../numbers/classify.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { findRoute } from '../policy/routing.js';

/** Entities of one kind by id. `known` also holds ids of items that failed validation, so a broken
 * tenant does not also produce "missing tenant" errors in every seat that names it. */
export class Registry<T extends { id: string }> {
  readonly byId = new Map<string, Placed<T>>();
  readonly known = new Set<string>();
  /** False when a file of this kind could not be read as a list: references are not checked. */
  reliable = true;

  constructor(readonly noun: string) {}

  /** Adds an entity, or reports it as a duplicate of the first definition. */
  add(p: Placed<T>, issues: IssueList): boolean {
    const first = this.byId.get(p.value.id);
    if (first) {
      issues.error(p.src.issue([...p.path, 'id'], `${this.noun} \`${p.value.id}\` is defined twice; first at ${first.src.where(first.path)}`,
        `${this.noun} ids must be unique across all files`));
      return false;
    }
    this.byId.set(p.value.id, p);
    this.known.add(p.value.id);
    return true;
  }

  /** Reports `ref` if it names no entity of this kind. */
  expect(ref: string, src: YamlSource, path: Path, issues: IssueList, what: string): void {
    if (!this.reliable || this.known.has(ref)) return;
    const hint = didYouMean(ref, this.known) ?? (this.known.size ? `defined ${this.noun}s: ${[...this.known].slice(0, 10).join(', ')}` : `no ${this.noun}s are defined`);
    issues.error(src.issue(path, `${what} \`${ref}\` is not defined`, hint));
  }
}

export interface Registries {
  tenants: Registry<TenantDraft>;
  seats: Registry<Seat>;
  trunks: Registry<Trunk>;
  routes: Registry<Route>;
  tariffs: Registry<Tariff>;
}

export function checkReferences(r: Registries, issues: IssueList): void {
  for (const { value: s, src, path } of r.seats.byId.values()) {
    r.tenants.expect(s.tenant, src, [...path, 'tenant'], issues, 'tenant');
  }
  for (const { value: t, src, path } of r.tenants.byId.values()) {
    r.tariffs.expect(t.tariff, src, [...path, 'tariff'], issues, 'tariff');
  }
  for (const { value: route, src, path } of r.routes.byId.values()) {
    const seen = new Set<string>();
    route.trunks.forEach((ref, i) => {
      r.trunks.expect(ref.trunk, src, [...path, 'trunks', i], issues, 'trunk');
      if (seen.has(ref.trunk)) issues.error(src.issue([...path, 'trunks', i], `route \`${route.id}\` lists trunk \`${ref.trunk}\` twice`));
      seen.add(ref.trunk);
    });
    route.match.tenants?.forEach((t, i) => r.tenants.expect(t, src, [...path, 'match', 'tenants', i], issues, 'tenant'));
  }
  checkNumberOwnership(r, issues);
  checkUnreachableRoutes([...r.routes.byId.values()], issues);
  checkScopeServed(r, issues);
  checkEmergencyRouted(r, issues);
}

/** Caller ids (tenant pools and seats' own numbers) must belong to one tenant only (004 §2.2). */
function checkNumberOwnership(r: Registries, issues: IssueList): void {
  const owner = new Map<string, { tenant: string; src: YamlSource; path: Path }>();
  const claim = (num: string, tenant: string, src: YamlSource, path: Path): void => {
    const first = owner.get(num);
    if (!first) {
      owner.set(num, { tenant, src, path });
    } else if (first.tenant !== tenant) {
      issues.error(src.issue(path, `number ${num} is owned by tenant \`${first.tenant}\` (${first.src.where(first.path)}) and tenant \`${tenant}\``,
        'a number may belong to one tenant only'));
    }
  };
  for (const { value: t, src, path } of r.tenants.byId.values()) {
    const inPool = new Set<string>();
    t.callerIdPool.forEach((n, i) => {
      if (inPool.has(n)) issues.warn(src.issue([...path, 'callerIdPool', i], `number ${n} is listed twice in the caller-id pool`));
      inPool.add(n);
      claim(n, t.id, src, [...path, 'callerIdPool', i]);
    });
  }
  for (const { value: s, src, path } of r.seats.byId.values()) {
    if (s.callerId !== undefined) claim(s.callerId, s.tenant, src, [...path, 'callerId']);
  }
}

/** True if every call `b` matches is also matched by `a`. Absent dimension = any. */
export function covers(a: RouteMatch, b: RouteMatch): boolean {
  const sub = (x?: readonly string[], y?: readonly string[]): boolean => x === undefined || (y !== undefined && y.every((v) => x.includes(v)));
  if (!sub(a.classes, b.classes) || !sub(a.regions, b.regions) || !sub(a.tenants, b.tenants)) return false;
  if (a.prefixes === undefined) return true;
  return b.prefixes !== undefined && b.prefixes.every((bp) => a.prefixes!.some((ap) => bp.startsWith(ap)));
}

/** Routes are tried by priority (lower first; ties in file order). */
export function routeOrder(routes: readonly Placed<Route>[]): Placed<Route>[] {
  return [...routes].sort((x, y) => x.value.priority - y.value.priority);
}

function checkUnreachableRoutes(routes: Placed<Route>[], issues: IssueList): void {
  const ordered = routeOrder(routes);
  ordered.forEach((b, j) => {
    const shadow = ordered.slice(0, j).find((a) => covers(a.value.match, b.value.match));
    if (!shadow) return;
    const what = Object.keys(shadow.value.match).length === 0 ? 'a catch-all' : 'a route';
    issues.warn(b.src.issue([...b.path, 'priority'],
      `route \`${b.value.id}\` is never used: \`${shadow.value.id}\` (${shadow.src.where(shadow.path)}, priority ${shadow.value.priority}) is ${what} that takes every call it would match first`,
      `give \`${b.value.id}\` a priority number below ${shadow.value.priority}, or narrow \`${shadow.value.id}\``));
  });
}

/** Each number class a tenant may call should have a route and a rate. */
function checkScopeServed(r: Registries, issues: IssueList): void {
  const routes = [...r.routes.byId.values()].map((p) => p.value);
  for (const { value: t, src, path } of r.tenants.byId.values()) {
    const tariff = r.tariffs.byId.get(t.tariff)?.value;
    for (const cls of t.allowedClasses) {
      if (cls === 'emergency') continue; // a decision of its own, never routed like a normal call
      const routed = routes.some((ro) => (!ro.match.classes || ro.match.classes.includes(cls)) && (!ro.match.tenants || ro.match.tenants.includes(t.id)));
      if (r.routes.reliable && !routed) {
        issues.warn(src.issue([...path, 'allowedClasses'], `tenant \`${t.id}\` may call ${cls} numbers but no route serves them`, 'add a route matching this class, or a catch-all route'));
      }
      if (tariff && !tariff.rates.some((rate) => rate.class === cls || (rate.class === undefined && rate.prefix === undefined) || rate.prefix !== undefined)) {
        issues.warn(src.issue([...path, 'allowedClasses'], `tenant \`${t.id}\` may call ${cls} numbers but tariff \`${tariff.id}\` has no rate for them`, 'add a rate with this class, or one without class and prefix as the default'));
      }
    }
  }
}

/**
 * 110, 119, 120 and 122 must connect for every tenant whatever else the config says (they bypass
 * window, scope, ports and balance): a tenant for whom one of them finds no route is an error,
 * not a warning, because the caller would hear 404 in an emergency.
 */
function checkEmergencyRouted(r: Registries, issues: IssueList): void {
  if (!r.routes.reliable) return; // a broken routes file is reported already
  const routes = [...r.routes.byId.values()].map((p) => p.value);
  for (const { value: t, src, path } of r.tenants.byId.values()) {
    const missing = [...EMERGENCY_NUMBERS].filter((n) => {
      const number = normalizeNumber(n);
      return number.ok && findRoute(routes, number.number, t.id) === undefined;
    });
    if (missing.length === 0) continue;
    issues.error(src.issue(path, `emergency number${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ha${missing.length > 1 ? 've' : 's'} no route for tenant \`${t.id}\`: an emergency call would get 404`,
      'add a route with match: { classes: [emergency] } over trunks that reach the local emergency centres (routes.yaml)'));
  }
}
