// Streams a number list file (plain text or CSV) into a NumberSetBuilder.
// Text: one number per line; "#" starts a comment (whole line or after the number).
// CSV: the first column, a 1-based column number, or a named column (then the first row is the
// header). Without a named column, a first row that is not a number is taken as a header.
// Files are read in 256 KB chunks; each chunk is an await, so loading never blocks for long.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { toNationalNumber } from './national.js';
import type { NumberSetBuilder } from './numberset.js';

/** Read size: ~20k lines per chunk, a few ms of parsing between event-loop turns. */
const CHUNK_BYTES = 256 * 1024;

export interface ListFileSpec {
  /** Path as written in the config (relative to the config directory, or absolute). */
  path: string;
  /** CSV column: 1-based number or header name; default the first column. */
  column?: string | number;
}

export interface ListLoadResult {
  /** Rows that held a number (duplicates included). */
  numbers: number;
  /** Rows that were neither blank, comments, a header, nor a number. */
  invalid: number;
  /** First invalid row, for the warning. */
  firstInvalid?: { line: number; text: string };
  sha256: string;
}

export class ListFileError extends Error {
  constructor(message: string, readonly hint?: string, readonly line = 0) {
    super(message);
  }
}

export function isCsvPath(path: string): boolean {
  return /\.csv$/i.test(path);
}

export async function loadListFile(absPath: string, spec: ListFileSpec, into: NumberSetBuilder): Promise<ListLoadResult> {
  const csv = isCsvPath(spec.path);
  const hash = createHash('sha256');
  const decoder = new StringDecoder('utf8');
  let columnIndex = typeof spec.column === 'number' ? spec.column - 1 : 0;
  const needHeader = csv && typeof spec.column === 'string';
  let lineNo = 0;
  let rest = '';
  const result: ListLoadResult = { numbers: 0, invalid: 0, sha256: '' };

  const handle = (rawLine: string): void => {
    lineNo++;
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // Excel's BOM
    if (csv) {
      if (lineNo === 1 && needHeader) {
        const header = splitCsv(line).map((h) => h.trim());
        const idx = header.indexOf(spec.column as string);
        if (idx < 0) {
          throw new ListFileError(`column "${spec.column}" is not in the header of ${spec.path}`, `the header has: ${header.join(', ')}`, 1);
        }
        columnIndex = idx;
        return;
      }
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const field = csvField(line, columnIndex);
      const n = field === undefined ? null : toNationalNumber(field);
      if (n === null) {
        if (lineNo === 1 && !needHeader) return; // header row
        noteInvalid(result, lineNo, line);
        return;
      }
      into.add(n);
      result.numbers++;
      return;
    }
    const hashAt = line.indexOf('#');
    const text = hashAt >= 0 ? line.slice(0, hashAt) : line;
    if (text.trim() === '') return;
    const n = toNationalNumber(text);
    if (n === null) {
      noteInvalid(result, lineNo, line);
      return;
    }
    into.add(n);
    result.numbers++;
  };

  const stream = createReadStream(absPath, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      const text = rest + decoder.write(chunk);
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        handle(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(from);
      // Buffered chunks resume the loop as microtasks, which would starve timers and sockets:
      // yield a full event-loop turn per chunk.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    stream.destroy();
  }
  rest += decoder.end();
  if (rest !== '') handle(rest);
  result.sha256 = hash.digest('hex');
  return result;
}

function noteInvalid(result: ListLoadResult, line: number, text: string): void {
  result.invalid++;
  if (!result.firstInvalid) result.firstInvalid = { line, text: text.length > 40 ? `${text.slice(0, 40)}…` : text };
}

/** Field `index` of a CSV row (RFC 4180 quoting); undefined if the row is shorter. */
export function csvField(line: string, index: number): string | undefined {
  if (!line.includes('"')) {
    let from = 0;
    for (let i = 0; i < index; i++) {
      const c = line.indexOf(',', from);
      if (c < 0) return undefined;
      from = c + 1;
    }
    const end = line.indexOf(',', from);
    return end < 0 ? line.slice(from) : line.slice(from, end);
  }
  return splitCsv(line)[index];
}

export function splitCsv(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { out.push(field); field = ''; }
    else field += ch;
  }
  out.push(field);
  return out;
}
