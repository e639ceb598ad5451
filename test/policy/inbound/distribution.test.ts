// Distribution strategies (002 §1.3 智能话务分配) as pure functions of the shared state.
import { describe, expect, it } from 'vitest';
import { distribute, longestIdleOrder, NO_STATE, roundRobinOrder, weightedOrder } from '../../../src/policy/inbound/distribution.js';
import type { RouteGroup, RouteMember } from '../../../src/policy/inbound/types.js';

const seat = (id: string, weight = 1): RouteMember => ({ key: `seat:${id}`, kind: 'seat', seat: id, weight, noAnswerSeconds: 20 });
const group = (strategy: RouteGroup['strategy'], members = [seat('a'), seat('b'), seat('c')]): RouteGroup => ({ id: 'g', strategy, noAnswerSeconds: 20, members });
const keys = (waves: RouteMember[][]) => waves.map((w) => w.map((m) => (m.kind === 'seat' ? m.seat : m.key)));

describe('distribute', () => {
  it('sequential: config order, one member at a time', () => {
    expect(keys(distribute(group('sequential'), NO_STATE, 'x'))).toEqual([['a'], ['b'], ['c']]);
  });

  it('round-robin: each ticket starts one further; 30 tickets start 10 times on each of 3 seats', () => {
    expect(keys(distribute(group('round-robin'), { ...NO_STATE, ticket: 4 }, 'x'))).toEqual([['b'], ['c'], ['a']]);
    const firsts = new Map<string, number>();
    for (let t = 0; t < 30; t++) {
      const first = roundRobinOrder(group('round-robin').members, t)[0]!.key;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect([...firsts.values()]).toEqual([10, 10, 10]);
  });

  it('weighted: every member once; a weight-3 member comes first about 3 times as often', () => {
    const members = [seat('a', 3), seat('b', 1)];
    let aFirst = 0;
    for (let i = 0; i < 4000; i++) {
      const order = weightedOrder(members, i * 2654435761);
      expect(order.map((m) => m.key).sort()).toEqual(['seat:a', 'seat:b']);
      if (order[0]!.key === 'seat:a') aFirst++;
    }
    expect(aFirst / 4000).toBeGreaterThan(0.7);
    expect(aFirst / 4000).toBeLessThan(0.8);
    // Same call and ticket → same order (explain and the live call agree).
    expect(keys(distribute(group('weighted'), NO_STATE, 'call-1'))).toEqual(keys(distribute(group('weighted'), NO_STATE, 'call-1')));
  });

  it('longest-idle: never-called first, then the oldest last call; members on a call last', () => {
    const order = longestIdleOrder(group('longest-idle').members, {
      lastEnd: new Map([['seat:a', 2000], ['seat:b', 1000]]), busy: new Set(['seat:c']),
    });
    expect(order.map((m) => m.key)).toEqual(['seat:b', 'seat:a', 'seat:c']);
    const fresh = longestIdleOrder(group('longest-idle').members, { lastEnd: new Map([['seat:a', 5]]), busy: new Set() });
    expect(fresh.map((m) => m.key)).toEqual(['seat:b', 'seat:c', 'seat:a']);
  });

  it('ring-all: one wave with every member', () => {
    expect(keys(distribute(group('ring-all'), NO_STATE, 'x'))).toEqual([['a', 'b', 'c']]);
  });

  it('agents not available are skipped under every strategy; the others keep their order', () => {
    const away = { ...NO_STATE, unavailable: new Set(['seat:b']) };
    expect(keys(distribute(group('sequential'), away, 'x'))).toEqual([['a'], ['c']]);
    expect(keys(distribute(group('ring-all'), away, 'x'))).toEqual([['a', 'c']]);
    // Round-robin turns over the whole group: ticket 1 would start on b, so it starts on c.
    expect(keys(distribute(group('round-robin'), { ...away, ticket: 1 }, 'x'))).toEqual([['c'], ['a']]);
    expect(keys(distribute(group('weighted'), away, 'call-1')).flat().sort()).toEqual(['a', 'c']);
    expect(keys(distribute(group('longest-idle'), { ...away, lastEnd: new Map([['seat:a', 5]]) }, 'x'))).toEqual([['c'], ['a']]);
    // Nobody available: no wave at all (the no-answer / overflow path follows).
    expect(distribute(group('ring-all'), { ...NO_STATE, unavailable: new Set(['seat:a', 'seat:b', 'seat:c']) }, 'x')).toEqual([]);
  });
});
