// What a recording made on the real media server must hold, read with sox (real lane only).
import { execFileSync, spawnSync } from 'node:child_process';
import { expect } from 'vitest';

/**
 * A recording made on the real media server holds the call's audio: about as long as the call
 * was answered, and not silence (the sipp legs stream tones). sox reads it.
 */
export function expectAudio(path: string, answeredMs: number): void {
  const seconds = Number(execFileSync('soxi', ['-D', path], { encoding: 'utf8' }).trim());
  expect(seconds).toBeGreaterThan(answeredMs / 1000 - 1.5);
  expect(seconds).toBeLessThan(answeredMs / 1000 + 1.5);
  const rms = Number(/RMS\s+amplitude:\s+([\d.]+)/.exec(soxStat(path))?.[1] ?? 0);
  expect(rms).toBeGreaterThan(0.01);
}

function soxStat(path: string): string {
  // `sox … stat` prints on stderr.
  const r = spawnSync('sox', [path, '-n', 'stat'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}
