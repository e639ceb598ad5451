// One parsed YAML file with the means to point back into it: field path → line and column.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { fieldPath, type ConfigError } from './errors.js';

export type Path = readonly (string | number)[];

export class YamlSource {
  readonly data: unknown;
  readonly syntaxErrors: ConfigError[] = [];
  private readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(readonly file: string, readonly text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of [...this.doc.errors]) {
      const pos = this.lines.linePos(e.pos[0]);
      this.syntaxErrors.push({
        file, line: pos.line, column: pos.col, field: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
        hint: e.code === 'DUPLICATE_KEY' ? 'each key may appear once per mapping' : undefined,
      });
    }
    keepDigitStrings(this.doc);
    this.data = this.syntaxErrors.length ? undefined : this.doc.toJS({ maxAliasCount: 100 });
  }

  /**
   * Position of the node at `path`; with `key`, the position of the last segment's key (for unknown
   * or duplicate fields). Falls back to the deepest existing ancestor.
   */
  locate(path: Path, key = false): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let found: Node | null = isNode(node) ? node : null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (last && key && isNode(pair.key)) { found = pair.key; break; }
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (isNode(node)) found = node;
      else break;
    }
    const offset = found?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  issue(path: Path, message: string, hint?: string, key = false): ConfigError {
    const { line, column } = this.locate(path, key);
    return { file: this.file, line, column, field: fieldPath(path), message, ...(hint ? { hint } : {}) };
  }

  /** Human position, for messages that refer to another place: "seats.yaml:12". */
  where(path: Path): string {
    return `${this.file}:${this.locate(path).line}`;
  }
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && 'range' in x;
}

/**
 * YAML reads `01088886666` as the integer 1088886666 and `+8613800138000` as 8613800138000: phone
 * numbers lose their leading 0 or +. Plain digit scalars that start with 0 or +, or are too long to
 * be exact, keep their source text instead, so an unquoted number means what the admin wrote.
 */
function keepDigitStrings(doc: Document): void {
  visit(doc, {
    Scalar(_, node) {
      if (node.type !== 'PLAIN' || typeof node.value !== 'number' || typeof node.source !== 'string') return;
      const src = node.source;
      if (/^\+?\d+$/.test(src) && (src.startsWith('0') && src.length > 1 || src.startsWith('+') || src.length > 15)) {
        node.value = src;
      }
    },
  });
}
