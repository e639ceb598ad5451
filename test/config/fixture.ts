// Temp copies of the shipped example config, edited per test.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import type { ConfigError } from '../../src/config/errors.js';
import { loadConfig, type LoadResult } from '../../src/config/load.js';

export const EXAMPLE_DIR = resolve(import.meta.dirname, '../../config');

const made: string[] = [];

export async function exampleCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dialgate-config-'));
  await cp(EXAMPLE_DIR, dir, { recursive: true });
  made.push(dir);
  return dir;
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dialgate-config-'));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Rewrites one file: a function of its text, or a [search, replace] pair that must match. */
export async function edit(dir: string, file: string, change: ((text: string) => string) | [string, string]): Promise<void> {
  const path = join(dir, file);
  const text = await readFile(path, 'utf8').catch(() => '');
  let next: string;
  if (typeof change === 'function') next = change(text);
  else {
    expect(text, `${file} should contain ${change[0]}`).toContain(change[0]);
    next = text.replace(change[0], change[1]);
  }
  await writeFile(path, next);
}

/** 1-based line of the first line containing `needle` in a file. */
export async function lineOf(dir: string, file: string, needle: string, nth = 1): Promise<number> {
  const lines = (await readFile(join(dir, file), 'utf8')).split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  }
  throw new Error(`${needle} not in ${file}`);
}

export async function load(dir: string, env: Record<string, string> = {}): Promise<LoadResult> {
  return loadConfig(dir, { env, now: () => 1_700_000_000_000 });
}

export async function expectErrors(dir: string, env: Record<string, string> = {}): Promise<ConfigError[]> {
  const r = await load(dir, env);
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}
