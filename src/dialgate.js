#!/usr/bin/env node
// Development launcher: runs the TypeScript sources through tsx's loader (tests spawn this).
// Production runs the compiled build instead: `npm run build`, then `node dist/cli.js`.
import { register } from 'tsx/esm/api';
register();
await import('./cli.ts');
