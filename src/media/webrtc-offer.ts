// A FreeSWITCH endpoint answering a browser's WebRTC offer that arrived in a 200 OK (late offer:
// dialgate rang the browser with an INVITE without SDP, RFC 3261 §13.2.1, and the answer goes in
// the ACK). This is what fsmrf's connectCaller does for a DTLS offer in an INVITE, which it only
// offers for a request it can answer itself: FreeSWITCH answers the offer at once, the answer must
// reach the browser before ICE and DTLS can run, and FreeSWITCH connects the channel's event socket
// back to us afterwards (fsmrf's createEndpoint would wait for that socket before returning the
// answer, and time out). So: INVITE FreeSWITCH with the offer, hand its answer over, then wait for
// the socket and make the Endpoint. It reaches into fsmrf 4.1.2's MediaServer (the map of endpoints
// waiting for their socket, keyed by the uuid in the User-Agent), which is pinned in package.json.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type Mrf from 'drachtio-fsmrf';
import type Srf from 'drachtio-srf';
import { withDeadline } from './deadlines.js';

const require = createRequire(import.meta.url);
type EndpointCtor = new (conn: unknown, dialog: Srf.Dialog, ms: Mrf.MediaServer, opts: Record<string, unknown>) => Mrf.Endpoint;
const FsEndpoint = require('drachtio-fsmrf/lib/endpoint.js') as EndpointCtor;

/** The parts of fsmrf's MediaServer this needs (not in its public API). */
interface MediaServerInternals {
  srf: Srf;
  advertisedAddress: string;
  advertisedPort: number;
  sip: { ipv4: { udp: { address?: string } } };
  _mrf?: { customEvents?: string[] };
  pendingConnections: Map<string, { conn?: unknown; dialog?: Srf.Dialog; fn?: (conn: unknown) => void; connTimeout?: NodeJS.Timeout }>;
}

/**
 * Sends `offer` to FreeSWITCH, passes its answer to `sendAnswer` (the ACK to the browser), and
 * resolves with the endpoint once FreeSWITCH's event socket for it is connected, within
 * `timeoutMs` of the answer. On failure FreeSWITCH's leg is hung up; the browser's is the caller's.
 */
export async function endpointForLateOffer(
  mediaServer: Mrf.MediaServer, offer: string, sendAnswer: (sdp: string) => Promise<unknown>, timeoutMs: number, inviteTimeoutMs: number,
): Promise<Mrf.Endpoint> {
  const ms = mediaServer as unknown as MediaServerInternals;
  const address = ms.sip.ipv4.udp.address;
  if (!address) throw new Error('media server not ready');
  const uuid = randomUUID();
  const waiting: { conn?: unknown; fn?: (conn: unknown) => void; connTimeout?: NodeJS.Timeout } = {};
  ms.pendingConnections.set(uuid, waiting);
  let dialog: Srf.Dialog;
  try {
    // A hung FreeSWITCH must not hold the browser's 200 un-ACKed until its Timer B (32 s).
    dialog = await withDeadline(ms.srf.createUAC(`sip:drachtio@${address}`, {
      localSdp: offer,
      headers: { 'User-Agent': `drachtio-fsmrf:${uuid}`, 'X-esl-outbound': `${ms.advertisedAddress}:${ms.advertisedPort}` },
    }), inviteTimeoutMs, 'media server answer to a WebRTC seat\'s offer', (late) => void Promise.resolve().then(() => late.destroy()).catch(() => {}));
  } catch (err) {
    ms.pendingConnections.delete(uuid);
    throw err;
  }
  const connected = new Promise<unknown>((resolve, reject) => {
    if (waiting.conn) {
      ms.pendingConnections.delete(uuid);
      resolve(waiting.conn);
      return;
    }
    // fsmrf calls fn with the connection, clears connTimeout and forgets the entry.
    waiting.fn = resolve;
    waiting.connTimeout = setTimeout(() => {
      ms.pendingConnections.delete(uuid);
      reject(new Error(`media server did not connect the WebRTC seat's channel within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await sendAnswer(dialog.remote.sdp);
    const conn = await connected;
    const endpoint = new FsEndpoint(conn, dialog, mediaServer, { customEvents: ms._mrf?.customEvents ?? [] });
    await new Promise<void>((resolve) => endpoint.once('ready', () => resolve()));
    return endpoint;
  } catch (err) {
    if (waiting.connTimeout) clearTimeout(waiting.connTimeout);
    ms.pendingConnections.delete(uuid);
    void Promise.resolve().then(() => dialog.destroy()).catch(() => {});
    throw err;
  }
}

