// Commands issued in one turn of the event loop leave in one write(2). ioredis writes every command
// to its socket at once, and a call sends several together (the ledger view, the auth checks, the
// settlement): a syscall each cost more CPU than the rest of the command. Corking the socket for
// the rest of the turn makes them one writev; nothing waits longer than the current tick.
import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

const PATCHED = Symbol('dialgate.coalesced');

export function coalesceWrites(redis: Redis): void {
  const patch = (): void => {
    const stream = (redis as unknown as { stream?: Socket & { [PATCHED]?: true } }).stream;
    if (!stream || stream[PATCHED] || typeof stream.cork !== 'function') return;
    stream[PATCHED] = true;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      stream.uncork();
    };
    stream.write = ((...args: unknown[]) => {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return write(...args);
    }) as Socket['write'];
  };
  // A new socket on every (re)connect.
  redis.on('connect', patch);
  patch();
}
