// Temporary (untracked) copy for helpers running `npx vitest run <dir>`; the real one is test/vitest.config.ts.
export { default } from './test/vitest.config.js';
