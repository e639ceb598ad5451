// FreeSWITCH through drachtio-fsmrf: endpoints for anchored calls, announcements, recording.
import type { Server, Socket } from 'node:net';
import Mrf from 'drachtio-fsmrf';
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';

export interface MediaSettings {
  address: string;
  port: number;
  secret: string;
  /** Address FreeSWITCH connects back to for the outbound event socket (this app). */
  listenAddress?: string;
  advertisedAddress?: string;
  profile?: string;
}

export type Endpoint = Mrf.Endpoint;

const ENDPOINT_TIMEOUT_MS = 5_000;

/** The media operations a call needs; null-object when no FreeSWITCH is configured. */
export class MediaGateway {
  private ms: Mrf.MediaServer | null = null;
  private settings: MediaSettings | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly srf: Srf, private readonly log: Logger) {}

  get available(): boolean { return this.ms !== null; }

  async connect(settings: MediaSettings): Promise<void> {
    this.settings = settings;
    const mrf = new Mrf(this.srf);
    const ms = await mrf.connect({
      address: settings.address,
      port: settings.port,
      secret: settings.secret,
      listenAddress: settings.listenAddress ?? '127.0.0.1',
      ...(settings.advertisedAddress ? { advertisedAddress: settings.advertisedAddress } : {}),
      profile: settings.profile ?? 'drachtio_mrf',
    });
    disableNagle(ms);
    ms.on('error', (err: Error) => this.log.error({ err: err.message }, 'media server error'));
    ms.on('end', () => {
      this.log.error('media server connection ended; reconnecting');
      this.ms = null;
      this.scheduleReconnect(1000);
    });
    this.ms = ms;
    this.log.info({ address: settings.address, port: settings.port }, 'media server connected');
  }

  /** After a failed first connect: keep trying in the background. */
  retryInBackground(settings: MediaSettings): void {
    this.settings = settings;
    this.scheduleReconnect(1000);
  }

  /** Keeps trying until FreeSWITCH is back; calls bridge direct meanwhile. */
  private scheduleReconnect(delayMs: number): void {
    if (this.closed || !this.settings || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect(this.settings!).catch((err: Error) => {
        this.log.warn({ err: err.message, retryInMs: Math.min(delayMs * 2, 30_000) }, 'media server reconnect failed');
        this.scheduleReconnect(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** An endpoint that answers the given offer (the caller's SDP). */
  async endpointFor(remoteSdp: string): Promise<Endpoint> {
    if (!this.ms) throw new Error('no media server connected');
    return this.bounded(this.ms.createEndpoint({ remoteSdp }));
  }

  /** An endpoint that makes the offer (for the trunk leg). */
  async offeringEndpoint(): Promise<Endpoint> {
    if (!this.ms) throw new Error('no media server connected');
    return this.bounded(this.ms.createEndpoint());
  }

  /**
   * A hung FreeSWITCH must not stall call setup: give up after ENDPOINT_TIMEOUT_MS (the call
   * then bridges direct) and release an endpoint that arrives after that.
   */
  private bounded(p: Promise<Endpoint>): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new Error(`media endpoint not ready within ${ENDPOINT_TIMEOUT_MS} ms`));
      }, ENDPOINT_TIMEOUT_MS);
      p.then((ep) => {
        clearTimeout(timer);
        if (late) void releaseEndpoint(ep, this.log);
        else resolve(ep);
      }, (err: unknown) => {
        clearTimeout(timer);
        if (!late) reject(err);
      });
    });
  }

  disconnect(): void {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.ms?.disconnect();
    this.ms = null;
  }
}

/**
 * fsmrf leaves Nagle's algorithm on for its event-socket connections; each command is a small
 * write waiting on the previous one's (delayed) ACK, which costs ~40 ms per step of a call setup
 * on Linux. The sockets are internal to fsmrf/modesl, hence the narrow reach into them.
 */
function disableNagle(ms: Mrf.MediaServer): void {
  const internal = ms as unknown as { _conn?: { socket?: Socket | null }; _server?: { server?: Server } };
  internal._conn?.socket?.setNoDelay(true);
  internal._server?.server?.on('connection', (s: Socket) => s.setNoDelay(true));
}

/** Destroys an endpoint, swallowing errors: used on teardown paths that must not throw. */
export async function releaseEndpoint(ep: Endpoint | undefined, log: Logger): Promise<void> {
  if (!ep) return;
  try {
    await ep.destroy();
  } catch (err) {
    log.debug({ err: (err as Error).message, uuid: ep.uuid }, 'endpoint destroy failed');
  }
}
