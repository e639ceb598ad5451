// Bundles the agents' web phone (phone/src/main.ts with sip.js → app.js) and writes its page, for
// `npm run build` (into dist/phone) and for tests (into a temporary directory). Served by dialgate
// itself at /phone (ops/phone-routes.ts): no CDN, no framework.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePage } from '../console/bundle-page.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

const PAGE = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#1f3a5f">
<title>dialgate 网页电话 · Web phone</title>
<style>
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 0; color: #1d2430; background: #eef1f5; }
  header { background: #1f3a5f; color: #fff; padding: 10px 14px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0; }
  header .who { margin-left: auto; font-size: 13px; color: #cfe0f5; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  header button { background: transparent; color: #fff; border-color: #8fa9c9; min-height: 30px; padding: 3px 9px; font-size: 13px; }
  header button.on { background: #ffd166; color: #1d2430; }
  main { max-width: 440px; margin: 0 auto; padding: 12px; }
  .en { color: #6a7485; font-weight: normal; font-size: 0.85em; }
  .card { background: #fff; border: 1px solid #dde1e7; border-radius: 10px; padding: 12px; margin: 10px 0; }
  label { display: flex; flex-direction: column; font-size: 13px; color: #4a5568; margin: 6px 0; }
  input { font: inherit; font-size: 17px; padding: 8px 10px; border: 1px solid #c5ccd6; border-radius: 8px; width: 100%; }
  button { font: inherit; cursor: pointer; border: 1px solid #c5ccd6; border-radius: 8px; background: #f7f8fa; padding: 8px 10px; min-height: 44px; }
  button:disabled { opacity: 0.45; cursor: default; }
  button.primary { background: #1f7a4d; border-color: #1f7a4d; color: #fff; }
  button.danger { background: #c0392b; border-color: #c0392b; color: #fff; }
  button.on { background: #ffd166; border-color: #e0b040; }
  button .en, header .en { color: inherit; opacity: 0.8; }
  .pad { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin: 10px 0; }
  .pad button { font-size: 22px; min-height: 54px; }
  .row { display: flex; gap: 8px; flex-wrap: wrap; }
  .row > * { flex: 1 1 0; }
  .state { font-size: 18px; font-weight: 600; }
  .timer { font-size: 28px; font-variant-numeric: tabular-nums; letter-spacing: 1px; }
  .pill { display: inline-block; border-radius: 999px; padding: 2px 10px; font-size: 12px; background: #6a7485; color: #fff; }
  .pill[data-state=registered] { background: #1f7a4d; }
  .pill[data-state=failed] { background: #c0392b; }
  .denial { border-color: #e6a5a0; background: #fdf0ef; color: #8a1f14; }
  .warning { border-color: #e0b040; background: #fff8e1; color: #7a5200; }
  .err { color: #b42318; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { border-bottom: 1px solid #e3e7ed; padding: 5px 4px; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  [hidden] { display: none !important; }
  @media (min-width: 900px) { main { max-width: 900px; display: grid; grid-template-columns: 440px 1fr; gap: 14px; align-items: start; } }
</style>
</head>
<body>
<header><h1>dialgate 网页电话 <span class="en">Web phone</span></h1><span class="who" id="who"></span></header>
<main id="main"></main>
<audio id="remote-audio" autoplay></audio>
<script type="module" src="/phone/app.js"></script>
</body>
</html>
`;

/** Writes index.html and app.js into `outDir`. */
export function buildPhone(outDir: string): Promise<void> {
  return bundlePage(join(HERE, 'src/main.ts'), PAGE, outDir);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(HERE, '../dist/phone');
  await buildPhone(out);
  process.stdout.write(`phone built into ${out}\n`);
}
