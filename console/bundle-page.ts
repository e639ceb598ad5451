// One browser page for `npm run build` and the tests: its TypeScript entry bundled by esbuild
// (ESM, minified, no source map) into app.js, and its HTML written beside it. Used by the admin
// console (console/build.ts) and the web phone (phone/build.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

export async function bundlePage(entry: string, page: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    outfile: join(outDir, 'app.js'),
    logLevel: 'warning',
  });
  await writeFile(join(outDir, 'index.html'), page);
}
