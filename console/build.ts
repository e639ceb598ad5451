// Bundles the console (console/src/main.ts → app.js) and writes its page, for `npm run build`
// (into dist/console) and for tests (into a temporary directory). Everything is served by dialgate
// itself: no CDN, no framework; the charts are SVG drawn by console/src/charts.ts.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePage } from './bundle-page.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

const PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dialgate 管理控制台 · Admin console</title>
<style>
  body { font: 14px/1.45 system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 0; color: #1d2430; background: #f5f6f8; }
  header { background: #1f3a5f; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 17px; margin: 0; }
  header nav a { color: #cfe0f5; margin-right: 12px; text-decoration: none; }
  header nav a.on { color: #fff; font-weight: 600; border-bottom: 2px solid #ffd166; }
  header .who { margin-left: auto; font-size: 12px; color: #cfe0f5; }
  main { padding: 16px 18px; }
  h2 { font-size: 16px; margin: 0 0 10px; }
  .en { color: #6a7485; font-weight: normal; font-size: 0.9em; }
  table { border-collapse: collapse; background: #fff; margin: 8px 0 14px; }
  th, td { border: 1px solid #dde1e7; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #eef1f5; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  form { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; margin: 8px 0; }
  label { display: flex; flex-direction: column; font-size: 12px; color: #4a5568; }
  input, select, button { font: inherit; padding: 3px 6px; }
  button { cursor: pointer; }
  .err { color: #b42318; }
  .ok { color: #067647; }
  .box { background: #fff; border: 1px solid #dde1e7; padding: 10px 12px; margin: 8px 0; }
  svg text { font: 11px system-ui, "Noto Sans CJK SC", sans-serif; fill: #1d2430; }
</style>
</head>
<body>
<header><h1>dialgate 管理控制台 <span class="en">Admin console</span></h1><nav id="nav"></nav><span class="who" id="who"></span></header>
<main id="main"></main>
<script type="module" src="/console/app.js"></script>
</body>
</html>
`;

/** Writes index.html and app.js into `outDir`. */
export function buildConsole(outDir: string): Promise<void> {
  return bundlePage(join(HERE, 'src/main.ts'), PAGE, outDir);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(HERE, '../dist/console');
  await buildConsole(out);
  process.stdout.write(`console built into ${out}\n`);
}
