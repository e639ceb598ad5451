// Config problems as the admin sees them: file, line, column, field path, message, hint.
// Errors reject a config; warnings are printed but the config still loads.

export interface ConfigError {
  /** Path relative to the config directory (e.g. "seats.yaml", "lists/dnc.txt"). */
  file: string;
  line: number; // 1-based; 0 when the problem is the file as a whole
  column: number; // 1-based; 0 when unknown
  /** Field path inside the file, e.g. "tenants[0].window.weekly.mon[1]"; "" for the whole file. */
  field: string;
  message: string;
  hint?: string;
}

export type ConfigWarning = ConfigError;

/** Collects errors and warnings while a config directory is loaded. */
export class IssueList {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  error(issue: ConfigError): void { this.errors.push(issue); }
  warn(issue: ConfigWarning): void { this.warnings.push(issue); }
  sorted(): { errors: ConfigError[]; warnings: ConfigWarning[] } {
    return { errors: sortIssues(this.errors), warnings: sortIssues(this.warnings) };
  }
}

export function sortIssues(issues: readonly ConfigError[]): ConfigError[] {
  return [...issues].sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1);
}

/** "seats.yaml:7:5 seats[1].tenant: message\n    hint: ..." — one issue per entry. */
export function formatErrors(issues: readonly ConfigError[], label = 'error'): string {
  return issues.map((i) => {
    const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
    const field = i.field ? ` ${i.field}:` : '';
    const hint = i.hint ? `\n    hint: ${i.hint}` : '';
    return `${label} ${where}${field} ${i.message}${hint}`;
  }).join('\n');
}

/** Field path for messages: ["tenants", 0, "window"] → "tenants[0].window". */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Levenshtein distance, small strings only (field names, ids). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, if it is close enough to be a likely typo. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === lower ? 0 : editDistance(lower, k.toLowerCase());
    if (d < bestDist) { best = k; bestDist = d; }
  }
  // Allow about one typo per four characters, at least one.
  return best !== undefined && bestDist <= Math.max(1, Math.floor(best.length / 4)) ? best : undefined;
}

export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  const c = closest(name, known);
  return c === undefined ? undefined : `did you mean \`${c}\`?`;
}
