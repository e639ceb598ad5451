// drachtio wire protocol framing: `<byte length>#<payload>` over TCP, both directions.
// The length is the payload's UTF-8 byte count (srf counts with Buffer.byteLength, the server
// with std::string::size), so we must slice bytes, not characters.

export class FrameError extends Error {}

/** Largest length specifier the real server accepts: at most 5 digits (client.cpp readMessageLength). */
const MAX_LEN_DIGITS = 5;

export function encodeFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}#`, 'latin1'), body]);
}

/** Incremental decoder; `push` returns every complete payload and keeps the remainder. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: string[] = [];
    for (;;) {
      const hash = this.buf.indexOf(0x23 /* # */);
      if (hash < 0) {
        if (this.buf.length > MAX_LEN_DIGITS || !/^\d*$/.test(this.buf.toString('latin1'))) {
          throw new FrameError('invalid message length specifier');
        }
        return out;
      }
      const spec = this.buf.subarray(0, hash).toString('latin1');
      if (!/^\d{1,5}$/.test(spec)) throw new FrameError(`invalid message length specifier: ${spec.slice(0, 20)}`);
      const len = Number(spec);
      if (len <= 0) throw new FrameError('zero-length message');
      if (this.buf.length < hash + 1 + len) return out;
      out.push(this.buf.subarray(hash + 1, hash + 1 + len).toString('utf8'));
      this.buf = this.buf.subarray(hash + 1 + len);
    }
  }
}
