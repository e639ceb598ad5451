// Types for the parts of modesl 1.2.1 dialgate uses (the package ships none): an inbound event-socket
// connection, its command/api replies and the events it emits (EventEmitter2, `::` delimited).
declare module 'modesl' {
  import type { Socket } from 'node:net';

  namespace esl {
    class Event {
      type: string;
      body: string;
      getHeader(name: string): string | undefined;
      getBody(): string;
      getType(): string;
    }

    class Connection {
      /** Inbound: connects to host:port and authenticates with password; `ready` once accepted. */
      constructor(host: string, port: number, password: string, ready?: () => void);
      /** The TCP socket; modesl sets it to null when the server ends the stream. */
      socket: Socket | null;
      connected(): boolean;
      /** Writes a command without waiting for its reply. */
      send(command: string): void;
      /** Sends a command and calls back with its command/reply. */
      sendRecv(command: string, cb?: (reply: Event) => void): void;
      /** `api <command> <args>`; calls back with the api/response (replies are matched in order). */
      api(command: string, args: string, cb: (res: Event) => void): void;
      disconnect(): void;
      on(event: string, fn: (...args: any[]) => void): this;
      once(event: string, fn: (...args: any[]) => void): this;
      removeAllListeners(event?: string): this;
    }
  }

  export = esl;
}
