// The call bench's drachtio-server: the same TCP wire protocol towards drachtio-srf apps, real SIP
// over UDP towards the network, and optionally SIP over WebSocket (RFC 7118, ws and wss) for browser
// phones. Behaviour follows drachtio-server (client.cpp, client-controller.cpp,
// controller.cpp, sip-dialog-controller.cpp, sip-proxy-controller.cpp) and the recorded traces in
// /work/shared/traces; comments name the server behaviour each piece reproduces.
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  cseqOf, header, headers as headerValues, hostPortOf, param, parseMessage, SipParseError, uriOf,
  type SipMessage,
} from '../sip/message.js';
import {
  asNameAddr, buildMessage, fullName, getHeader, parseAppMessage, replaceLocalhost, sofiaBranch,
  sofiaTag, splitList, stackTime, stampTopVia, stripTag, tagOf, viaTarget,
  type AppMessage, type HeaderList,
} from './sip-text.js';
import { encodeFrame, FrameDecoder, FrameError } from './wire.js';

export interface DrachtioOptions {
  /** Shared secret apps authenticate with (drachtio's default is `cymru`). */
  secret?: string;
  /** Loopback address for both listeners. */
  host?: string;
  /** Admin (wire protocol) TCP port; 0 = ephemeral. */
  adminPort?: number;
  /** SIP UDP port; 0 = ephemeral. */
  sipPort?: number;
  /** Version string returned on authenticate. The real server reports `1.0.0`. */
  version?: string;
  /** Keep a log of every wire frame (default true). Turn off for load tests. */
  recordFrames?: boolean;
  /** SIP timer T1 in ms (default 500); timers B/F/H/J are 64×T1 as in RFC 3261. */
  t1Ms?: number;
  /** How long a new request waits for the app before the server forgets it (drachtio: 64 s). */
  clientTimeoutMs?: number;
  /** Diagnostic hook (dropped datagrams, protocol errors). */
  log?: (msg: string) => void;
  /**
   * Session timers (RFC 4028) as drachtio-server runs them: the floor it puts under an interval it
   * answers with (doRespondToSipRequest: max(90, delta)) and under incoming refreshes (Min-SE 90).
   * Tests lower it to run short intervals; the real server's is 90.
   */
  sessionTimerFloorSeconds?: number;
  /** Random spread of a refresh around half the interval (drachtio: ±5000 ms); tests use 0. */
  sessionTimerJitterMs?: number;
  /**
   * Listen for SIP over WebSocket (RFC 7118, subprotocol `sip`) on this port (0 = ephemeral), as a
   * drachtio-server `<contact>sip:host:port;transport=ws</contact>` does. Off when undefined.
   */
  wsPort?: number;
  /**
   * Listen for SIP over secure WebSocket on this port (0 = ephemeral), as a drachtio-server
   * `<contact>sip:host:port;transport=wss</contact>` with its TLS key and certificate does. Needs
   * `tls`. Off when undefined.
   */
  wssPort?: number;
  /** PEM key and certificate chain for the wss listener. */
  tls?: { key: string; cert: string };
}

export type FrameDirection = 'APP ==> SERVER' | 'SERVER ==> APP';

export interface FrameRecord {
  dir: FrameDirection;
  /** ms since the stand-in started */
  at: number;
  /** which app connection (1, 2, ...) */
  client: number;
  payload: string;
}

export interface DrachtioStandIn {
  adminPort: number;
  sipPort: number;
  sipAddress: string;
  /** WebSocket SIP port (0 when the stand-in has no ws listener). */
  wsPort: number;
  /** Secure WebSocket SIP port (0 when the stand-in has no wss listener). */
  wssPort: number;
  frames: FrameRecord[];
  /** Closes every SIP WebSocket (a restart or network drop, as the phones see it). */
  dropWebSockets(): number;
  stop(): Promise<void>;
}

/** One WebSocket connection a browser phone opened to us; everything for it goes back over it. */
interface WsLink { socket: WebSocket; id: number; /** came in on the wss listener */ secure: boolean }

/** Where SIP comes from / goes to: a UDP address, or a WebSocket connection (`ws` set). */
interface Peer { address: string; port: number; ws?: WsLink }

interface AppClient {
  id: number;
  socket: net.Socket;
  decoder: FrameDecoder;
  authenticated: boolean;
  closed: boolean;
}

type Timer = ReturnType<typeof setTimeout>;

/** A request received from the network that the app (or the server) must answer. */
interface ServerTxn {
  id: string;
  key: string;
  method: string;
  req: SipMessage;
  /** What the app was given: the received text with the top Via stamped. */
  encoded: string;
  rawLen: number;
  vias: string[];
  src: Peer;
  client?: AppClient;
  toTag?: string;
  status: number;
  lastResponse?: Buffer;
  canceled: boolean;
  /** Early (IIP) or confirmed dialog an INVITE belongs to; for in-dialog requests, their dialog. */
  dialog?: Dialog;
  inDialog: boolean;
  proxy?: ProxyCore;
  timers: Timer[];
}

interface Dialog {
  id: string;
  role: 'uas' | 'uac';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From/To values without tags. */
  localUri: string;
  remoteUri: string;
  localSeq: number;
  remoteTarget: string;
  routeSet: string[];
  peer: Peer;
  client?: AppClient;
  localContact: string;
  /** Transaction id the INVITE had; the ACK for the 2xx is handed to the app under it. */
  inviteTxnId: string;
  /** UAS: a 2xx is being retransmitted until this ACK arrives. */
  awaitingAck?: { txn: ServerTxn; ackTxnId: string };
  /** UAC: CSeq and status of the last INVITE we sent in this dialog (the app ACKs it). */
  inviteSeq: number;
  inviteStatus: number;
  /** UAC: the ACK we sent for the 2xx, resent when the 2xx is retransmitted. */
  lastAck?: { seq: number; data: Buffer };
  /** Our SDP in the dialog (the app's INVITE or 2xx body): a refreshing re-INVITE offers it again. */
  localSdp?: string;
  /** RFC 4028 session timer (SipDialog::setSessionTimer): refresh at half, or tear down at expiry. */
  sessionTimer?: { timer: Timer; secs: number; weRefresh: boolean };
}

/** A request the server sent to the network (for an app, or for a proxy branch). */
interface ClientTxn {
  id: string;
  key: string;
  branch: string;
  method: string;
  requestUri: string;
  via: string;
  from: string;
  to: string;
  callId: string;
  seq: number;
  routes: string[];
  maxForwards: string;
  data: Buffer;
  dest: Peer;
  client?: AppClient;
  dialogId: string;
  /** UAC INVITE: the dialog it will create (kept out of the dialog table until a 2xx). */
  dialog?: Dialog;
  inDialog?: Dialog;
  clearDialogOnResponse: boolean;
  status: number;
  ackData?: Buffer;
  timers: Timer[];
  interval: number;
  done: boolean;
  /** Proxy branches route responses here instead of to the app. */
  onResponse?: (msg: SipMessage, raw: string, rawLen: number, src: Peer) => void;
  onTimeout?: () => void;
}

interface ProxyCore {
  txn: ServerTxn;
  client: AppClient;
  msgId: string;
  targets: string[];
  next: number;
  recordRoute: boolean;
  fullResponse: boolean;
  headers: HeaderList;
  branch?: ClientTxn;
  gotProvisional: boolean;
  canceled: boolean;
  finished: boolean;
}

/** Methods the server hands to an app when they arrive outside a dialog (controller.cpp). */
const ROUTABLE = new Set(['INVITE', 'REGISTER', 'MESSAGE', 'OPTIONS', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'PUBLISH']);
/** Methods sofia knows; anything else is an extension method. */
const KNOWN = new Set([...ROUTABLE, 'ACK', 'CANCEL', 'BYE', 'PRACK', 'UPDATE', 'REFER']);
/** Headers an app may not set (drachtio.cpp m_setImmutableHdrs) plus the ones the server builds itself. */
const IMMUTABLE = new Set(['via', 'route', 'rseq', 'record-route', 'content-length']);
const DIALOG_HEADERS = new Set(['from', 'to', 'call-id', 'cseq']);

const REASONS: Record<number, string> = {
  100: 'Trying', 200: 'OK', 400: 'Bad Request', 408: 'Request Timeout', 481: 'Call/Transaction Does Not Exist',
  483: 'Too Many Hops', 487: 'Request Terminated', 500: 'Internal Server Error', 501: 'Not Implemented',
  503: 'Service Unavailable',
};

const CRLF = '\r\n';

export class DrachtioServer implements DrachtioStandIn {
  adminPort = 0;
  sipPort = 0;
  wsPort = 0;
  wssPort = 0;
  sipAddress: string;
  frames: FrameRecord[] = [];

  private readonly secret: string;
  private readonly version: string;
  private readonly record: boolean;
  private readonly t1: number;
  private readonly t2 = 4000;
  private readonly clientTimeout: number;
  private readonly stFloor: number;
  private readonly stJitter: number;
  private readonly log: (msg: string) => void;
  private readonly started = Date.now();

  private tcp?: net.Server;
  private udp?: dgram.Socket;
  /** The ws and wss listeners: an HTTP(S) server carrying the upgrade, and its WebSocket server. */
  private readonly wsListeners: Array<{ server: http.Server; wss: WebSocketServer }> = [];
  private readonly wantWs: boolean;
  private readonly wantWss: boolean;
  private readonly tls?: { key: string; cert: string };
  private nextWsId = 1;
  /**
   * Contacts registered over a WebSocket, `user@host` → the connection (cacheTportForSubscription):
   * a later INVITE/OPTIONS/NOTIFY/MESSAGE to that user@host goes over that connection, whatever the
   * (unresolvable, `.invalid`) host says.
   */
  private readonly wsContacts = new Map<string, { link: WsLink; expiresAt: number }>();
  private stopped = false;
  private nextClientId = 1;
  private readonly clients = new Set<AppClient>();
  /** method (lower case) → apps that routed it, in registration order; round robin offset alongside. */
  private readonly routes = new Map<string, AppClient[]>();
  private readonly rrOffset = new Map<string, number>();
  private readonly timers = new Set<Timer>();

  private readonly serverTxns = new Map<string, ServerTxn>();
  private readonly serverTxnById = new Map<string, ServerTxn>();
  private readonly clientTxns = new Map<string, ClientTxn>();
  private readonly clientTxnById = new Map<string, ClientTxn>();
  private readonly dialogs = new Map<string, Dialog>();
  /** callId|localTag|remoteTag → dialog, for requests arriving from the network. */
  private readonly dialogByTags = new Map<string, Dialog>();
  private readonly dialogByCallId = new Map<string, Dialog>();
  /** callId|cseq → INVITE server transaction, for CANCELs and non-2xx ACKs that carry another branch. */
  private readonly inviteByCallSeq = new Map<string, ServerTxn>();
  private readonly sockets = new Set<net.Socket>();
  /** sofia seeds CSeq of new requests from the clock (the traces show 123103887 … rising ~1 per 2 s). */
  private cseqCounter = Math.floor(Date.now() / 2000) % 1_000_000_000;

