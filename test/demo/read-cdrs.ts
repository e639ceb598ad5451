// Reads the daily JSONL CDR files of a directory, oldest first.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cdr } from '../../src/cdr/model.js';

export function readCdrsIn(dir: string): Cdr[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  } catch {
    return [];
  }
  return files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Cdr));
}
