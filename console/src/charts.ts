// Inline SVG charts for the caller analysis: a ranked bar chart by region, stacked columns by hour,
// and one answered/missed/refused bar. Drawn here (a few dozen lines) rather than with a chart
// library: the console is served offline and small, and these three shapes are all it needs.
const NS = 'http://www.w3.org/2000/svg';

export const COLOURS = { answered: '#2e7d32', missed: '#e07b00', refused: '#9e2a2b', other: '#8a94a6' } as const;
export type Part = keyof typeof COLOURS;
const PARTS: readonly Part[] = ['answered', 'missed', 'refused', 'other'];

type Counts = Record<Part, number> & { calls: number };

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(width: number, height: number, label: string): SVGSVGElement {
  const s = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label }) as SVGSVGElement;
  s.appendChild(el('title', {}, label));
  return s;
}

/** Segments of one stacked bar, left to right (or bottom to top). */
function segments(c: Counts, total: number, length: number): Array<{ part: Part; start: number; size: number; n: number }> {
  const out: Array<{ part: Part; start: number; size: number; n: number }> = [];
  let at = 0;
  for (const part of PARTS) {
    const n = c[part];
    if (n <= 0 || total <= 0) continue;
    const size = (n / total) * length;
    out.push({ part, start: at, size, n });
    at += size;
  }
  return out;
}

/** Regions ranked by calls, longest bar first; each bar split by outcome. */
export function rankedBars(rows: Array<{ label: string } & Counts>, title: string, maxRows = 15): SVGSVGElement {
  const shown = rows.slice(0, maxRows);
  const max = Math.max(1, ...shown.map((r) => r.calls));
  const labelW = 110, barW = 360, rowH = 22, top = 6;
  const s = svg(labelW + barW + 50, top + rowH * Math.max(1, shown.length) + 6, title);
  shown.forEach((r, i) => {
    const y = top + i * rowH;
    s.appendChild(el('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end' }, r.label));
    for (const g of segments(r, max, barW)) {
      const rect = el('rect', { x: labelW + g.start, y: y + 3, width: Math.max(1, g.size), height: rowH - 6, fill: COLOURS[g.part] });
      rect.appendChild(el('title', {}, `${r.label} ${g.part} ${g.n}`));
      s.appendChild(rect);
    }
    s.appendChild(el('text', { x: labelW + (r.calls / max) * barW + 4, y: y + 15, 'data-calls': r.calls }, String(r.calls)));
  });
  return s;
}

/** 24 stacked columns, one per local hour. */
export function hourColumns(hours: Array<{ hour: number } & Counts>, title: string): SVGSVGElement {
  const max = Math.max(1, ...hours.map((h) => h.calls));
  const colW = 20, plotH = 140, left = 30, top = 14;
  const s = svg(left + colW * 24 + 10, top + plotH + 22, title);
  s.appendChild(el('line', { x1: left, y1: top + plotH, x2: left + colW * 24, y2: top + plotH, stroke: '#8a94a6' }));
  s.appendChild(el('text', { x: left - 4, y: top + 4, 'text-anchor': 'end' }, String(max)));
  for (const h of hours) {
    const x = left + h.hour * colW;
    for (const g of segments(h, max, plotH)) {
      const rect = el('rect', { x: x + 2, y: top + plotH - g.start - g.size, width: colW - 4, height: Math.max(1, g.size), fill: COLOURS[g.part] });
      rect.appendChild(el('title', {}, `${String(h.hour).padStart(2, '0')}:00 ${g.part} ${g.n}`));
      s.appendChild(rect);
    }
    if (h.hour % 3 === 0) s.appendChild(el('text', { x: x + colW / 2, y: top + plotH + 14, 'text-anchor': 'middle' }, String(h.hour)));
  }
  return s;
}

/** One bar split answered / missed / refused / other, with the counts in a legend. */
export function outcomeBar(c: Counts, title: string, names: Record<Part, string>): SVGSVGElement {
  const w = 470;
  const s = svg(w, 56, title);
  for (const g of segments(c, c.calls, w)) s.appendChild(el('rect', { x: g.start, y: 4, width: Math.max(1, g.size), height: 22, fill: COLOURS[g.part] }));
  let x = 0;
  for (const part of PARTS) {
    s.appendChild(el('rect', { x, y: 36, width: 10, height: 10, fill: COLOURS[part] }));
    const t = `${names[part]} ${c[part]}`;
    s.appendChild(el('text', { x: x + 14, y: 45 }, t));
    x += 20 + t.length * 9;
  }
  return s;
}
