// Blacklists (global blacklist.yaml and per-tenant do-not-call lists): inline numbers, prefixes
// and large list files merged into one NumberSet. A cache keyed by the list files' content hashes
// lets a reload that did not touch the lists reuse the built set instead of re-reading millions of
// lines.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { BlacklistYaml } from './build.js';
import { national } from './build.js';
import type { IssueList } from './errors.js';
import { ListFileError, loadListFile, type ListFileSpec } from './listfile.js';
import { CompactNumberSet, NumberSetBuilder } from './numberset.js';
import type { Path, YamlSource } from './source.js';
import type { Blacklist } from './types.js';

/** Built sets by content key; the store keeps one across reloads. */
export class BlacklistCache {
  private entries = new Map<string, CompactNumberSet>();
  private used = new Set<string>();
  get(key: string): CompactNumberSet | undefined {
    const v = this.entries.get(key);
    if (v) this.used.add(key);
    return v;
  }
  set(key: string, set: CompactNumberSet): void {
    this.entries.set(key, set);
    this.used.add(key);
  }
  /** Drops sets the last load did not use, so old lists do not stay in memory. */
  prune(): void {
    for (const k of this.entries.keys()) if (!this.used.has(k)) this.entries.delete(k);
    this.used = new Set();
  }
}

export interface BlacklistContext {
  dir: string;
  issues: IssueList;
  /** Relative list path → sha256, for the config version. */
  fileHashes: Map<string, string>;
  cache?: BlacklistCache;
}

export const EMPTY_BLACKLIST: Blacklist = Object.freeze({ exact: CompactNumberSet.EMPTY, prefixes: [], files: [] });

export async function buildBlacklist(src: YamlSource, path: Path, y: BlacklistYaml | undefined, ctx: BlacklistContext): Promise<Blacklist | undefined> {
  if (!y) return EMPTY_BLACKLIST;
  const numbers = (y.numbers ?? []).map(national);
  const prefixes = (y.prefixes ?? []).map(String);
  const specs: ListFileSpec[] = (y.files ?? []).map((f) => (typeof f === 'string' ? { path: f } : f));
  let ok = true;

  // Hash the files first: cheap next to parsing, and it decides whether the cached set is current.
  const hashes: string[] = [];
  for (const [i, spec] of specs.entries()) {
    try {
      const h = await hashFile(absolute(ctx.dir, spec.path));
      hashes.push(h);
      ctx.fileHashes.set(spec.path, h);
    } catch (e) {
      ok = false;
      const code = (e as NodeJS.ErrnoException).code;
      ctx.issues.error(src.issue([...path, 'files', i], `cannot read list file ${spec.path} (${code ?? String(e)})`,
        code === 'ENOENT' ? 'list paths are relative to the config directory' : undefined));
    }
  }
  if (!ok) return undefined;
  const key = JSON.stringify([numbers, specs, hashes]);
  let exact = ctx.cache?.get(key);
  if (!exact) {
    const builder = new NumberSetBuilder();
    for (const n of numbers) builder.add(n);
    for (const [i, spec] of specs.entries()) {
      try {
        const r = await loadListFile(absolute(ctx.dir, spec.path), spec, builder);
        if (r.invalid > 0 && r.firstInvalid) {
          ctx.issues.warn({
            file: spec.path, line: r.firstInvalid.line, column: 1, field: '',
            message: `${r.invalid} line(s) are not phone numbers and were skipped (first: ${JSON.stringify(r.firstInvalid.text)})`,
            hint: 'one number per line; # starts a comment',
          });
        }
        if (r.numbers === 0) ctx.issues.warn(src.issue([...path, 'files', i], `list file ${spec.path} holds no numbers`));
      } catch (e) {
        ok = false;
        if (e instanceof ListFileError) {
          ctx.issues.error(src.issue([...path, 'files', i, 'column'], e.message, e.hint));
        } else {
          ctx.issues.error(src.issue([...path, 'files', i], `cannot read list file ${spec.path}: ${(e as Error).message}`));
        }
      }
    }
    if (!ok) return undefined;
    exact = await builder.build();
    ctx.cache?.set(key, exact);
  }
  return { exact, prefixes, files: specs.map((s) => s.path) };
}

function absolute(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}
