import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // SIP tests bind loopback ports and start sipp/redis: run files one at a time on 2 cores.
    fileParallelism: false,
    pool: 'forks',
  },
});
