// Recordings: an 8 kHz 16-bit mono WAV of silence, so CDR recording paths point at a real, playable file.
import fs from 'node:fs';
import path from 'node:path';

const RATE = 8000;
/** Recorded silence is capped so a long test call does not write megabytes. */
const MAX_MS = 10_000;

export function writeWav(file: string, ms: number): void {
  const samples = Math.floor((Math.min(Math.max(ms, 0), MAX_MS) * RATE) / 1000);
  const data = samples * 2;
  const buf = Buffer.alloc(44 + data);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + data, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(RATE, 24);
  buf.writeUInt32LE(RATE * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(data, 40);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
}

/** Duration of a PCM WAV on disk, or undefined when it is not one we can read. */
export function wavDurationMs(file: string): number | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4096);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      if (n < 44 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return undefined;
      let off = 12;
      let byteRate = 0;
      while (off + 8 <= n) {
        const id = head.toString('ascii', off, off + 4);
        const size = head.readUInt32LE(off + 4);
        if (id === 'fmt ') byteRate = head.readUInt32LE(off + 16);
        if (id === 'data') return byteRate > 0 ? Math.round((size * 1000) / byteRate) : undefined;
        off += 8 + size + (size % 2);
      }
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
