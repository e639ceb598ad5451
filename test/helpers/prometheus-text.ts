// Reads a /metrics exposition with a Prometheus text-format parser (parse-prometheus-text-format,
// a port of the Prometheus Python client's parser), plus the checks it leaves out: every family
// declared once, every sample numeric. Tests assert on what a scraper would see, not on our strings.
// Where promtool (Debian package prometheus) is installed, checkWithPromtool() runs the
// Prometheus project's own parser and linter over the same text.
import { spawnSync } from 'node:child_process';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample { labels: Record<string, string>; value: number }
export interface Family { name: string; type: string; help: string; samples: Sample[] }

const num = (v: string): number => {
  const n = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
  if (Number.isNaN(n) && v.toLowerCase() !== 'nan') throw new Error(`not a number: ${v}`);
  return n;
};

export function parseExposition(text: string): Map<string, Family> {
  const declared = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  const dup = declared.find((n, i) => declared.indexOf(n) !== i);
  if (dup) throw new Error(`metric family ${dup} is declared twice`);
  const out = new Map<string, Family>();
  for (const f of parsePrometheusTextFormat(text)) {
    const family: Family = { name: f.name, type: f.type, help: f.help, samples: [] };
    for (const m of f.metrics) {
      if (m.value !== undefined) family.samples.push({ labels: m.labels ?? {}, value: num(m.value) });
      for (const v of [m.count, m.sum, ...Object.values(m.buckets ?? {})]) if (v !== undefined) num(v);
    }
    out.set(f.name, family);
  }
  return out;
}

/** Sum of a counter or gauge's samples whose labels include `match`. */
export function valueOf(m: Map<string, Family>, name: string, match: Record<string, string> = {}): number {
  const f = m.get(name);
  if (!f) throw new Error(`no metric ${name}`);
  return f.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/**
 * Count, sum and buckets of a histogram's series whose labels include `match`, added up.
 * parse-prometheus-text-format reads histograms without labels only, so each labelled series is
 * cut out of the text (its _bucket/_sum/_count lines, labels other than `le` removed) and parsed alone.
 */
export function histogramOf(text: string, name: string, match: Record<string, string> = {}): { count: number; sum: number; buckets: Record<string, number> } {
  const series = new Map<string, string[]>();
  const line = new RegExp(`^${name}_(bucket|sum|count)\\{([^}]*)\\} (\\S+)$`, 'gm');
  if (!new RegExp(`^# TYPE ${name} histogram$`, 'm').test(text)) throw new Error(`no histogram ${name}`);
  for (const m of text.matchAll(line)) {
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const { le, ...rest } = labels;
    const key = JSON.stringify(rest);
    const lines = series.get(key) ?? [];
    lines.push(`${name}_${m[1]}${le !== undefined ? `{le="${le}"}` : ''} ${m[3]}`);
    series.set(key, lines);
  }
  const out = { count: 0, sum: 0, buckets: {} as Record<string, number> };
  for (const lines of series.values()) {
    const [f] = parsePrometheusTextFormat(`# TYPE ${name} histogram\n${lines.join('\n')}\n`);
    const h = f?.metrics[0];
    if (!h) continue;
    out.count += num(h.count ?? '0');
    out.sum += num(h.sum ?? '0');
    for (const [le, v] of Object.entries(h.buckets ?? {})) out.buckets[le] = (out.buckets[le] ?? 0) + num(v);
  }
  return out;
}

/** promtool's path, or null when the Debian package prometheus is not installed. */
export const PROMTOOL: string | null = (() => {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
})();

/**
 * `promtool check metrics`: its parse errors and lint problems (naming, units, HELP), one a line;
 * none when clean. prom-client's own gauges nodejs_active_*_total break the "_total is a counter"
 * lint; they are prom-client's names, which standard Node.js dashboards use, so they are let pass.
 */
export function checkWithPromtool(text: string): string[] {
  if (!PROMTOOL) throw new Error('promtool is not installed');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const lines = `${r.stdout}${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const problems = lines.filter((l) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l));
  return problems.length === 0 && r.status !== 0 && lines.length === 0 ? [`promtool exited ${r.status}`] : problems;
}
