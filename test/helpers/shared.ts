// Where the team's shared material (../shared beside the repo: traces, contracts) is.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `<repo>/../shared`, as CI lays it out; SHARED_DIR overrides. */
export function sharedDir(): string {
  const candidates = [process.env.SHARED_DIR, resolve(repo, '../shared'), '/work/shared'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`shared/ not found (looked in ${candidates.join(', ')}); set SHARED_DIR`);
  return found;
}
