import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // SIP tests bind loopback ports and start sipp/redis: one file at a time on 2 cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
