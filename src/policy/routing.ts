// Outbound routing (issue 3 §3; 004 §2.6 failover lines): the first route by priority whose match
// fits gives the trunks, in failover order. Within a route, refs are grouped in tiers (their
// `priority`, default their position, so a plain list is plain failover order); refs of one tier
// share calls by weight, picked by a pseudo-random sequence seeded from the call id, so that
// `dialgate explain` and the live call pick the same order. Weight 0 refs come last in their tier.
// A match field that is absent or empty does not constrain; given fields must all fit.
import type { NumberClass, Route, RouteMatch, RouteTrunkRef, Trunk } from '../config/types.js';
import type { DialledNumber } from '../numbers/normalize.js';
import { regionMatches } from '../numbers/region.js';

const sortedRoutes = new WeakMap<readonly Route[], readonly Route[]>();
const tiersOf = new WeakMap<Route, RouteTrunkRef[][]>();
const gateways = new WeakMap<Trunk, { scheme: string; host: string }>();

function byPriority(routes: readonly Route[]): readonly Route[] {
  let sorted = sortedRoutes.get(routes);
  if (!sorted) {
    sorted = [...routes].sort((a, b) => a.priority - b.priority); // stable: config order on ties
    sortedRoutes.set(routes, sorted);
  }
  return sorted;
}

function fits(m: RouteMatch, number: DialledNumber, tenantId: string): boolean {
  if (m.tenants?.length && !m.tenants.includes(tenantId)) return false;
  if (m.classes?.length && !m.classes.includes(number.class as NumberClass)) return false;
  if (m.prefixes?.length && !m.prefixes.some((p) => number.national.startsWith(p))) return false;
  if (m.regions?.length) {
    const region = number.region;
    if (!region || !m.regions.some((name) => regionMatches(region, name))) return false;
  }
  return true;
}

/** The route for a number and tenant, or undefined when none matches. */
export function findRoute(routes: readonly Route[], number: DialledNumber, tenantId: string): Route | undefined {
  for (const route of byPriority(routes)) if (fits(route.match, number, tenantId)) return route;
  return undefined;
}

function tiers(route: Route): RouteTrunkRef[][] {
  let t = tiersOf.get(route);
  if (!t) {
    const groups = new Map<number, RouteTrunkRef[]>();
    route.trunks.forEach((ref, index) => {
      const tier = ref.priority ?? index;
      const group = groups.get(tier);
      if (group) group.push(ref);
      else groups.set(tier, [ref]);
    });
    t = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, refs]) => refs);
    tiersOf.set(route, t);
  }
  return t;
}

/** FNV-1a of the call id: the seed of the weighted order. */
export function seedOf(callId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) {
    h ^= callId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough to share load. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Trunk ids of the route in failover order for this call. */
export function trunkOrder(route: Route, callId: string): string[] {
  const order: string[] = [];
  let next: (() => number) | undefined;
  for (const tier of tiers(route)) {
    if (tier.length === 1) {
      order.push(tier[0]!.trunk);
      continue;
    }
    next ??= seededRandom(seedOf(callId));
    const left = tier.filter((ref) => ref.weight > 0);
    let total = left.reduce((sum, ref) => sum + ref.weight, 0);
    while (left.length > 0) {
      let pick = next() * total;
      let i = 0;
      while (i < left.length - 1 && pick >= left[i]!.weight) pick -= left[i++]!.weight;
      const [ref] = left.splice(i, 1);
      order.push(ref!.trunk);
      total -= ref!.weight;
    }
    for (const ref of tier) if (!(ref.weight > 0)) order.push(ref.trunk);
  }
  return order;
}

function gateway(trunk: Trunk): { scheme: string; host: string } {
  let g = gateways.get(trunk);
  if (!g) {
    const colon = trunk.uri.indexOf(':');
    const scheme = colon > 0 ? trunk.uri.slice(0, colon) : 'sip';
    let host = colon > 0 ? trunk.uri.slice(colon + 1) : trunk.uri;
    const at = host.indexOf('@');
    if (at >= 0) host = host.slice(at + 1);
    g = { scheme, host };
    gateways.set(trunk, g);
  }
  return g;
}

/** The number as this trunk wants it: strip leading digits, then add the trunk's prefix. */
export function dialString(trunk: Trunk, national: string): string {
  return trunk.prefix + national.slice(trunk.strip);
}

/** sip:<dial string>@<gateway host[:port][;params]> */
export function requestUri(trunk: Trunk, national: string): string {
  const g = gateway(trunk);
  return `${g.scheme}:${dialString(trunk, national)}@${g.host}`;
}
