// Several FreeSWITCH servers (issue 15): one MediaGateway each, and the choice of server per call.
// A call's endpoints must live on one server (they are bridged there), so a call picks a server
// for its first endpoint and asks for the rest next to it. The pick is the connected server with
// the fewest channels: FreeSWITCH's own count (from its watcher, which sees every instance's
// calls) when known, else the channels this instance holds there. A server that is down is not
// picked; calls already on it end as they do with one server (media-server-loss), and it is
// picked again once its connection is back.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { PromptFiles } from './deadlines.js';
import { gatewayOf, MediaGateway, type Endpoint, type MediaSettings } from './media-gateway.js';

export interface MediaServerLoad {
  /** Channels on the server by its own count; undefined when not known. */
  sessions(): number | undefined;
}

/** The pure choice: the least loaded of the servers that are up, first in config order on a tie. */
export function pickServer<T>(servers: readonly T[], up: (s: T) => boolean, load: (s: T) => number): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  for (const s of servers) {
    if (!up(s)) continue;
    const l = load(s);
    if (l < bestLoad) { best = s; bestLoad = l; }
  }
  return best;
}

export class MediaFarm {
  readonly gateways: MediaGateway[];
  private readonly loads: Array<MediaServerLoad | undefined>;

  constructor(srf: Srf, log: Logger, count: number, prompts?: PromptFiles) {
    this.gateways = Array.from({ length: Math.max(1, count) }, (_, i) => new MediaGateway(srf, count > 1 ? log.child({ server: i }) : log, prompts));
    this.loads = this.gateways.map(() => undefined);
  }

  /** FreeSWITCH's own channel count for server i (its watcher). */
  setLoad(i: number, load: MediaServerLoad): void { this.loads[i] = load; }

  get available(): boolean { return this.gateways.some((g) => g.available); }
  get prompts(): PromptFiles { return this.gateways[0]!.prompts; }

  /** Channels held by calls of this instance, on every server. */
  held(): ReadonlySet<string> {
    if (this.gateways.length === 1) return this.gateways[0]!.held();
    return new Set(this.gateways.flatMap((g) => [...g.held()]));
  }

  /** Connects every server; one that is down is retried in the background. */
  async connect(servers: readonly MediaSettings[], log: Logger): Promise<void> {
    await Promise.all(servers.slice(0, this.gateways.length).map(async (settings, i) => {
      const g = this.gateways[i]!;
      try {
        await g.connect(settings);
      } catch (err) {
        log.error({ err, address: settings.address, port: settings.port }, 'media server unavailable: calls use the others (or bridge direct) until it is back');
        g.retryInBackground(settings);
      }
    }));
  }

  private pick(): MediaGateway {
    const i = pickServer(this.gateways.map((_, n) => n), (n) => this.gateways[n]!.available,
      (n) => this.loads[n]?.sessions() ?? this.gateways[n]!.held().size);
    if (i === undefined) throw new Error('no media server connected');
    return this.gateways[i]!;
  }

  /** An endpoint answering the caller's offer, on the least loaded server. */
  endpointFor(remoteSdp: string): Promise<Endpoint> {
    return this.pick().endpointFor(remoteSdp);
  }

  /** An offering endpoint: next to `near` (the call's other endpoint) when given. */
  offeringEndpoint(near?: Endpoint): Promise<Endpoint> {
    const g = (near && gatewayOf(near)) ?? this.pick();
    return g.offeringEndpoint();
  }

  /** A WebRTC caller answered through FreeSWITCH, on the server of `near` (the trunk's endpoint). */
  answerWebRtcCaller(...[req, res, headers, near]: [...Parameters<MediaGateway['answerWebRtcCaller']>, Endpoint?]): ReturnType<MediaGateway['answerWebRtcCaller']> {
    const g = (near && gatewayOf(near)) ?? this.pick();
    return g.answerWebRtcCaller(req, res, headers);
  }

  /** A browser seat's late offer answered on the server of `near` (the caller's endpoint). */
  answerLateOffer(offer: string, sendAnswer: (sdp: string) => Promise<unknown>, near?: Endpoint): Promise<Endpoint> {
    const g = (near && gatewayOf(near)) ?? this.pick();
    return g.answerLateOffer(offer, sendAnswer);
  }

  disconnect(): void {
    for (const g of this.gateways) g.disconnect();
  }
}