  constructor(opts: DrachtioOptions = {}) {
    this.secret = opts.secret ?? 'cymru';
    this.sipAddress = opts.host ?? '127.0.0.1';
    this.version = opts.version ?? '1.0.0';
    this.record = opts.recordFrames ?? true;
    this.t1 = opts.t1Ms ?? 500;
    this.clientTimeout = opts.clientTimeoutMs ?? 64_000;
    this.stFloor = opts.sessionTimerFloorSeconds ?? 90;
    this.stJitter = opts.sessionTimerJitterMs ?? 5000;
    this.log = opts.log ?? (() => {});
    this.adminPort = opts.adminPort ?? 0;
    this.sipPort = opts.sipPort ?? 0;
    this.wantWs = opts.wsPort !== undefined;
    this.wsPort = opts.wsPort ?? 0;
    this.wantWss = opts.wssPort !== undefined;
    this.wssPort = opts.wssPort ?? 0;
    if (this.wantWss && !(opts.tls?.key && opts.tls.cert)) {
      throw new Error('drachtio stand-in: wssPort needs tls { key, cert } (PEM), as drachtio-server needs its key and cert files for a wss contact');
    }
    this.tls = opts.tls;
  }

  async start(): Promise<void> {
    const udp = dgram.createSocket('udp4');
    this.udp = udp;
    udp.on('message', (buf, rinfo) => {
      try {
        this.onDatagram(buf, { address: rinfo.address, port: rinfo.port });
      } catch (err) {
        // never let one bad datagram take the bench down
        this.log(`datagram handling failed: ${(err as Error).stack ?? String(err)}`);
      }
    });
    udp.on('error', (err) => this.log(`udp error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.sipPort, this.sipAddress, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.sipPort = udp.address().port;

    const tcp = net.createServer((socket) => this.onConnection(socket));
    this.tcp = tcp;
    tcp.on('error', (err) => this.log(`tcp error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.adminPort, this.sipAddress, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    const addr = tcp.address();
    if (addr && typeof addr === 'object') this.adminPort = addr.port;
    if (this.wantWs) this.wsPort = await this.startWs(false);
    if (this.wantWss) this.wssPort = await this.startWs(true);
  }

  /**
   * RFC 7118 listener: the `sip` subprotocol, one SIP message per text frame. The wss one is the
   * same over TLS (an HTTPS server carrying the upgrade), as sofia's wss tport is its ws tport with
   * an SSL context (tport_type_ws.c). Resolves with the bound port.
   */
  private async startWs(secure: boolean): Promise<number> {
    // a plain HTTP(S) request without the upgrade gets 426, as ws's own listener answers it
    const onRequest: http.RequestListener = (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' });
      res.end('Upgrade Required');
    };
    const server = secure ? https.createServer({ key: this.tls!.key, cert: this.tls!.cert }, onRequest) : http.createServer(onRequest);
    // a client that does not speak TLS to the wss port fails the handshake and never gets a socket
    if (secure) server.on('tlsClientError', (err) => this.log(`wss tls error: ${err.message}`));
    const wss = new WebSocketServer({
      server,
      // sofia's ws transport accepts only the `sip` subprotocol
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      verifyClient: (info: { req: { headers: Record<string, string | string[] | undefined> } }) =>
        String(info.req.headers['sec-websocket-protocol'] ?? '').split(',').map((x) => x.trim()).includes('sip'),
    });
    this.wsListeners.push({ server, wss });
    const kind = secure ? 'wss' : 'ws';
    wss.on('connection', (socket, req) => {
      if (this.stopped) { socket.terminate(); return; }
      const link: WsLink = { socket, id: this.nextWsId++, secure };
      const peer: Peer = { address: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', port: req.socket.remotePort ?? 0, ws: link };
      socket.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        if (isBinary) this.log(`${kind} ${link.id}: binary frame (RFC 7118 allows it; browsers send text)`);
        try {
          this.onDatagram(buf, peer);
        } catch (err) {
          this.log(`${kind} message handling failed: ${(err as Error).stack ?? String(err)}`);
        }
      });
      socket.on('error', (err) => this.log(`${kind} ${link.id} error: ${err.message}`));
      // a closed connection takes its registrations' transport with it (the tport is destroyed)
      socket.on('close', () => {
        for (const [k, v] of this.wsContacts) if (v.link === link) this.wsContacts.delete(k);
      });
    });
    wss.on('error', (err) => this.log(`${kind} server error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(secure ? this.wssPort : this.wsPort, this.sipAddress, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (err) => this.log(`${kind} server error: ${err.message}`));
    const a = server.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /**
   * Closes every SIP WebSocket as a drachtio-server restart or a network drop would (each
   * connection's registrations' transport goes with it); the listener stays. Returns how many.
   */
  dropWebSockets(): number {
    const clients = this.wsListeners.flatMap((l) => [...l.wss.clients]);
    for (const c of clients) c.terminate();
    return clients.length;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.clients) c.closed = true;
    for (const s of this.sockets) s.destroy();
    this.clients.clear();
    this.sockets.clear();
    this.dialogByCallId.clear();
    this.inviteByCallSeq.clear();
    this.serverTxns.clear();
    this.serverTxnById.clear();
    this.clientTxns.clear();
    this.clientTxnById.clear();
    this.dialogs.clear();
    this.dialogByTags.clear();
    this.wsContacts.clear();
    for (const l of this.wsListeners) {
      for (const c of l.wss.clients) c.terminate();
      l.wss.close();
      l.server.closeAllConnections();
    }
    await Promise.all([
      ...this.wsListeners.map((l) => new Promise<void>((resolve) => (l.server.listening ? l.server.close(() => resolve()) : resolve()))),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => {
        if (!this.udp) return resolve();
        try {
          this.udp.close(() => resolve());
        } catch {
          resolve();
        }
      }),
    ]);
  }

  // ---------------------------------------------------------------- timers, sending, frames

  private setTimer(fn: () => void, ms: number): Timer {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      try {
        fn();
      } catch (err) {
        this.log(`timer failed: ${(err as Error).stack ?? String(err)}`);
      }
    }, ms);
    this.timers.add(t);
    return t;
  }

  private clearTimers(list: Timer[]): void {
    for (const t of list) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    list.length = 0;
  }

  /** Sends over the peer's WebSocket (one text frame per message) or as a UDP datagram. */
  private sendTo(data: Buffer, to: Peer): void {
    if (this.stopped) return;
    if (to.ws) {
      if (to.ws.socket.readyState === to.ws.socket.OPEN) to.ws.socket.send(data.toString('utf8'));
      else this.log(`ws ${to.ws.id} closed: message dropped`);
      return;
    }
    if (!this.udp) return;
    try {
      this.udp.send(data, to.port, to.address, (err) => {
        if (err) this.log(`udp send to ${to.address}:${to.port} failed: ${err.message}`);
      });
    } catch (err) {
      this.log(`udp send failed: ${(err as Error).message}`);
    }
  }

  private sendFrame(client: AppClient, payload: string): void {
    if (client.closed || client.socket.destroyed) return;
    if (this.record) this.frames.push({ dir: 'SERVER ==> APP', at: Date.now() - this.started, client: client.id, payload });
    client.socket.write(encodeFrame(payload));
  }

  /** `<uuid>|response|<msgId>|<text>` — sendApiResponseToClient / createResponseMsg. */
  private apiResponse(client: AppClient, msgId: string, text: string): void {
    this.sendFrame(client, `${randomUUID()}|response|${msgId}|${text}`);
  }

  private meta(source: 'network' | 'application', len: number, proto: string, peer: Peer): string {
    // SipMsgData_t (drachtio-server src/drachtio.cpp) reports udp, else tls if tport_has_tls, else
    // tcp. A ws tport is a tcp tport, and so is a wss one: sofia sets pri_has_tls only in its TLS
    // transport (tport_type_tls.c), not in tport_type_ws.c, so wss reaches the app as `tcp` too
    // (drachtio-server's sip-dialog-controller.cpp says as much where it reads tpn_proto instead).
    const p = proto === 'udp' && peer.ws ? 'tcp' : proto;
    return `${source}|${len}|${p}|${peer.address}|${peer.port}|${stackTime()}`;
  }

  private get hostport(): string {
    return this.sipPort === 5060 ? this.sipAddress : `${this.sipAddress}:${this.sipPort}`;
  }

  private get contact(): string {
    return `<sip:${this.sipAddress}:${this.sipPort}>`;
  }

  private get self(): Peer {
    return { address: this.sipAddress, port: this.sipPort };
  }

  /**
   * The listener a message to `peer` leaves from: its Contact and Via. Over a connection the
   * Contact names the listener's own tport, `<sip:host:port;transport=ws|wss>` (drachtio-server
   * src/sip-dialog-controller.cpp doSendRequestOutsideDialog: "transport=" + tpn_proto), and sofia
   * writes the Via with the tport's protocol, SIP/2.0/WS or SIP/2.0/WSS (sip_parser.c).
   */
  private contactFor(peer: Peer): string {
    if (!peer.ws) return this.contact;
    return peer.ws.secure ? `<sip:${this.sipAddress}:${this.wssPort};transport=wss>` : `<sip:${this.sipAddress}:${this.wsPort};transport=ws>`;
  }

  private ourVia(branch: string, peer?: Peer): string {
    if (peer?.ws?.secure) return `SIP/2.0/WSS ${this.sipAddress}:${this.wssPort};rport;branch=${branch}`;
    if (peer?.ws) return `SIP/2.0/WS ${this.sipAddress}:${this.wsPort};rport;branch=${branch}`;
    return `SIP/2.0/UDP ${this.hostport};rport;branch=${branch}`;
  }

  // ---------------------------------------------------------------- admin connections

  private onConnection(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const client: AppClient = {
      id: this.nextClientId++, socket, decoder: new FrameDecoder(), authenticated: false, closed: false,
    };
    this.clients.add(client);
    socket.on('data', (chunk: Buffer) => {
      let payloads: string[];
      try {
        payloads = client.decoder.push(chunk);
      } catch (err) {
        // the real server drops a client that sends a bad length specifier
        this.log(`client ${client.id}: ${(err as FrameError).message}; disconnecting`);
        this.leave(client);
        return;
      }
      for (const p of payloads) {
        if (client.closed) return;
        if (this.record) this.frames.push({ dir: 'APP ==> SERVER', at: Date.now() - this.started, client: client.id, payload: p });
        try {
          this.onAppFrame(client, p);
        } catch (err) {
          this.log(`client ${client.id}: error processing message: ${(err as Error).stack ?? String(err)}`);
          this.leave(client);
          return;
        }
      }
    });
    socket.on('error', () => this.leave(client));
    socket.on('close', () => this.leave(client));
  }

  private leave(client: AppClient): void {
    if (!client.closed) {
      client.closed = true;
      client.socket.end();
      client.socket.destroy();
    }
    this.clients.delete(client);
    for (const [verb, list] of this.routes) {
      const left = list.filter((c) => c !== client);
      if (left.length) this.routes.set(verb, left);
      else this.routes.delete(verb);
    }
  }

  private onAppFrame(client: AppClient, payload: string): void {
    const crlf = payload.indexOf(CRLF);
    const first = crlf < 0 ? payload : payload.slice(0, crlf);
    const rest = crlf < 0 ? '' : payload.slice(crlf + 2);
    const tokens = first.split('|');
    const msgId = tokens[0] ?? '';
    const type = tokens[1];
    if (type === undefined) {
      this.apiResponse(client, msgId, 'NO|Invalid message format');
      this.leave(client);
      return;
    }
    if (type === 'authenticate') {
      if (tokens[2] !== this.secret) {
        // createResponseMsg(..., false, "incorrect secret") then the client is dropped
        this.apiResponse(client, msgId, 'NO|incorrect secret');
        client.closed = true;
        this.clients.delete(client);
        client.socket.end();
        return;
      }
      client.authenticated = true;
      const hp = `udp/${this.sipAddress}:${this.sipPort}`;
      this.apiResponse(client, msgId, `OK|${hp}|${this.version}|${hp}`);
      return;
    }
    if (!client.authenticated) {
      this.apiResponse(client, msgId, 'NO|not authenticated');
      this.leave(client);
      return;
    }
    switch (type) {
      case 'ping':
        this.apiResponse(client, msgId, 'OK|pong');
        return;
      case 'route': {
        const verb = (tokens[2] ?? '').toLowerCase();
        const list = this.routes.get(verb) ?? [];
        list.push(client);
        this.routes.set(verb, list);
        this.apiResponse(client, msgId, 'OK');
        return;
      }
      case 'remove_route': {
        // drachtio-server 0.9.10 (client-controller.cpp no_longer_wants_requests) drops every
        // route of the connection, whatever verb is named: after `remove_route|invite` the app
        // gets no new OPTIONS or REGISTER either (checked on the real server, see
        // drachtio-conformance.test.ts). Requests inside its dialogs still reach it.
        for (const [verb, list] of this.routes) {
          const left = list.filter((c) => c !== client);
          if (left.length) this.routes.set(verb, left);
          else this.routes.delete(verb);
        }
        this.apiResponse(client, msgId, 'OK');
        return;
      }
      case 'sip':
        this.onAppSip(client, msgId, tokens, parseAppMessage(rest));
        return;
      case 'proxy':
        this.onAppProxy(client, msgId, tokens, parseAppMessage(rest));
        return;
      default:
        this.apiResponse(client, msgId, 'NO|Unknown message type');
        this.leave(client);
    }
  }

  /** Round-robin choice among the apps that routed this method (selectClientForRequestOutsideDialog). */
  private selectClient(method: string): AppClient | undefined {
    const verb = method.toLowerCase();
    const list = (this.routes.get(verb) ?? []).filter((c) => !c.closed);
    if (list.length === 0) return undefined;
    const off = (this.rrOffset.get(verb) ?? 0) % list.length;
    this.rrOffset.set(verb, off + 1);
    return list[off];
  }

  // ---------------------------------------------------------------- app → server: sip

  private onAppSip(client: AppClient, msgId: string, tokens: string[], m: AppMessage): void {
    const txnId = tokens[2] ?? '';
    const dialogId = tokens[3] ?? '';
    const routeUrl = tokens[4] ?? '';
    if (m.startLine.startsWith('SIP/')) {
      if (!txnId) {
        this.apiResponse(client, msgId, 'NO|transaction id missing');
        this.leave(client);
        return;
      }
      this.appResponse(client, msgId, txnId, m);
      return;
    }
    if (dialogId) {
      this.appRequestInDialog(client, msgId, dialogId, m);
      return;
    }
    if (txnId) {
      if (m.startLine.startsWith('CANCEL')) this.appCancel(client, msgId, txnId, m);
      else this.apiResponse(client, msgId, 'NOK|only CANCEL may be sent inside a transaction');
      return;
    }
    // a Call-ID of an existing dialog makes it an in-dialog request (client.cpp)
    const callId = getHeader(m.headers, 'call-id');
    const existing = callId ? this.dialogByCallId.get(callId) : undefined;
    if (existing) {
      this.appRequestInDialog(client, msgId, existing.id, m);
      return;
    }
    void this.appRequestOutsideDialog(client, msgId, m, routeUrl).catch((err: unknown) => {
      this.apiResponse(client, msgId, `NOK|${(err as Error).message}`);
    });
  }

  /** The app's headers the server passes on: not immutable, not dialog-level, localhost rewritten. */
  private appHeaders(m: AppMessage, skip: Set<string>): HeaderList {
    const out: HeaderList = [];
    for (const [name, value] of m.headers) {
      const full = fullName(name);
      if (IMMUTABLE.has(full) || DIALOG_HEADERS.has(full) || skip.has(full)) continue;
      const v = full === 'contact' || full === 'p-asserted-identity'
        ? replaceLocalhost(value, this.sipAddress, this.sipPort) : value;
      out.push([name, v]);
    }
    return out;
  }

  private contentType(m: AppMessage): string | undefined {
    const ct = getHeader(m.headers, 'content-type');
    if (ct) return undefined; // already among the app's headers
    if (m.body.length === 0) return undefined;
    return m.body.startsWith('v=0') ? 'application/sdp' : undefined;
  }

  /** The app answers a request the server handed it (doRespondToSipRequest). */
  private appResponse(client: AppClient, msgId: string, txnId: string, m: AppMessage): void {
    const sm = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(m.startLine);
    const txn = this.serverTxnById.get(txnId);
    if (!sm || !txn || txn.canceled || txn.proxy || (txn.status >= 200)) {
      const cseq = getHeader(m.headers, 'cseq') ?? '';
      const why = /\bCANCEL\s*$/i.test(cseq)
        ? '200 OK to incoming CANCEL is automatically generated by the stack'
        : 'Response not sent due to unknown transaction';
      this.apiResponse(client, msgId, `NOK|${why}`);
      return;
    }
    const status = Number(sm[1]);
    const reason = sm[2] || REASONS[status] || '';
    const isInvite = txn.method === 'INVITE';
    const req = txn.req;

    if (status > 100 && !txn.toTag) {
      // the app may choose the To tag (res.send with a To header carrying one)
      txn.toTag = tagOf(getHeader(m.headers, 'to')) ?? (txn.inDialog ? tagOf(header(req, 'to')) : undefined) ?? sofiaTag();
    }
    const to = header(req, 'to') ?? '';
    const toValue = status > 100 && !tagOf(to) && txn.toTag ? `${to};tag=${txn.toTag}` : to;

    const list: HeaderList = txn.vias.map((v) => ['Via', v] as [string, string]);
    list.push(['From', header(req, 'from') ?? ''], ['To', toValue], ['Call-ID', header(req, 'call-id') ?? ''],
      ['CSeq', header(req, 'cseq') ?? '']);
    const appHasContact = getHeader(m.headers, 'contact') !== undefined;
    // Contact: on INVITE 2xx (and on responses to in-dialog INVITEs) unless the app gave one
    if (isInvite && !appHasContact && (txn.inDialog || (status >= 200 && status < 300))) list.push(['Contact', this.contactFor(txn.src)]);
    list.push(...this.appHeaders(m, new Set()));
    const ct = this.contentType(m);
    if (ct) list.push(['Content-Type', ct]);
    const text = buildMessage(`SIP/2.0 ${status} ${reason}`, list, m.body);
    const data = Buffer.from(text);
    this.sendTo(data, txn.src);
    txn.status = status;
    txn.lastResponse = data;

    let dialogId = '';
    if (isInvite && !txn.inDialog) {
      const fromTag = tagOf(header(req, 'from')) ?? '';
      const callId = header(req, 'call-id') ?? '';
      if (!txn.dialog && status > 100) {
        const contact = appHasContact ? asNameAddr(replaceLocalhost(getHeader(m.headers, 'contact')!, this.sipAddress, this.sipPort)) : this.contactFor(txn.src);
        txn.dialog = this.newUasDialog(txn, callId, fromTag, contact);
      }
      dialogId = txn.dialog?.id ?? '';
      if (status >= 200 && status < 300 && txn.dialog) {
        if (m.body) txn.dialog.localSdp = m.body;
        this.confirmUasDialog(txn, txn.dialog);
        if (status === 200) this.armUasSessionTimer(txn.dialog, getHeader(m.headers, 'session-expires'), header(req, 'session-expires'));
      }
      else if (status >= 300) this.completeWithFailure(txn);
    } else if (txn.inDialog && txn.dialog) {
      // in-dialog: the dialog id, except after a BYE (the dialog is already gone)
      dialogId = this.dialogs.has(txn.dialog.id) ? txn.dialog.id : '';
      if (isInvite && status >= 200 && status < 300 && this.dialogs.has(txn.dialog.id)) {
        this.awaitAck(txn, txn.dialog, randomUUID());
      } else if (isInvite && status >= 300) {
        this.completeWithFailure(txn);
      } else if (status >= 200) {
        this.finishNonInvite(txn);
      }
    } else if (status >= 200) {
      if (txn.method === 'REGISTER' && txn.src.ws && status === 200) this.cacheWsContact(txn, m);
      this.finishNonInvite(txn);
    }
    // transport is reported for INVITE transactions only (the traces leave it empty for BYE/REGISTER)
    const meta = this.meta('application', data.length, isInvite ? 'udp' : '', txn.src);
    this.apiResponse(client, msgId, `OK|${meta}|${txn.id}|${dialogId}||Msg sent:|${CRLF}${text}`);
  }

  /**
   * doRespondToSipRequest on a 200 to a REGISTER that came over a connection: remember the REGISTER's
   * Contact user@host → this connection for the expiry the 200 grants (its first Contact's
   * ;expires, else Expires); 0 forgets it.
   */
  private cacheWsContact(txn: ServerTxn, m: AppMessage): void {
    const uri = uriOf(header(txn.req, 'contact'));
    const at = uri ? /^sips?:(?:([^@;>]+)@)?([^;:>]+)/i.exec(uri) : null;
    if (!at) return;
    const key = `${at[1] ?? ''}@${at[2]!.toLowerCase()}`;
    const first = splitList(getHeader(m.headers, 'contact') ?? '')[0] ?? '';
    const expires = Number(/;\s*expires\s*=\s*(\d+)/i.exec(first)?.[1] ?? getHeader(m.headers, 'expires') ?? 0);
    if (expires > 0) this.wsContacts.set(key, { link: txn.src.ws!, expiresAt: Date.now() + expires * 1000 });
    else this.wsContacts.delete(key);
  }

  /** findTportForSubscription: the connection a ws-registered request-uri user@host lives on. */
  private wsContactPeer(requestUri: string): Peer | undefined {
    const at = /^sips?:(?:([^@;>]+)@)?([^;:>]+)/i.exec(requestUri);
    if (!at) return undefined;
    const key = `${at[1] ?? ''}@${at[2]!.toLowerCase()}`;
    const hit = this.wsContacts.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= Date.now() || hit.link.socket.readyState !== hit.link.socket.OPEN) {
      this.wsContacts.delete(key);
      return undefined;
    }
    const s = (hit.link.socket as unknown as { _socket?: net.Socket })._socket;
    return { address: s?.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', port: s?.remotePort ?? 0, ws: hit.link };
  }

  private newUasDialog(txn: ServerTxn, callId: string, fromTag: string, localContact: string): Dialog {
    const req = txn.req;
    const remoteTarget = uriOf(header(req, 'contact')) ?? `sip:${txn.src.address}:${txn.src.port}`;
    const routeSet = headerValues(req, 'record-route');
    const d: Dialog = {
      id: `${callId};from-tag=${fromTag}`,
      role: 'uas',
      callId,
      localTag: txn.toTag ?? sofiaTag(),
      remoteTag: fromTag,
      localUri: stripTag(header(req, 'to') ?? ''),
      remoteUri: stripTag(header(req, 'from') ?? ''),
      // sofia seeds the leg's local CSeq with the INVITE's, so the app's first BYE is CSeq n+1
      localSeq: cseqOf(req).seq,
      remoteTarget,
      routeSet,
      // a dialog keeps the connection its INVITE came over (SipDialog m_tp); UDP follows the target
      peer: txn.src.ws ? txn.src : this.routePeer(routeSet, remoteTarget) ?? txn.src,
      client: txn.client,
      localContact,
      inviteTxnId: txn.id,
      inviteSeq: 0,
      inviteStatus: 0,
    };
    return d;
  }

  private confirmUasDialog(txn: ServerTxn, d: Dialog): void {
    this.addDialog(d);
    this.awaitAck(txn, d, txn.id);
  }

  /** 2xx sent: retransmit it (T1 doubling to T2) until the ACK; at 64×T1 give up, BYE the caller, tell the app. */
  private awaitAck(txn: ServerTxn, d: Dialog, ackTxnId: string): void {
    d.awaitingAck = { txn, ackTxnId };
    let interval = this.t1;
    const retransmit = () => {
      if (d.awaitingAck?.txn !== txn || !txn.lastResponse) return;
      this.sendTo(txn.lastResponse, txn.src);
      interval = Math.min(interval * 2, this.t2);
      txn.timers.push(this.setTimer(retransmit, interval));
    };
    txn.timers.push(this.setTimer(retransmit, interval));
    txn.timers.push(this.setTimer(() => {
      if (d.awaitingAck?.txn !== txn) return;
      d.awaitingAck = undefined;
      this.dropServerTxn(txn);
      this.ackTimeout(d);
    }, 64 * this.t1));
  }

  /** endRetransmitFinalResponse: BYE with a Reason, and an `unsolicited` BYE frame so srf tears the dialog down. */
  private ackTimeout(d: Dialog): void {
    this.byeAndTellApp(d, 'SIP ;cause=200 ;text="ACK timeout"');
  }

  /** notifyTerminateStaleDialog: a BYE with a Reason to the peer, the same BYE to the app as `unsolicited`. */
  private byeAndTellApp(d: Dialog, reason: string): void {
    const { text } = this.buildInDialogRequest(d, 'BYE', d.remoteTarget, [['Reason', reason]], '');
    const data = Buffer.from(text);
    this.sendTo(data, d.peer);
    this.removeDialog(d);
    if (d.client) {
      const meta = this.meta('application', data.length, 'udp', this.self);
      this.sendFrame(d.client, `${randomUUID()}|sip|${meta}|unsolicited|${d.id}|${CRLF}${text}`);
    }
  }

  // ---------------------------------------------------------------- session timers (RFC 4028)

  /**
   * doRespondToSipRequest: the app's 200 to an INVITE carries Session-Expires → the interval is at
   * least the floor; refresher absent or `uac` → the peer refreshes. (When only the peer offered
   * one, with a refresher, the real server also echoes it; dialgate always answers with its own.)
   */
  private armUasSessionTimer(d: Dialog, appSe: string | undefined, _offered: string | undefined): void {
    const se = parseSessionExpires(appSe);
    if (!se) return;
    this.setSessionTimer(d, Math.max(this.stFloor, se.secs), se.refresher === 'uas');
  }

  /** SipDialog::setSessionTimer: the refresher acts at half the interval (± jitter), the other side at expiry. */
  private setSessionTimer(d: Dialog, secs: number, weRefresh: boolean): void {
    this.cancelSessionTimer(d);
    let ms = secs * 1000;
    if (weRefresh) ms = ms / 2 + (this.stJitter ? Math.floor(Math.random() * 2 * this.stJitter) - this.stJitter : 0);
    const timer = this.setTimer(() => {
      d.sessionTimer = undefined;
      if (!this.dialogs.has(d.id)) return;
      if (weRefresh) this.refreshSession(d, secs);
      else this.byeAndTellApp(d, 'SIP ;cause=200 ;text="Session timer expired"');
    }, Math.max(0, ms));
    d.sessionTimer = { timer, secs, weRefresh };
  }

  private cancelSessionTimer(d: Dialog): void {
    if (d.sessionTimer) this.clearTimers([d.sessionTimer.timer]);
    d.sessionTimer = undefined;
  }

  /**
   * notifyRefreshDialog: a re-INVITE with our last SDP that the app never sees. 200 → ACK and re-arm
   * from its Session-Expires; 491 → re-arm; any other final or a timeout → the stale dialog is torn
   * down (processResponseToRefreshingReinvite).
   */
  private refreshSession(d: Dialog, secs: number): void {
    const extra: HeaderList = [['Session-Expires', `${secs}; refresher=uac`], ['Min-SE', String(this.stFloor)], ['Contact', d.localContact]];
    if (d.localSdp) extra.push(['Content-Type', 'application/sdp']);
    const { text, branch, seq, via } = this.buildInDialogRequest(d, 'INVITE', d.remoteTarget, extra, d.localSdp ?? '');
    const txn = this.newClientTxn({
      branch, method: 'INVITE', requestUri: d.remoteTarget, via, from: `${d.localUri};tag=${d.localTag}`,
      to: `${d.remoteUri};tag=${d.remoteTag}`, callId: d.callId, seq, routes: d.routeSet, data: Buffer.from(text),
      dest: d.peer, dialogId: d.id, clearDialogOnResponse: false,
    });
    const stale = () => {
      if (this.dialogs.has(d.id)) this.byeAndTellApp(d, 'SIP ;cause=200 ;text="Session timer expired"');
    };
    txn.onTimeout = stale;
    txn.onResponse = (msg) => {
      const status = msg.status ?? 0;
      if (status < 200) {
        txn.status = Math.max(txn.status, status);
        return;
      }
      if (txn.status >= 200) return; // retransmitted final
      txn.status = status;
      this.finishClientTxn(txn, 64 * this.t1);
      if (!this.dialogs.has(d.id)) return;
      if (status >= 200 && status < 300) {
        const ackTarget = uriOf(header(msg, 'contact')) ?? d.remoteTarget;
        const ack = this.buildInDialogRequest(d, 'ACK', ackTarget, [], '', seq);
        this.sendTo(Buffer.from(ack.text), d.peer);
        const se = parseSessionExpires(header(msg, 'session-expires'));
        if (se) this.setSessionTimer(d, se.secs, se.refresher !== 'uas');
      } else if (status === 491) {
        this.setSessionTimer(d, secs, true);
      } else {
        stale();
      }
    };
    this.transmit(txn);
  }

  /** Non-2xx final to an INVITE: retransmit until the ACK (which the server absorbs), then forget. */
  private completeWithFailure(txn: ServerTxn): void {
    let interval = this.t1;
    const retransmit = () => {
      if (!txn.lastResponse || !this.serverTxns.has(txn.key)) return;
      this.sendTo(txn.lastResponse, txn.src);
      interval = Math.min(interval * 2, this.t2);
      txn.timers.push(this.setTimer(retransmit, interval));
    };
    txn.timers.push(this.setTimer(retransmit, interval));
    txn.timers.push(this.setTimer(() => this.dropServerTxn(txn), 64 * this.t1));
  }

  /** Final response to a non-INVITE: keep it for retransmitted requests (timer J), then forget. */
  private finishNonInvite(txn: ServerTxn): void {
    this.serverTxnById.delete(txn.id);
    this.clearTimers(txn.timers);
    txn.timers.push(this.setTimer(() => this.dropServerTxn(txn), 64 * this.t1));
  }

  private dropServerTxn(txn: ServerTxn): void {
    this.clearTimers(txn.timers);
    if (this.serverTxns.get(txn.key) === txn) this.serverTxns.delete(txn.key);
    if (this.serverTxnById.get(txn.id) === txn) this.serverTxnById.delete(txn.id);
    const k = `${header(txn.req, 'call-id')}|${cseqOf(txn.req).seq}`;
    if (this.inviteByCallSeq.get(k) === txn) this.inviteByCallSeq.delete(k);
  }

  private addServerTxn(txn: ServerTxn): void {
    this.serverTxns.set(txn.key, txn);
    this.serverTxnById.set(txn.id, txn);
    if (txn.method === 'INVITE') this.inviteByCallSeq.set(`${header(txn.req, 'call-id')}|${cseqOf(txn.req).seq}`, txn);
  }

  private addDialog(d: Dialog): void {
    this.dialogs.set(d.id, d);
    this.dialogByTags.set(`${d.callId}|${d.localTag}|${d.remoteTag}`, d);
    this.dialogByCallId.set(d.callId, d);
  }

  private removeDialog(d: Dialog): void {
    this.cancelSessionTimer(d);
    if (this.dialogs.get(d.id) === d) this.dialogs.delete(d.id);
    const key = `${d.callId}|${d.localTag}|${d.remoteTag}`;
    if (this.dialogByTags.get(key) === d) this.dialogByTags.delete(key);
    if (this.dialogByCallId.get(d.callId) === d) this.dialogByCallId.delete(d.callId);
    if (d.awaitingAck) {
      this.dropServerTxn(d.awaitingAck.txn);
      d.awaitingAck = undefined;
    }
  }

  /** Next hop for a dialog: the first loose route, else the remote target. */
  private routePeer(routeSet: string[], target: string): Peer | undefined {
    const first = routeSet[0];
    const uri = first !== undefined ? uriOf(first) : target;
    if (!uri) return undefined;
    try {
      const hp = hostPortOf(uri);
      return { address: hp.host === 'localhost' ? '127.0.0.1' : hp.host, port: hp.port };
    } catch {
      return undefined;
    }
  }

  private buildInDialogRequest(d: Dialog, method: string, requestUri: string, extra: HeaderList, body: string,
    seqOverride?: number): { text: string; branch: string; seq: number; via: string } {
    const branch = sofiaBranch();
    const via = this.ourVia(branch, d.peer);
    const seq = seqOverride ?? ++d.localSeq;
    const list: HeaderList = [['Via', via], ['Max-Forwards', '70']];
    for (const r of d.routeSet) list.push(['Route', r]);
    list.push(['From', `${d.localUri};tag=${d.localTag}`], ['To', `${d.remoteUri};tag=${d.remoteTag}`],
      ['Call-ID', d.callId], ['CSeq', `${seq} ${method}`], ...extra);
    return { text: buildMessage(`${method} ${requestUri} SIP/2.0`, list, body), branch, seq, via };
  }

  /** doSendRequestInsideDialog: the server fills in everything from dialog state. */
  private appRequestInDialog(client: AppClient, msgId: string, dialogId: string, m: AppMessage): void {
    const [method = '', uri = ''] = m.startLine.split(/\s+/);
    const d = this.dialogs.get(dialogId);
    if (!d) {
      const why = method === 'ACK'
        ? 'ACK for non-success final response is automatically generated by server'
        : 'unable to find dialog for dialog id provided';
      this.apiResponse(client, msgId, `NOK|Server error: ${why}`);
      return;
    }
    if (!KNOWN.has(method)) {
      this.apiResponse(client, msgId, `NOK|Server error: invalid or missing method supplied on start line: ${m.startLine}`);
      return;
    }
    const ctAuto = this.contentType(m);
    if (m.body.length > 0 && !ctAuto && !getHeader(m.headers, 'content-type')) {
      this.apiResponse(client, msgId, 'NOK|Server error: missing content-type');
      return;
    }
    const requestUri = method === 'ACK' || uri.includes('placeholder') ? d.remoteTarget : uri;
    const extra = this.appHeaders(m, new Set(['max-forwards']));
    if ((method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER') && !getHeader(m.headers, 'contact')) {
      extra.push(['Contact', d.localContact]);
    }
    if (ctAuto) extra.push(['Content-Type', ctAuto]);

    if (method === 'ACK') {
      if (d.inviteStatus !== 200 || d.inviteSeq === 0) {
        this.apiResponse(client, msgId, 'NOK|ACK for non-success responses is automatically generated by the stack');
        return;
      }
      const { text, seq } = this.buildInDialogRequest(d, 'ACK', requestUri, extra, m.body, d.inviteSeq);
      const data = Buffer.from(text);
      this.sendTo(data, d.peer);
      d.lastAck = { seq, data };
      const meta = this.meta('application', data.length, 'udp', this.self);
      this.apiResponse(client, msgId, `OK|${meta}|${randomUUID()}|Msg sent:|${CRLF}${text}`);
      return;
    }
    const { text, branch, seq, via } = this.buildInDialogRequest(d, method, requestUri, extra, m.body);
    const data = Buffer.from(text);
    const txn = this.newClientTxn({
      branch, method, requestUri, via, from: `${d.localUri};tag=${d.localTag}`, to: `${d.remoteUri};tag=${d.remoteTag}`,
      callId: d.callId, seq, routes: d.routeSet, data, dest: d.peer, client, dialogId: d.id,
      clearDialogOnResponse: method === 'BYE',
    });
    txn.inDialog = d;
    if (method === 'INVITE') {
      d.inviteSeq = seq;
      d.inviteStatus = 0;
    }
    this.transmit(txn);
    const meta = this.meta('application', data.length, 'udp', this.self);
    this.apiResponse(client, msgId, `OK|${meta}|${txn.id}|Msg sent:|${CRLF}${text}`);
  }

  private async resolve(host: string): Promise<string> {
    if (net.isIP(host)) return host;
    if (host === 'localhost') return '127.0.0.1';
    const r = await dns.promises.lookup(host, { family: 4 });
    return r.address;
  }

  private isLocalUri(uri: string): boolean {
    try {
      const hp = hostPortOf(uri);
      const hostIsUs = hp.host === this.sipAddress || (hp.host === 'localhost' && this.sipAddress === '127.0.0.1');
      return hostIsUs && hp.port === this.sipPort;
    } catch {
      return false;
    }
  }

  /** doSendRequestOutsideDialog: a new request (createUAC, srf.request, the B leg of a B2BUA). */
  private async appRequestOutsideDialog(client: AppClient, msgId: string, m: AppMessage, routeUrl: string): Promise<void> {
    const sl = /^([A-Za-z]+)\s+(\S+)\s+SIP\/2\.0$/.exec(m.startLine);
    const method = sl?.[1]?.toUpperCase() ?? '';
    let requestUri = sl?.[2] ?? '';
    if (!sl || !KNOWN.has(method) || !/^(sips?|tel):/i.test(requestUri)) {
      throw new Error(`invalid request-uri: ${m.startLine}`);
    }
    if (/^tel:/i.test(requestUri) && !routeUrl) throw new Error(`invalid request-uri: ${requestUri}`);
    // INVITE/OPTIONS/NOTIFY/MESSAGE to a contact registered over a WebSocket reuse that connection
    const wsPeer = !routeUrl && ['INVITE', 'OPTIONS', 'NOTIFY', 'MESSAGE'].includes(method) ? this.wsContactPeer(requestUri) : undefined;
    if (!wsPeer && (/^sips:/i.test(requestUri) || /;transport=(tcp|tls|ws|wss)/i.test(requestUri))) {
      throw new Error('requested protocol/transport not available');
    }
    // a bare number becomes user@localhost in normalizeSipUri; the app almost never relies on it
    if (this.isLocalUri(requestUri)) throw new Error('can not send request to myself');
    const ctAuto = this.contentType(m);
    if (m.body.length > 0 && !ctAuto && !getHeader(m.headers, 'content-type')) throw new Error('missing content-type');

    const hopUri = routeUrl ? (routeUrl.startsWith('sip') ? routeUrl : `sip:${routeUrl}`) : requestUri;
    let dest: Peer;
    if (wsPeer) dest = wsPeer;
    else {
      const hp = hostPortOf(hopUri);
      dest = { address: await this.resolve(hp.host), port: hp.port };
    }
    requestUri = requestUri.trim();

    const appFrom = getHeader(m.headers, 'from');
    let from = appFrom ? asNameAddr(replaceLocalhost(appFrom, this.sipAddress, this.sipPort)) : this.contactFor(dest);
    let fromTag = tagOf(from);
    if (!fromTag) {
      fromTag = sofiaTag();
      from = `${from};tag=${fromTag}`;
    }
    const appTo = getHeader(m.headers, 'to');
    const to = appTo ? asNameAddr(replaceLocalhost(appTo, this.sipAddress, this.sipPort)) : `<${requestUri}>`;
    const callId = getHeader(m.headers, 'call-id') ?? randomUUID();
    const appCseq = /^(\d+)/.exec(getHeader(m.headers, 'cseq') ?? '')?.[1];
    const seq = appCseq ? Number(appCseq) : this.cseqCounter++;
    const branch = sofiaBranch();
    const via = this.ourVia(branch, dest);
    const maxForwards = getHeader(m.headers, 'max-forwards') ?? '70';
    const appContact = getHeader(m.headers, 'contact');
    const localContact = appContact ? asNameAddr(replaceLocalhost(appContact, this.sipAddress, this.sipPort)) : this.contactFor(dest);

    const list: HeaderList = [['Via', via], ['Max-Forwards', maxForwards], ['From', from], ['To', to],
      ['Call-ID', callId], ['CSeq', `${seq} ${method}`]];
    if (method === 'INVITE' || method === 'SUBSCRIBE') list.push(['Contact', localContact]);
    list.push(...this.appHeaders(m, new Set(['max-forwards', 'contact'])));
    if (appContact && method !== 'INVITE' && method !== 'SUBSCRIBE') list.push(['Contact', localContact]);
    if (ctAuto) list.push(['Content-Type', ctAuto]);
    const text = buildMessage(`${method} ${requestUri} SIP/2.0`, list, m.body);
    const data = Buffer.from(text);

    let dialog: Dialog | undefined;
    let dialogId = '';
    if (method === 'INVITE') {
      dialogId = `${callId};from-tag=${fromTag}`;
      dialog = {
        id: dialogId, role: 'uac', callId, localTag: fromTag, remoteTag: '', localUri: stripTag(from),
        remoteUri: stripTag(to), localSeq: seq, remoteTarget: requestUri, routeSet: [], peer: dest, client,
        localContact, inviteTxnId: '', inviteSeq: seq, inviteStatus: 0, ...(m.body ? { localSdp: m.body } : {}),
      };
    }
    const txn = this.newClientTxn({
      branch, method, requestUri, via, from, to, callId, seq, routes: [], data, dest, client, dialogId,
      clearDialogOnResponse: false,
    });
    txn.maxForwards = maxForwards;
    if (dialog) {
      dialog.inviteTxnId = txn.id;
      txn.dialog = dialog;
    }
    this.transmit(txn);
    const meta = this.meta('application', data.length, 'udp', this.self);
    this.apiResponse(client, msgId, `OK|${meta}|${txn.id}|Msg sent:|${CRLF}${text}`);
  }

  /** doSendCancelRequest: CANCEL for an INVITE the app sent. The 200 to it is not passed up (sofia swallows it). */
  private appCancel(client: AppClient, msgId: string, txnId: string, m: AppMessage): void {
    const inv = this.clientTxnById.get(txnId);
    if (!inv || inv.method !== 'INVITE' || inv.status >= 200 || inv.done) {
      this.apiResponse(client, msgId, `NOK|unable to cancel unknown transaction id: ${txnId}`);
      return;
    }
    const cancelTxnId = randomUUID();
    const text = this.sendCancelFor(inv, this.appHeaders(m, new Set(['max-forwards', 'contact'])));
    const meta = this.meta('application', Buffer.byteLength(text), 'udp', this.self);
    this.apiResponse(client, msgId, `OK|${meta}|${cancelTxnId}|Msg sent:|${CRLF}${text}`);
  }

  private sendCancelFor(inv: ClientTxn, extra: HeaderList): string {
    const list: HeaderList = [['Via', inv.via], ['Max-Forwards', inv.maxForwards]];
    for (const r of inv.routes) list.push(['Route', r]);
    list.push(['From', inv.from], ['To', inv.to], ['Call-ID', inv.callId], ['CSeq', `${inv.seq} CANCEL`], ...extra);
    const text = buildMessage(`CANCEL ${inv.requestUri} SIP/2.0`, list, '');
    const cancel = this.newClientTxn({
      branch: inv.branch, method: 'CANCEL', requestUri: inv.requestUri, via: inv.via, from: inv.from, to: inv.to,
      callId: inv.callId, seq: inv.seq, routes: inv.routes, data: Buffer.from(text), dest: inv.dest, dialogId: '',
      clearDialogOnResponse: false,
    });
    // responses to CANCEL are consumed here, never handed to the app
    cancel.onResponse = (res) => {
      if ((res.status ?? 0) >= 200) this.finishClientTxn(cancel, 0);
    };
    cancel.onTimeout = () => {};
    this.transmit(cancel);
    return text;
  }

  private newClientTxn(p: {
    branch: string; method: string; requestUri: string; via: string; from: string; to: string; callId: string;
    seq: number; routes: string[]; data: Buffer; dest: Peer; client?: AppClient; dialogId: string;
    clearDialogOnResponse: boolean;
  }): ClientTxn {
    const txn: ClientTxn = {
      ...p, id: randomUUID(), key: `${p.branch}|${p.method}`, maxForwards: '70', status: 0, timers: [],
      interval: this.t1, done: false,
    };
    this.clientTxns.set(txn.key, txn);
    this.clientTxnById.set(txn.id, txn);
    return txn;
  }

  /** Sends a client transaction with UDP retransmissions (timers A/E) and its timeout (B/F). */
  private transmit(txn: ClientTxn): void {
    this.sendTo(txn.data, txn.dest);
    const isInvite = txn.method === 'INVITE';
    if (txn.dest.ws) {
      // timers A/E run on unreliable transports only (RFC 3261 17.1.1.2); B/F still apply
      txn.timers.push(this.setTimer(() => this.clientTimeoutFired(txn), 64 * this.t1));
      return;
    }
    const retransmit = () => {
      if (txn.done || (isInvite && txn.status > 0) || txn.status >= 200) return;
      this.sendTo(txn.data, txn.dest);
      txn.interval = isInvite ? txn.interval * 2 : Math.min(txn.interval * 2, this.t2);
      txn.timers.push(this.setTimer(retransmit, txn.status > 0 ? this.t2 : txn.interval));
    };
    txn.timers.push(this.setTimer(retransmit, txn.interval));
    txn.timers.push(this.setTimer(() => this.clientTimeoutFired(txn), 64 * this.t1));
  }

  private clientTimeoutFired(txn: ClientTxn): void {
    if (txn.done || txn.status >= 200) return;
    this.finishClientTxn(txn, 0);
    if (txn.onTimeout) {
      txn.onTimeout();
      return;
    }
    if (txn.method === 'ACK' || !txn.client) return;
    // sofia synthesises a 408 and drachtio passes it up like any response
    const text = buildMessage('SIP/2.0 408 Request Timeout', [['Via', txn.via], ['From', txn.from], ['To', txn.to],
      ['Call-ID', txn.callId], ['CSeq', `${txn.seq} ${txn.method}`]], '');
    const meta = this.meta('network', Buffer.byteLength(text), 'udp', txn.dest);
    this.sendFrame(txn.client, `${randomUUID()}|sip|${meta}|${txn.id}|${txn.dialogId}|${CRLF}${text}`);
    if (txn.clearDialogOnResponse && txn.inDialog) this.removeDialog(txn.inDialog);
  }

  /** Stops retransmissions; the transaction lingers `linger` ms to absorb retransmitted responses. */
  private finishClientTxn(txn: ClientTxn, linger: number): void {
    txn.done = true;
    this.clearTimers(txn.timers);
    this.clientTxnById.delete(txn.id);
    const drop = () => {
      if (this.clientTxns.get(txn.key) === txn) this.clientTxns.delete(txn.key);
    };
    if (linger > 0) txn.timers.push(this.setTimer(drop, linger));
    else drop();
  }

  // ---------------------------------------------------------------- app → server: proxy

  /** `proxy|txnId|remainInDialog|fullResponse|followRedirects|simultaneous|provTimeout|finalTimeout|dest...` */
  private onAppProxy(client: AppClient, msgId: string, tokens: string[], m: AppMessage): void {
    const txn = this.serverTxnById.get(tokens[2] ?? '');
    const targets = tokens.slice(9).filter((t) => t.length > 0);
    if (!txn || txn.status >= 200 || txn.proxy || targets.length === 0) {
      this.apiResponse(client, msgId, 'NOK|unknown transaction id or no destination');
      return;
    }
    const core: ProxyCore = {
      txn, client, msgId, targets, next: 0, recordRoute: tokens[3] === 'remainInDialog',
      fullResponse: tokens[4] === 'fullResponse', headers: this.appHeaders(m, new Set(['max-forwards', 'contact'])),
      gotProvisional: false, canceled: false, finished: false,
    };
    txn.proxy = core;
    void this.proxyNext(core);
  }

  private async proxyNext(core: ProxyCore): Promise<void> {
    const target = core.targets[core.next++];
    if (target === undefined) return;
    const txn = core.txn;
    const req = txn.req;
    let dest: Peer;
    try {
      const hp = hostPortOf(target);
      dest = { address: await this.resolve(hp.host), port: hp.port };
    } catch {
      this.proxyFinal(core, undefined, 503);
      return;
    }
    const mf = Number(header(req, 'max-forwards') ?? '70');
    if (mf <= 0) {
      this.proxyFinal(core, undefined, 483);
      return;
    }
    const branch = 'z9hG4bK' + randomUUID();
    const via = this.ourVia(branch);
    // request-uri: replaced by the target only when it pointed at us (forwardRequest)
    const requestUri = req.uri && this.isLocalUri(req.uri) ? target : (req.uri ?? target);
    const lines = this.rewriteForForward(txn.encoded, `${req.method} ${requestUri} SIP/2.0`, via, mf - 1,
      core.recordRoute && req.method !== 'REGISTER' ? `<sip:${this.sipAddress}:${this.sipPort};lr>` : undefined, core.headers);
    const data = Buffer.from(lines);
    const ct = this.newClientTxn({
      branch, method: req.method ?? 'INVITE', requestUri, via, from: header(req, 'from') ?? '', to: header(req, 'to') ?? '',
      callId: header(req, 'call-id') ?? '', seq: cseqOf(req).seq, routes: [], data, dest, dialogId: '',
      clearDialogOnResponse: false,
    });
    ct.maxForwards = String(mf - 1);
    core.branch = ct;
    ct.onResponse = (msg, raw, rawLen, src) => this.proxyResponse(core, ct, msg, raw, rawLen, src);
    ct.onTimeout = () => this.proxyBranchFailed(core, undefined, 408);
    this.transmit(ct);
  }

  /** Forwarded copy of a received request: new request line, our Via on top, Max-Forwards, optional Record-Route. */
  private rewriteForForward(encoded: string, requestLine: string, via: string, maxForwards: number,
    recordRoute: string | undefined, extra: HeaderList): string {
    const sep = encoded.indexOf('\r\n\r\n');
    const head = sep < 0 ? encoded : encoded.slice(0, sep);
    const body = sep < 0 ? '' : encoded.slice(sep + 4);
    const lines = head.split('\r\n');
    lines.shift();
    const out = [requestLine, `Via: ${via}`];
    if (recordRoute) out.push(`Record-Route: ${recordRoute}`);
    let sawMf = false;
    const replace = new Map(extra.map(([n, v]) => [fullName(n), `${n}: ${v}`] as [string, string]));
    for (const line of lines) {
      const name = fullName(line.slice(0, Math.max(0, line.indexOf(':'))));
      if (name === 'max-forwards') {
        out.push(`Max-Forwards: ${maxForwards}`);
        sawMf = true;
      } else if (replace.has(name)) {
        out.push(replace.get(name)!);
        replace.delete(name);
      } else {
        out.push(line);
      }
    }
    if (!sawMf) out.push(`Max-Forwards: ${maxForwards}`);
    out.push(...replace.values());
    return out.join('\r\n') + '\r\n\r\n' + body;
  }

  private proxyResponse(core: ProxyCore, ct: ClientTxn, msg: SipMessage, raw: string, rawLen: number, src: Peer): void {
    const status = msg.status ?? 0;
    const method = cseqOf(msg).method;
    if (method !== ct.method) return;
    if (status >= 200 && ct.status >= 200) {
      // retransmitted final: 2xx go upstream end to end, non-2xx are re-ACKed hop by hop
      if (status < 300) this.forwardUpstream(raw, core.txn.src);
      else if (ct.ackData) this.sendTo(ct.ackData, ct.dest);
      return;
    }
    if (status === 100) {
      ct.status = Math.max(ct.status, 100);
      return;
    }
    ct.status = status;
    if (status < 200) {
      core.gotProvisional = true;
      const up = this.forwardUpstream(raw, core.txn.src);
      if (up) core.txn.lastResponse = up;
      if (core.canceled) this.sendCancelFor(ct, []);
      return;
    }
    if (status < 300) {
      this.finishClientTxn(ct, 64 * this.t1);
      const up = this.forwardUpstream(raw, core.txn.src);
      core.txn.status = status;
      if (up) core.txn.lastResponse = up;
      this.proxyReport(core, raw, rawLen, src);
      this.proxyDone(core);
      // the 2xx ACK goes end to end (or through us statelessly when record-routed); keep absorbing retransmitted INVITEs a while
      this.finishNonInvite(core.txn);
      return;
    }
    // non-2xx final: ACK it ourselves (hop by hop), report, then next target or give up
    ct.ackData = this.ackForFailure(ct, msg);
    this.sendTo(ct.ackData, ct.dest);
    this.finishClientTxn(ct, 32_000);
    this.proxyReport(core, raw, rawLen, src);
    this.proxyBranchFailed(core, raw, status);
  }

  private proxyBranchFailed(core: ProxyCore, raw: string | undefined, status: number): void {
    if (!core.canceled && status < 600 && core.next < core.targets.length) {
      void this.proxyNext(core);
      return;
    }
    this.proxyFinal(core, raw, status);
  }

  /** Sends the final failure upstream (the received one, or one of our own) and reports done. */
  private proxyFinal(core: ProxyCore, raw: string | undefined, status: number): void {
    const txn = core.txn;
    const data = raw !== undefined ? this.forwardUpstream(raw, txn.src) : this.sendLocalResponse(txn, status);
    txn.status = status;
    if (data) txn.lastResponse = data;
    if (txn.method === 'INVITE') this.completeWithFailure(txn);
    else this.finishNonInvite(txn);
    this.proxyDone(core);
  }

  private proxyReport(core: ProxyCore, raw: string, rawLen: number, src: Peer): void {
    if (!core.fullResponse) return;
    const meta = this.meta('network', rawLen, 'udp', src);
    this.apiResponse(core.client, core.msgId, `OK|${meta}|||continue${CRLF}${raw}`);
  }

  private proxyDone(core: ProxyCore): void {
    if (core.finished) return;
    core.finished = true;
    this.apiResponse(core.client, core.msgId, 'OK|done');
  }

  /** Pops our Via off a response and sends it to the next Via's address. Returns what was sent. */
  private forwardUpstream(raw: string, fallback: Peer): Buffer | undefined {
    const sep = raw.indexOf('\r\n\r\n');
    const head = sep < 0 ? raw : raw.slice(0, sep);
    const body = sep < 0 ? '' : raw.slice(sep + 4);
    const lines = head.split('\r\n');
    let popped = false;
    let nextVia: string | undefined;
    const out: string[] = [];
    for (const [i, line] of lines.entries()) {
      const colon = line.indexOf(':');
      const name = i > 0 && colon > 0 ? fullName(line.slice(0, colon)) : '';
      if (name === 'via' && (!popped || nextVia === undefined)) {
        const parts = splitList(line.slice(colon + 1));
        if (!popped) {
          parts.shift();
          popped = true;
        }
        if (nextVia === undefined) nextVia = parts[0];
        if (parts.length > 0) out.push(`Via: ${parts.join(', ')}`);
        continue;
      }
      out.push(line);
    }
    if (!popped) return undefined;
    const data = Buffer.from(out.join('\r\n') + '\r\n\r\n' + body);
    const t = nextVia !== undefined ? viaTarget(nextVia) : undefined;
    this.sendTo(data, t ? { address: t.host, port: t.port } : fallback);
    return data;
  }

  /** The ACK sofia generates for a non-2xx final: same branch and request-uri as the INVITE. */
  private ackForFailure(ct: ClientTxn, res: SipMessage): Buffer {
    const list: HeaderList = [['Via', ct.via], ['Max-Forwards', ct.maxForwards]];
    for (const r of ct.routes) list.push(['Route', r]);
    list.push(['From', ct.from], ['To', header(res, 'to') ?? ct.to], ['Call-ID', ct.callId], ['CSeq', `${ct.seq} ACK`]);
    return Buffer.from(buildMessage(`ACK ${ct.requestUri} SIP/2.0`, list, ''));
  }

  // ---------------------------------------------------------------- network → server

  private onDatagram(buf: Buffer, src: Peer): void {
    if (buf.length === 0) return;
    const raw = buf.toString('utf8');
    if (/^\s*$/.test(raw)) return; // CRLF keep-alives
    let msg: SipMessage;
    try {
      msg = parseMessage(raw);
    } catch (err) {
      if (err instanceof SipParseError) this.rejectMalformed(raw, src, err.message);
      else throw err;
      return;
    }
    if (msg.method !== undefined) {
      // sip_sanity_check: the CSeq method must match the request method
      const cs = cseqOf(msg);
      if (cs.method !== msg.method || !Number.isFinite(cs.seq) || !/^sips?:|^tel:/i.test(msg.uri ?? '')) {
        this.rejectMalformed(raw, src, 'request failed sanity check');
        return;
      }
      this.onNetRequest(msg, raw, buf.length, src);
    } else {
      this.onNetResponse(msg, raw, buf.length, src);
    }
  }

  /**
   * A datagram we could not parse: 400 when enough survives to address a response (sofia's
   * stateless 400 for requests failing its sanity checks), silence otherwise. Never for ACK.
   */
  private rejectMalformed(raw: string, src: Peer, why: string): void {
    this.log(`malformed datagram from ${src.address}:${src.port}: ${why}`);
    const headEnd = raw.search(/\r?\n\r?\n/);
    const lines = (headEnd < 0 ? raw : raw.slice(0, headEnd)).split(/\r?\n/);
    const first = lines.shift() ?? '';
    const rq = /^([A-Za-z]+)\s+\S+\s+SIP\/2\.0\s*$/.exec(first);
    if (!rq || rq[1]!.toUpperCase() === 'ACK') return;
    const found: Record<string, string[]> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = fullName(line.slice(0, colon));
      (found[name] ??= []).push(line.slice(colon + 1).trim());
    }
    const vias = (found.via ?? []).flatMap((v) => splitList(v));
    const from = found.from?.[0];
    const to = found.to?.[0];
    const callId = found['call-id']?.[0];
    const cseq = found.cseq?.[0];
    if (vias.length === 0 || !from || !to || !callId || !cseq || !viaTarget(vias[0]!)) return;
    const topVia = vias[0]!;
    const stamped = topVia + (/;\s*rport=/i.test(topVia) ? '' : `;rport=${src.port}`);
    const list: HeaderList = [['Via', stamped], ...vias.slice(1).map((v) => ['Via', v] as [string, string]),
      ['From', from], ['To', tagOf(to) ? to : `${to};tag=${sofiaTag()}`], ['Call-ID', callId], ['CSeq', cseq]];
    this.sendTo(Buffer.from(buildMessage('SIP/2.0 400 Bad Request', list, '')), src);
  }

  /** A response of the server's own making (100, 481, 487, 503 ...) to a received request. */
  private localResponse(req: SipMessage, vias: string[], status: number, toTag?: string, extra: HeaderList = []): Buffer {
    const to = header(req, 'to') ?? '';
    const tag = status > 100 && !tagOf(to) ? (toTag ?? sofiaTag()) : undefined;
    const list: HeaderList = vias.map((v) => ['Via', v] as [string, string]);
    list.push(['From', header(req, 'from') ?? ''], ['To', tag ? `${to};tag=${tag}` : to],
      ['Call-ID', header(req, 'call-id') ?? ''], ['CSeq', header(req, 'cseq') ?? ''], ...extra);
    return Buffer.from(buildMessage(`SIP/2.0 ${status} ${REASONS[status] ?? ''}`, list, ''));
  }

  private sendLocalResponse(txn: ServerTxn, status: number): Buffer {
    if (status > 100 && !txn.toTag) txn.toTag = sofiaTag();
    const data = this.localResponse(txn.req, txn.vias, status, txn.toTag);
    this.sendTo(data, txn.src);
    return data;
  }

  private replyStateless(msg: SipMessage, raw: string, src: Peer, status: number, extra: HeaderList = []): void {
    const stamped = stampTopVia(raw, src.address, src.port);
    let vias: string[];
    try {
      vias = headerValues(parseMessage(stamped), 'via');
    } catch {
      vias = headerValues(msg, 'via');
    }
    this.sendTo(this.localResponse(msg, vias, status, undefined, extra), src);
  }

  private txnKey(msg: SipMessage, method: string): string {
    const branch = param(header(msg, 'via'), 'branch') ?? '';
    return `${branch}|${method}`;
  }

  private onNetRequest(msg: SipMessage, raw: string, rawLen: number, src: Peer): void {
    const method = msg.method!;
    if (method === 'ACK') {
      this.onNetAck(msg, raw, rawLen, src);
      return;
    }
    if (method === 'CANCEL') {
      this.onNetCancel(msg, raw, rawLen, src);
      return;
    }
    // retransmission: answer with the last response (or 100 Trying for a pending INVITE)
    const existing = this.serverTxns.get(this.txnKey(msg, method));
    if (existing) {
      if (existing.lastResponse) this.sendTo(existing.lastResponse, existing.src);
      else if (method === 'INVITE') this.sendLocalResponse(existing, 100);
      return;
    }
    const toTag = tagOf(header(msg, 'to'));
    if (toTag) {
      this.onNetRequestInDialog(msg, raw, rawLen, src, toTag);
      return;
    }
    if (!KNOWN.has(method)) {
      // an extension method nobody can route: 501 (RFC 3261 8.2.1)
      this.replyStateless(msg, raw, src, 501);
      return;
    }
    if (method === 'BYE' || method === 'UPDATE') {
      this.replyStateless(msg, raw, src, 481);
      return;
    }
    if (!ROUTABLE.has(method)) return; // PRACK/REFER outside a dialog: discarded (controller.cpp default)
    const client = this.selectClient(method);
    if (!client) {
      // processNewRequest: no app registered for the method
      this.replyStateless(msg, raw, src, 503);
      return;
    }
    const encoded = stampTopVia(raw, src.address, src.port);
    const parsed = parseMessage(encoded);
    const txn: ServerTxn = {
      id: randomUUID(), key: this.txnKey(msg, method), method, req: parsed, encoded, rawLen,
      vias: headerValues(parsed, 'via'), src, client, status: 0, canceled: false, inDialog: false, timers: [],
    };
    this.addServerTxn(txn);
    if (method === 'INVITE') this.sendLocalResponse(txn, 100);
    // the app gets CLIENT_TIMEOUT to answer; after that the server quietly forgets the request
    txn.timers.push(this.setTimer(() => {
      if (txn.status < 200 && !txn.proxy) this.dropServerTxn(txn);
    }, this.clientTimeout));
    const meta = this.meta('network', rawLen, 'udp', src);
    this.sendFrame(client, `${randomUUID()}|sip|${meta}|${txn.id}||${this.sipAddress}|${this.sipPort}|${CRLF}${encoded}`);
  }

  private onNetRequestInDialog(msg: SipMessage, raw: string, rawLen: number, src: Peer, toTag: string): void {
    const method = msg.method!;
    const callId = header(msg, 'call-id') ?? '';
    const fromTag = tagOf(header(msg, 'from')) ?? '';
    const d = this.dialogByTags.get(`${callId}|${toTag}|${fromTag}`);
    if (!d) {
      if (this.proxyInDialog(msg, raw, src)) return;
      this.replyStateless(msg, raw, src, 481);
      return;
    }
    if (!d.client || d.client.closed) {
      if (method === 'BYE') this.removeDialog(d);
      this.replyStateless(msg, raw, src, 481);
      return;
    }
    if (method === 'INVITE' || method === 'UPDATE') {
      // processRequestInsideDialog: a re-INVITE or UPDATE restarts the session timer, or is refused
      // with 422 when its Session-Expires is below Min-SE (90 on the real server)
      const weRefreshed = d.sessionTimer?.weRefresh ?? false;
      this.cancelSessionTimer(d);
      const se = parseSessionExpires(header(msg, 'session-expires'));
      if (se && se.secs < this.stFloor) {
        this.replyStateless(msg, raw, src, 422, [['Min-SE', String(this.stFloor)]]);
        return;
      }
      if (se) this.setSessionTimer(d, se.secs, se.refresher === undefined ? !weRefreshed : se.refresher === 'uas');
    }
    const encoded = stampTopVia(raw, src.address, src.port);
    const parsed = parseMessage(encoded);
    const txn: ServerTxn = {
      id: randomUUID(), key: this.txnKey(msg, method), method, req: parsed, encoded, rawLen,
      vias: headerValues(parsed, 'via'), src, client: d.client, toTag, status: 0, canceled: false, dialog: d,
      inDialog: true, timers: [],
    };
    this.addServerTxn(txn);
    if (method === 'INVITE') {
      this.sendLocalResponse(txn, 100);
      const target = uriOf(header(msg, 'contact'));
      if (target) d.remoteTarget = target;
    }
    if (method === 'BYE') this.removeDialog(d); // the server clears the dialog on receipt of the BYE
    txn.timers.push(this.setTimer(() => {
      if (txn.status < 200) this.dropServerTxn(txn);
    }, method === 'BYE' ? 32_000 : this.clientTimeout));
    const meta = this.meta('network', rawLen, 'udp', src);
    this.sendFrame(d.client, `${randomUUID()}|sip|${meta}|${txn.id}|${d.id}|${CRLF}${encoded}`);
  }

  private onNetAck(msg: SipMessage, raw: string, rawLen: number, src: Peer): void {
    // ACK for a non-2xx final: same branch as the INVITE; absorbed by the server
    const inv = this.serverTxns.get(this.txnKey(msg, 'INVITE'));
    if (inv && inv.status >= 300) {
      this.dropServerTxn(inv);
      return;
    }
    const toTag = tagOf(header(msg, 'to'));
    const callId = header(msg, 'call-id') ?? '';
    const fromTag = tagOf(header(msg, 'from')) ?? '';
    const d = toTag ? this.dialogByTags.get(`${callId}|${toTag}|${fromTag}`) : undefined;
    if (!d) {
      // a non-2xx ACK with another branch (sipp's [branch] differs per message): match by Call-ID and CSeq
      const t = this.inviteByCallSeq.get(`${callId}|${cseqOf(msg).seq}`);
      if (t && t.status >= 300) {
        this.dropServerTxn(t);
        return;
      }
      if (toTag) this.proxyInDialog(msg, raw, src);
      return;
    }
    const pending = d.awaitingAck;
    if (!pending || cseqOf(pending.txn.req).seq !== cseqOf(msg).seq) return; // duplicate ACK
    d.awaitingAck = undefined;
    this.dropServerTxn(pending.txn);
    if (!d.client || d.client.closed) return;
    const encoded = stampTopVia(raw, src.address, src.port);
    // the ACK frame leaves the transport field empty (see answer.txt)
    const meta = this.meta('network', rawLen, '', src);
    this.sendFrame(d.client, `${randomUUID()}|sip|${meta}|${pending.ackTxnId}|${d.id}|${CRLF}${encoded}`);
  }

  private onNetCancel(msg: SipMessage, raw: string, rawLen: number, src: Peer): void {
    let inv = this.serverTxns.get(this.txnKey(msg, 'INVITE'));
    inv ??= this.inviteByCallSeq.get(`${header(msg, 'call-id')}|${cseqOf(msg).seq}`);
    if (!inv || inv.canceled) {
      this.replyStateless(msg, raw, src, inv ? 200 : 481);
      return;
    }
    if (inv.status >= 200) {
      // too late to cancel: 200 for the CANCEL, the INVITE's final response stands
      this.replyStateless(msg, raw, src, inv.status < 300 ? 481 : 200);
      return;
    }
    this.replyStateless(msg, raw, src, 200);
    inv.canceled = true;
    if (inv.proxy) {
      const core = inv.proxy;
      core.canceled = true;
      if (core.branch && core.gotProvisional && !core.branch.done) this.sendCancelFor(core.branch, []);
      return;
    }
    // the server answers the INVITE with 487 itself; the app is only told
    inv.status = 487;
    inv.lastResponse = this.sendLocalResponse(inv, 487);
    this.completeWithFailure(inv);
    if (!inv.client || inv.client.closed) return;
    const encoded = stampTopVia(raw, src.address, src.port);
    if (inv.dialog) {
      // after a provisional the leg exists: the frame carries the dialog id, and sofia reports the INVITE's size
      const meta = this.meta('network', inv.rawLen, 'udp', src);
      this.sendFrame(inv.client, `${randomUUID()}|sip|${meta}|${inv.id}|${inv.dialog.id}|${CRLF}${encoded}`);
    } else {
      const meta = this.meta('network', rawLen, 'udp', src);
      this.sendFrame(inv.client, `${randomUUID()}|sip|${meta}|${inv.id}||${CRLF}${encoded}`);
    }
  }

  /**
   * A request in a dialog the server record-routed as a proxy: strip our Route, add our Via and
   * send it to the next Route or the request-uri (processRequestWithRouteHeader).
   */
  private proxyInDialog(msg: SipMessage, raw: string, src: Peer): boolean {
    const routes = headerValues(msg, 'route');
    const top = routes[0];
    const topUri = top !== undefined ? uriOf(top) : undefined;
    if (!topUri || !this.isLocalUri(topUri) || !/;lr\b/i.test(topUri)) return false;
    const rest = routes.slice(1);
    const nextUri = rest.length > 0 ? uriOf(rest[0]) : msg.uri;
    if (!nextUri) return false;
    let dest: Peer;
    try {
      const hp = hostPortOf(nextUri);
      dest = { address: hp.host === 'localhost' ? '127.0.0.1' : hp.host, port: hp.port };
    } catch {
      return false;
    }
    const encoded = stampTopVia(raw, src.address, src.port);
    const inBranch = param(header(msg, 'via'), 'branch') ?? randomUUID();
    // a branch derived from the incoming one keeps retransmissions in the same transaction downstream
    const branch = 'z9hG4bK' + Buffer.from(`${inBranch}|${msg.method}`).toString('base64url').slice(0, 24);
    const sep = encoded.indexOf('\r\n\r\n');
    const head = sep < 0 ? encoded : encoded.slice(0, sep);
    const body = sep < 0 ? '' : encoded.slice(sep + 4);
    const lines = head.split('\r\n');
    const out = [lines.shift()!, `Via: ${this.ourVia(branch)}`];
    let routeDropped = false;
    let sawMf = false;
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? fullName(line.slice(0, colon)) : '';
      if (name === 'route' && !routeDropped) {
        const parts = splitList(line.slice(colon + 1));
        parts.shift();
        routeDropped = true;
        if (parts.length) out.push(`Route: ${parts.join(', ')}`);
        continue;
      }
      if (name === 'max-forwards') {
        out.push(`Max-Forwards: ${Math.max(0, Number(line.slice(colon + 1).trim()) - 1)}`);
        sawMf = true;
        continue;
      }
      out.push(line);
    }
    if (!sawMf) out.push('Max-Forwards: 70');
    this.sendTo(Buffer.from(out.join('\r\n') + '\r\n\r\n' + body), dest);
    return true;
  }

  private onNetResponse(msg: SipMessage, raw: string, rawLen: number, src: Peer): void {
    const { method } = cseqOf(msg);
    const status = msg.status ?? 0;
    const txn = this.clientTxns.get(this.txnKey(msg, method));
    if (!txn) {
      // a 2xx retransmission for an INVITE we already ACKed: ACK again (the timer D handler)
      if (method === 'INVITE' && status >= 200 && status < 300) {
        const d = this.dialogs.get(`${header(msg, 'call-id')};from-tag=${tagOf(header(msg, 'from'))}`);
        if (d?.lastAck && d.lastAck.seq === cseqOf(msg).seq) {
          this.sendTo(d.lastAck.data, d.peer);
          return;
        }
      }
      // a response to a request we forwarded statelessly: pass it on up the Via chain
      const top = header(msg, 'via');
      const t = top ? viaTarget(top) : undefined;
      if (t && t.host === this.sipAddress && t.port === this.sipPort && headerValues(msg, 'via').length > 1) {
        this.forwardUpstream(raw, src);
      }
      return;
    }
    if (txn.onResponse) {
      txn.onResponse(msg, raw, rawLen, src);
      return;
    }
    const isInvite = txn.method === 'INVITE';
    if (status >= 200 && txn.status >= 200) {
      // retransmitted final response
      if (isInvite && status >= 300 && txn.ackData) this.sendTo(txn.ackData, txn.dest);
      if (isInvite && status < 300) {
        const d = txn.dialog ?? txn.inDialog;
        if (d?.lastAck && d.lastAck.seq === txn.seq) this.sendTo(d.lastAck.data, d.peer);
      }
      return;
    }
    if (status === 100) {
      // sofia keeps 100 Trying to itself
      txn.status = Math.max(txn.status, 100);
      return;
    }
    txn.status = status;
    let dialogId = txn.dialogId;
    if (isInvite) {
      const d = txn.dialog ?? txn.inDialog;
      if (d) d.inviteStatus = status;
      if (status >= 200 && status < 300) {
        this.finishClientTxn(txn, 64 * this.t1);
        if (txn.dialog) this.confirmUacDialog(txn.dialog, msg, src);
        // processResponseOutsideDialog: a 200 carrying Session-Expires arms the timer (no floor here)
        const se = status === 200 && txn.dialog ? parseSessionExpires(header(msg, 'session-expires')) : null;
        if (se && txn.dialog) this.setSessionTimer(txn.dialog, se.secs, se.refresher !== 'uas');
      } else if (status >= 300) {
        txn.ackData = this.ackForFailure(txn, msg);
        this.sendTo(txn.ackData, txn.dest);
        this.finishClientTxn(txn, 32_000);
      }
    } else if (status >= 200) {
      this.finishClientTxn(txn, 64 * this.t1);
      if (txn.clearDialogOnResponse && txn.inDialog && status !== 401 && status !== 407) this.removeDialog(txn.inDialog);
    }
    if (!txn.client || txn.client.closed) return;
    if (!isInvite && !txn.inDialog) dialogId = '';
    const meta = this.meta('network', rawLen, 'udp', src);
    this.sendFrame(txn.client, `${randomUUID()}|sip|${meta}|${txn.id}|${dialogId}|${CRLF}${raw}`);
  }

  /** processResponseOutsideDialog on a 2xx: the UAC dialog comes to life. */
  private confirmUacDialog(d: Dialog, res: SipMessage, src: Peer): void {
    d.remoteTag = tagOf(header(res, 'to')) ?? '';
    d.remoteUri = stripTag(header(res, 'to') ?? d.remoteUri);
    d.remoteTarget = uriOf(header(res, 'contact')) ?? d.remoteTarget;
    d.routeSet = headerValues(res, 'record-route').reverse();
    let peer = this.routePeer(d.routeSet, d.remoteTarget);
    // drachtio's NAT detection: a Contact that is not where the response came from → use the source
    if (d.routeSet.length === 0 && peer && peer.address !== src.address) peer = src;
    // over a WebSocket the dialog stays on that connection
    d.peer = src.ws ? src : peer ?? src;
    this.addDialog(d);
  }
}

/** `Session-Expires: 1800;refresher=uac` → seconds and refresher; null when absent or unreadable. */
function parseSessionExpires(value: string | undefined): { secs: number; refresher?: string } | null {
  const m = value ? /^\s*(\d+)/.exec(value) : null;
  if (!m) return null;
  const r = /;\s*refresher\s*=\s*(\w+)/i.exec(value!);
  return { secs: Number(m[1]), ...(r ? { refresher: r[1]!.toLowerCase() } : {}) };
}

/** Starts a stand-in on loopback; resolves once both listeners are bound. */
export async function startDrachtio(opts: DrachtioOptions = {}): Promise<DrachtioStandIn> {
  const s = new DrachtioServer(opts);
  try {
    await s.start();
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}
