// Blacklist lookup: exact numbers through the snapshot's NumberSet, prefixes through one Set per
// prefix length, so the cost does not grow with the number of prefixes.
import type { Blacklist } from '../config/types.js';

interface CompiledPrefixes {
  lengths: number[];
  sets: Map<number, Set<string>>;
}

const compiled = new WeakMap<Blacklist, CompiledPrefixes>();

function compile(list: Blacklist): CompiledPrefixes {
  let c = compiled.get(list);
  if (!c) {
    const sets = new Map<number, Set<string>>();
    for (const prefix of list.prefixes) {
      if (prefix === '') continue;
      let set = sets.get(prefix.length);
      if (!set) sets.set(prefix.length, (set = new Set()));
      set.add(prefix);
    }
    c = { lengths: [...sets.keys()].sort((a, b) => a - b), sets };
    compiled.set(list, c);
  }
  return c;
}

/** What matched: the number itself, or the shortest matching prefix; null when not listed. */
export function blacklistMatch(list: Blacklist, national: string): string | null {
  if (list.exact.has(national)) return national;
  const c = compile(list);
  for (const length of c.lengths) {
    if (length > national.length) break;
    const prefix = national.slice(0, length);
    if (c.sets.get(length)?.has(prefix)) return `${prefix}*`;
  }
  return null;
}
