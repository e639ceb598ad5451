// Types for the parts of drachtio-fsmrf 4.1.2 dialgate uses (the package ships none).
declare module 'drachtio-fsmrf' {
  import { EventEmitter } from 'node:events';
  import type Srf from 'drachtio-srf';

  namespace Mrf {
    interface ConnectOptions {
      address: string;
      port?: number;
      secret?: string;
      listenPort?: number;
      listenAddress?: string;
      advertisedAddress?: string;
      advertisedPort?: number;
      profile?: string;
    }

    interface EslEvent {
      getHeader(name: string): string | undefined;
      getBody(): string;
    }

    interface CreateEndpointOptions {
      /** The caller's SDP: FreeSWITCH answers it. Absent = 3pcc (endpoint offers first). */
      remoteSdp?: string;
      codecs?: string | string[];
      headers?: Record<string, string>;
    }

    class Endpoint extends EventEmitter {
      readonly uuid: string;
      readonly local: { sdp: string };
      readonly remote: { sdp: string };
      readonly dialog: Srf.Dialog;
      readonly connected: boolean;
      play(file: string | string[] | { file: string; timeoutSecs?: number }): Promise<{ playbackSeconds?: string; playbackMilliseconds?: string }>;
      execute(app: string, arg?: string): Promise<EslEvent>;
      api(command: string, args?: string | string[]): Promise<{ headers: unknown; body: string }>;
      bridge(other: Endpoint | string): Promise<void>;
      unbridge(): Promise<void>;
      modify(sdp: string): Promise<void>;
      destroy(): Promise<void>;
      on(event: 'destroy', cb: (evt?: { reason?: string }) => void): this;
      on(event: 'dtmf', cb: (evt: { dtmf: string; duration: string }) => void): this;
      on(event: string, cb: (...args: any[]) => void): this;
    }

    class MediaServer extends EventEmitter {
      readonly address: string;
      /** Where FreeSWITCH connects back (the X-esl-outbound header of every endpoint's INVITE). */
      readonly advertisedAddress: string;
      readonly advertisedPort: number;
      createEndpoint(opts?: CreateEndpointOptions): Promise<Endpoint>;
      connectCaller(req: Srf.SrfRequest, res: Srf.SrfResponse, opts?: { headers?: Record<string, string>; codecs?: string[] }): Promise<{ endpoint: Endpoint; dialog: Srf.Dialog }>;
      api(command: string): Promise<string>;
      disconnect(): void;
      destroy(): void;
      on(event: 'error' | 'end' | 'connect' | 'ready', cb: (...args: any[]) => void): this;
      on(event: string, cb: (...args: any[]) => void): this;
    }
  }

  class Mrf extends EventEmitter {
    constructor(srf: Srf, opts?: { customEvents?: string[] });
    connect(opts: Mrf.ConnectOptions): Promise<Mrf.MediaServer>;
  }

  export = Mrf;
}
