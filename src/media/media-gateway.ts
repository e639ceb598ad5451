// FreeSWITCH through drachtio-fsmrf: endpoints for anchored calls, announcements, recording.
import type { Server, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import Mrf from 'drachtio-fsmrf';
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import {
  ESL_COMMAND_TIMEOUT_MS, MediaDeadlineError, promptDeadlineMs, RELEASE_TIMEOUT_MS, withDeadline, type PromptFiles,
} from './deadlines.js';
import { guardEslReconnects } from './esl-retry-guard.js';
import { endpointForLateOffer } from './webrtc-offer.js';

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
/** fsmrf itself gives up 4 s after FreeSWITCH's 200 when the channel's event socket has not connected. */
const WEBRTC_CONNECT_TIMEOUT_MS = 10_000;

/** Which gateway handed an endpoint out, so releaseEndpoint() can tell it the endpoint is let go. */
const holders = new WeakMap<object, MediaGateway>();

/** The gateway that handed an endpoint out (its server: the call's other endpoints go there too). */
export function gatewayOf(ep: object): MediaGateway | undefined {
  return holders.get(ep);
}

/** The media operations a call needs; null-object when no FreeSWITCH is configured. */
export class MediaGateway {
  private ms: Mrf.MediaServer | null = null;
  private settings: MediaSettings | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Endpoints handed out and not yet released: the FreeSWITCH channels this instance holds. */
  private readonly heldUuids = new Set<string>();

  /** Where prompt lengths are read (their deadlines); default this project's freeswitch/sounds. */
  readonly prompts: PromptFiles;

  constructor(private readonly srf: Srf, private readonly log: Logger, prompts?: PromptFiles) {
    this.prompts = prompts ?? { localDir: fileURLToPath(new URL('../../freeswitch/sounds', import.meta.url)) };
  }

  get available(): boolean { return this.ms !== null; }

  /** uuids of the channels held by calls (from the endpoint's creation to the end of its release). */
  held(): ReadonlySet<string> { return this.heldUuids; }

  /**
   * Where FreeSWITCH connects back for this instance's endpoints: the X-esl-outbound value fsmrf
   * puts on their INVITEs, so a channel's owner can be told. Null while not connected.
   */
  get outboundAddress(): string | null {
    return this.ms ? `${this.ms.advertisedAddress}:${this.ms.advertisedPort}` : null;
  }

  /** Called by releaseEndpoint once its release attempt is over (a failed one leaves an orphan). */
  released(uuid: string): void { this.heldUuids.delete(uuid); }

  async connect(settings: MediaSettings): Promise<void> {
    guardEslReconnects();
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
    ms.on('error', (err: Error) => this.log.error({ err }, 'media server error'));
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
        this.log.warn({ err, retryInMs: Math.min(delayMs * 2, 30_000) }, 'media server reconnect failed');
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
   * Answers a WebRTC caller through FreeSWITCH: its offer goes to FreeSWITCH and FreeSWITCH's
   * answer (DTLS fingerprint, ICE) back in the caller's 200 OK, after which the browser and
   * FreeSWITCH run ICE and DTLS (traces/freeswitch/webrtc-*). fsmrf's createEndpoint refuses SAVP
   * offers outright; its connectCaller does this. `headers` go on the 200 OK (session timer).
   */
  async answerWebRtcCaller(req: Srf.SrfRequest, res: Srf.SrfResponse, headers?: Record<string, string>): Promise<{ endpoint: Endpoint; dialog: Srf.Dialog }> {
    if (!this.ms) throw new Error('no media server connected');
    const p = this.ms.connectCaller(req, res, headers ? { headers } : {});
    // Two SIP transactions and fsmrf's wait for the event socket: more than an endpoint gets.
    return withDeadline(p.then((pair) => { this.hold(pair.endpoint); return pair; }), WEBRTC_CONNECT_TIMEOUT_MS, 'WebRTC caller connection to the media server', (pair) => {
      void releaseEndpoint(pair.endpoint, this.log);
      void Promise.resolve().then(() => pair.dialog.destroy()).catch(() => {});
    });
  }

  /**
   * An endpoint answering a browser seat's WebRTC offer from its 200 OK (a 400 call rung with an
   * INVITE without SDP): FreeSWITCH's answer goes out through `sendAnswer` (the ACK), and the
   * endpoint is ready once ICE/DTLS let FreeSWITCH connect its event socket (webrtc-offer.ts).
   */
  async answerLateOffer(offer: string, sendAnswer: (sdp: string) => Promise<unknown>): Promise<Endpoint> {
    if (!this.ms) throw new Error('no media server connected');
    return this.hold(await endpointForLateOffer(this.ms, offer, sendAnswer, WEBRTC_CONNECT_TIMEOUT_MS, ENDPOINT_TIMEOUT_MS));
  }

  /**
   * A hung FreeSWITCH must not stall call setup: give up after ENDPOINT_TIMEOUT_MS (the call
   * then bridges direct) and release an endpoint that arrives after that.
   */
  private bounded(p: Promise<Endpoint>): Promise<Endpoint> {
    return withDeadline(p.then((ep) => this.hold(ep)), ENDPOINT_TIMEOUT_MS, 'media endpoint', (ep) => void releaseEndpoint(ep, this.log));
  }

  /** An endpoint handed out: its channel is this instance's until releaseEndpoint(). */
  private hold<T extends Endpoint>(ep: T): T {
    this.heldUuids.add(ep.uuid);
    holders.set(ep, this);
    return ep;
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

/** What the deadline helpers need of an endpoint (drachtio-fsmrf's Endpoint, or a test double). */
export interface MediaEndpoint {
  uuid: string;
  play(file: string): Promise<unknown>;
  execute(app: string, arg?: string): Promise<unknown>;
  api(command: string, args?: string | string[]): Promise<unknown>;
  destroy(): Promise<unknown>;
  dialog?: { destroy(): unknown } | null;
}

/** An api command on the endpoint's connection, bounded by ESL_COMMAND_TIMEOUT_MS. */
export function endpointApi(ep: MediaEndpoint, command: string, args: string): Promise<unknown> {
  return withDeadline(Promise.resolve().then(() => ep.api(command, args)), ESL_COMMAND_TIMEOUT_MS, command);
}

/** endpointApi for commands that answer +OK / -ERR: a -ERR reply throws. */
export async function endpointApiOk(ep: MediaEndpoint, command: string, args: string): Promise<void> {
  const res = await endpointApi(ep, command, args) as { getBody?: () => string } | string | undefined;
  const body = typeof res === 'string' ? res : typeof res?.getBody === 'function' ? res.getBody() : '';
  if (body.startsWith('-ERR')) throw new Error(`${command}: ${body.trim()}`);
}

/** Stops what the channel is running (a stalled prompt); never throws. */
export async function breakApp(ep: MediaEndpoint, log: Logger): Promise<void> {
  await endpointApi(ep, 'uuid_break', `${ep.uuid} all`).catch((err: unknown) =>
    log.warn({ err, uuid: ep.uuid }, 'uuid_break failed'));
}

/**
 * Runs an application to its end within `ms`; past that it is broken off (uuid_break) and
 * MediaDeadlineError is thrown, so the call goes on without it.
 */
export async function executeBounded<T = unknown>(ep: MediaEndpoint, app: string, arg: string, ms: number, log: Logger): Promise<T> {
  try {
    return await withDeadline(Promise.resolve().then(() => ep.execute(app, arg) as Promise<T>), ms, app);
  } catch (err) {
    if (err instanceof MediaDeadlineError) {
      log.warn({ app, deadlineMs: ms, uuid: ep.uuid }, 'media application overran its deadline: stopped');
      await breakApp(ep, log);
    }
    throw err;
  }
}

/**
 * Plays a prompt within its length + PROMPT_MARGIN_MS (UNKNOWN_PROMPT_MS when its length cannot
 * be read here). Returns false when it had to be broken off; other failures throw.
 */
export async function playBounded(ep: MediaEndpoint, file: string, log: Logger, files?: PromptFiles): Promise<boolean> {
  const ms = promptDeadlineMs(file, files);
  try {
    await withDeadline(Promise.resolve().then(() => ep.play(file)), ms, 'playback');
    return true;
  } catch (err) {
    if (!(err instanceof MediaDeadlineError)) throw err;
    log.warn({ file, deadlineMs: ms, uuid: ep.uuid }, 'prompt did not finish in time (a leg that sends no RTP stalls FreeSWITCH playback): stopped');
    await breakApp(ep, log);
    return false;
  }
}

/**
 * Releases an endpoint within RELEASE_TIMEOUT_MS; never throws. fsmrf's destroy() queues
 * `execute hangup` and waits for FreeSWITCH's BYE, but a channel inside uuid_bridge runs no
 * queued application: uuid_kill hangs it up in any state. If FreeSWITCH does not answer at all
 * (dead, or the connection gone), the dialog is ended from our side with a BYE.
 */
export async function releaseEndpoint(ep: MediaEndpoint | undefined, log: Logger): Promise<void> {
  if (!ep) return;
  try {
    await release(ep, log);
  } finally {
    holders.get(ep)?.released(ep.uuid);
  }
}

async function release(ep: MediaEndpoint, log: Logger): Promise<void> {
  const destroyed = Promise.resolve().then(() => ep.destroy());
  void endpointApi(ep, 'uuid_kill', ep.uuid).catch((err: unknown) => log.debug({ err, uuid: ep.uuid }, 'uuid_kill failed'));
  try {
    await withDeadline(destroyed, RELEASE_TIMEOUT_MS, 'endpoint release');
  } catch (err) {
    log.warn({ err, uuid: ep.uuid }, 'endpoint release failed or timed out: ending its dialog from our side');
    await withDeadline(Promise.resolve().then(() => ep.dialog?.destroy()), RELEASE_TIMEOUT_MS, 'endpoint BYE')
      .catch((e: unknown) => log.debug({ err: e, uuid: ep.uuid }, 'endpoint BYE failed'));
  }
}
