// Which rate of a tariff applies to a number: the longest matching prefix first, then the
// number's class, then the default rate (neither prefix nor class). A rate with both a prefix
// and a class matches only numbers of that class.
import type { Tariff, TariffRate } from '../config/types.js';
import type { DialledNumber } from '../numbers/normalize.js';

interface CompiledTariff {
  byPrefix: TariffRate[]; // longest prefix first
  byClass: Map<string, TariffRate>;
  fallback: TariffRate | undefined;
}

const compiled = new WeakMap<Tariff, CompiledTariff>();

function compile(tariff: Tariff): CompiledTariff {
  let c = compiled.get(tariff);
  if (!c) {
    const byClass = new Map<string, TariffRate>();
    let fallback: TariffRate | undefined;
    for (const rate of tariff.rates) {
      if (rate.prefix) continue;
      if (rate.class) {
        if (!byClass.has(rate.class)) byClass.set(rate.class, rate);
      } else {
        fallback ??= rate;
      }
    }
    const byPrefix = tariff.rates.filter((r) => r.prefix)
      .sort((a, b) => (b.prefix?.length ?? 0) - (a.prefix?.length ?? 0)); // stable: config order on ties
    c = { byPrefix, byClass, fallback };
    compiled.set(tariff, c);
  }
  return c;
}

/** The rate for a normalised number, or null when the tariff prices no such destination. */
export function tariffRateFor(tariff: Tariff, number: Pick<DialledNumber, 'national' | 'class'>): TariffRate | null {
  const c = compile(tariff);
  for (const rate of c.byPrefix) {
    if (number.national.startsWith(rate.prefix ?? '') && (!rate.class || rate.class === number.class)) return rate;
  }
  return c.byClass.get(number.class) ?? c.fallback ?? null;
}
