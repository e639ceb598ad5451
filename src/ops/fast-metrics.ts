// Counters and histograms for the call path that cost a call a few additions. prom-client's own
// label children validate and hash their labels on every inc()/observe() (a few objects and a
// string each time); here a child is a plain cell, bound once per label set and kept by the
// caller, and prom-client's registry reads the cells only when /metrics is scraped.
import { Counter, type Metric, type Registry } from 'prom-client';

/** A sample as prom-client's registry renders it. */
interface Sample { metricName: string; labels: Record<string, string | number>; value: number }

/** One counter series: `n` only ever grows. */
export interface CounterCell { n: number }

/** One histogram series. */
export class HistogramCell {
  /** Per-bucket (not cumulative) counts; the last is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(v: number): void {
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** Series of one family by label values; bound on first use, kept for good. */
class Cells<T> {
  readonly all = new Map<string, { labels: Record<string, string>; cell: T }>();

  constructor(private readonly labelNames: readonly string[], private readonly make: () => T) {}

  get(values: readonly string[]): T {
    const key = values.join('\u0000');
    let e = this.all.get(key);
    if (!e) {
      if (values.length !== this.labelNames.length) throw new Error(`expected labels ${this.labelNames.join(', ')}`);
      e = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]!])), cell: this.make() };
      this.all.set(key, e);
    }
    return e.cell;
  }
}

export class FastCounter {
  private readonly cells: Cells<CounterCell>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[] = []) {
    const cells = this.cells = new Cells<CounterCell>(labelNames, () => ({ n: 0 }));
    new Counter({
      name, help, labelNames: [...labelNames], registers: [registry],
      collect() {
        this.reset();
        for (const { labels, cell } of cells.all.values()) this.inc(labels, cell.n);
      },
    });
  }

  /** The series of these label values (in labelNames order): keep it, then `cell.n++`. */
  cell(...values: string[]): CounterCell {
    return this.cells.get(values);
  }
}

export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly cells: Cells<HistogramCell>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.cells = new Cells<HistogramCell>(labelNames, () => new HistogramCell(bounds));
    // The registry renders any metric that answers get() with name, help, type and values.
    registry.registerMetric(this as unknown as Metric);
  }

  cell(...values: string[]): HistogramCell {
    return this.cells.get(values);
  }

  /** Registry.resetMetrics(): every series back to zero (cells held by callers stay valid). */
  reset(): void {
    for (const { cell } of this.cells.all.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }

  /** prom-client's histogram shape: cumulative _bucket series with `le`, then _sum and _count. */
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, cell } of this.cells.all.values()) {
      let acc = 0;
      this.bounds.forEach((b, i) => {
        acc += cell.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: b }, value: acc });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
