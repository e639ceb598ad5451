// A raw event-socket frame reader for tests: checks framing byte for byte, independent of modesl.
import net from 'node:net';

export interface RawFrame {
  /** Header block exactly as received (without the blank line). */
  head: string;
  headers: Array<[string, string]>;
  body: string;
  at: number;
}

export function frameHeader(f: RawFrame, name: string): string | undefined {
  return f.headers.find(([n]) => n === name)?.[1];
}

/** Parses an event-plain body (or a CHANNEL_DATA block) into decoded headers. */
export function plainHeaders(text: string): Array<[string, string]> {
  return text.split('\n').filter((l) => l.includes(': ')).map((l) => {
    const i = l.indexOf(': ');
    return [l.slice(0, i), decodeURIComponent(l.slice(i + 2))];
  });
}

export class RawEsl {
  readonly frames: RawFrame[] = [];
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawEsl> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawEsl(s)));
      s.once('error', reject);
    });
  }

  private parse(): void {
    for (;;) {
      const i = this.buf.indexOf('\n\n');
      if (i < 0) return;
      const head = this.buf.subarray(0, i).toString();
      const headers = head.split('\n').map((l): [string, string] => {
        const c = l.indexOf(': ');
        return c < 0 ? [l, ''] : [l.slice(0, c), l.slice(c + 2)];
      });
      const len = Number(headers.find(([n]) => n === 'Content-Length')?.[1] ?? 0);
      // A CHANNEL_DATA block carries its own headers and no Content-Length.
      if (this.buf.length < i + 2 + len) return;
      const body = this.buf.subarray(i + 2, i + 2 + len).toString();
      this.buf = this.buf.subarray(i + 2 + len);
      this.frames.push({ head, headers, body, at: Date.now() });
      this.notify();
    }
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Waits for the first frame after index `from` that matches. */
  async next(pred: (f: RawFrame) => boolean = () => true, from = 0, timeoutMs = 5000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.slice(from).find(pred);
      if (f) return f;
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${this.frames.map((x) => x.head.split('\n')[0]).join(' | ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  /** Sends a command and returns its reply (command/reply or api/response). */
  async command(text: string): Promise<RawFrame> {
    const from = this.frames.length;
    this.send(text.endsWith('\n\n') ? text : text + '\n\n');
    return this.next((f) => /^Content-Type: (command\/reply|api\/response)/m.test(f.head), from);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** JSON events received so far (text/event-json frames). */
  jsonEvents(): Array<Record<string, string>> {
    return this.frames.filter((f) => frameHeader(f, 'Content-Type') === 'text/event-json').map((f) => JSON.parse(f.body) as Record<string, string>);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A TCP server standing in for the app's outbound ESL listener. */
export async function outboundListener(): Promise<{ port: number; next(): Promise<RawEsl>; close(): void }> {
  const pending: RawEsl[] = [];
  const waiters: Array<(c: RawEsl) => void> = [];
  const conns: RawEsl[] = [];
  const server = net.createServer((s) => {
    const c = new RawEsl(s);
    conns.push(c);
    const w = waiters.shift();
    if (w) w(c);
    else pending.push(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => {
      const c = pending.shift();
      return c ? Promise.resolve(c) : new Promise((r) => waiters.push(r));
    },
    close: () => {
      for (const c of conns) c.close();
      server.close();
    },
  };
}
