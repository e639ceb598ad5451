// A logging TCP relay for recording protocol traces from the real servers (a developer tool, never run
// by the tests). It sits between the app and drachtio's admin port, or between the app and
// FreeSWITCH's event socket (inbound, or the outbound connections FreeSWITCH opens to the app), and
// writes what crosses it in the format of /work/shared/traces/*.
import fs from 'node:fs';
import net from 'node:net';

export type TraceKind = 'drachtio' | 'esl';

/** One output file; every relay writing to it shares its clock (ms from the recorder's start). */
export class TraceFile {
  private readonly chunks: string[] = [];

  constructor(readonly path: string, private readonly t0: number) {}

  add(text: string): void {
    this.chunks.push(text);
  }

  ms(): number {
    return Date.now() - this.t0;
  }

  text(): string {
    return this.chunks.join('');
  }

  save(): void {
    fs.writeFileSync(this.path, this.text());
  }
}

/**
 * drachtio frames are `<byte length>#<payload>`; a TCP read may hold part of a frame or several.
 * Each complete frame is written as `DIR +Nms len=N`, the payload with LF line ends, a blank line.
 */
class FrameSplitter {
  private buf = Buffer.alloc(0);

  constructor(private readonly emit: (payload: Buffer) => void) {}

  push(data: Buffer): void {
    this.buf = Buffer.concat([this.buf, data]);
    for (;;) {
      const hash = this.buf.indexOf(0x23);
      if (hash < 0) return;
      const len = Number(this.buf.subarray(0, hash).toString('latin1'));
      if (!Number.isInteger(len) || this.buf.length < hash + 1 + len) return;
      this.emit(this.buf.subarray(hash + 1, hash + 1 + len));
      this.buf = this.buf.subarray(hash + 1 + len);
    }
  }
}

export interface Relay {
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on an ephemeral loopback port and relays each connection to `target`. `names` are the two
 * directions as the trace spells them: [client → target, target → client].
 */
export async function startRelay(opts: {
  target: { host: string; port: number };
  kind: TraceKind;
  file: TraceFile;
  names: [string, string];
  /** The `[conn N]` number of the next connection (ESL only); shared by relays writing one file. */
  nextConn?: () => number;
}): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(opts.target);
    sockets.add(client).add(upstream);
    const conn = opts.nextConn?.() ?? 0;
    const log = (dir: string, data: Buffer) => {
      if (opts.kind === 'esl') opts.file.add(`[conn ${conn}] ${dir} +${opts.file.ms()}ms\n${data.toString('utf8')}\n`);
    };
    const frames = (dir: string) => new FrameSplitter((p) => {
      opts.file.add(`${dir} +${opts.file.ms()}ms len=${p.length}\n${p.toString('utf8').replace(/\r\n/g, '\n')}\n\n`);
    });
    const up = frames(opts.names[0]);
    const down = frames(opts.names[1]);
    client.on('data', (d: Buffer) => {
      if (opts.kind === 'esl') log(opts.names[0], d);
      else up.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (opts.kind === 'esl') log(opts.names[1], d);
      else down.push(d);
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
