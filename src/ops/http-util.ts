// What every ops HTTP route shares: JSON replies, errors that carry their status, and bounded
// request bodies (a POST from the console is a few hundred bytes; anything huge is refused).
import type { IncomingMessage, ServerResponse } from 'node:http';

export function send(res: ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;

/** The JSON object of a request body; 400 for anything else, 413 beyond 64 KiB. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body over 64 KiB');
    chunks.push(chunk);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** A string field of a body; 400 naming the field when it is missing (and required) or not a string. */
export function field(body: Record<string, unknown>, name: string, required: true): string;
export function field(body: Record<string, unknown>, name: string, required?: false): string | undefined;
export function field(body: Record<string, unknown>, name: string, required = false): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw new HttpError(400, `missing field ${name}`);
    return undefined;
  }
  if (typeof v !== 'string') throw new HttpError(400, `field ${name} must be a string`);
  return v.trim();
}
