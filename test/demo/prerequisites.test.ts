// `npm run demo` on a machine without redis-server or sipp: one line naming the Debian packages.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingPrerequisites } from './prerequisites.js';

const dir = mkdtempSync(join(tmpdir(), 'dialgate-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo prerequisites', () => {
  it('names the missing commands and the Debian packages that bring them', () => {
    expect(missingPrerequisites(dir)).toBe('npm run demo needs redis-server and sipp: apt-get install -y redis-server sip-tester');
    writeFileSync(join(dir, 'redis-server'), '#!/bin/sh\n');
    chmodSync(join(dir, 'redis-server'), 0o755);
    expect(missingPrerequisites(dir)).toBe('npm run demo needs sipp: apt-get install -y sip-tester');
    writeFileSync(join(dir, 'sipp'), '#!/bin/sh\n'); // not executable: still missing
    expect(missingPrerequisites(dir)).toBe('npm run demo needs sipp: apt-get install -y sip-tester');
    chmodSync(join(dir, 'sipp'), 0o755);
    expect(missingPrerequisites(dir)).toBeNull();
  });
});
