// Which media path a call takes (pure). A browser leg speaks DTLS-SRTP over ICE (RFC 8827) and a
// carrier plain RTP: the two cannot meet directly, so a call with a WebRTC leg is always anchored
// in FreeSWITCH, whatever the route says, and the CDR tells why.

/** How a route wants its media (config `media`). */
export type RouteMedia = 'anchored' | 'direct';

/** Why a leg counts as WebRTC, for logs and the CDR; null when it does not. */
export type WebRtcSignal = 'savpf-offer' | 'dtls-ice-offer' | 'websocket-transport' | null;

/** m=audio on UDP/TLS/RTP/SAVPF (RFC 5764) or RTP/SAVPF, the profiles browsers offer. */
const SAVPF_AUDIO = /^m=audio \d+ (?:UDP\/TLS\/RTP\/SAVPF|RTP\/SAVPF)\b/m;

/** The signal an offer (SDP) or the seat's SIP transport gives, strongest first. */
export function webRtcSignal(sdp: string | undefined | null, transport: string | undefined | null): WebRtcSignal {
  if (sdp) {
    if (SAVPF_AUDIO.test(sdp)) return 'savpf-offer';
    // A DTLS fingerprint with ICE credentials is WebRTC even on an odd profile name.
    if (/^a=fingerprint:/m.test(sdp) && /^a=ice-ufrag:/m.test(sdp)) return 'dtls-ice-offer';
  }
  if (transport && isWebSocketTransport(transport)) return 'websocket-transport';
  return null;
}

/**
 * The transport of a request's top Via (`SIP/2.0/WSS host…` → `wss`). drachtio-server reports a
 * WebSocket request's protocol to the app as `tcp` (a ws tport is a tcp tport), so the Via the
 * phone sent is what tells SIP over WebSocket apart.
 */
export function viaTransport(via: string | undefined | null): string | null {
  return /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)/.exec(via ?? '')?.[1]?.toLowerCase() ?? null;
}

/** SIP over WebSocket (RFC 7118): ws or wss. */
export function isWebSocketTransport(transport: string): boolean {
  return /^wss?$/i.test(transport.trim());
}

/** A registered contact reached over SIP WebSocket (RFC 7118 §5: sip.js registers `;transport=ws`). */
export function isWebSocketContact(b: { contact: string; transport?: string }): boolean {
  return (b.transport !== undefined && isWebSocketTransport(b.transport)) || /;\s*transport=wss?\b/i.test(b.contact);
}

export interface MediaInput {
  route: RouteMedia;
  /** `recording: required`: only FreeSWITCH records. */
  recordingRequired: boolean;
  /** `recording` on at all (a direct route then records nothing). */
  recording: boolean;
  /** The WebRTC signal of the seat leg (caller for outbound, a rung seat for 400 calls). */
  webrtc: WebRtcSignal;
}

export interface MediaChoice {
  anchor: boolean;
  /** A WebRTC leg: anchoring cannot be given up (no direct fallback without a media server). */
  mustAnchor: boolean;
  /** For the CDR's mediaNote when the choice itself is worth telling; null otherwise. */
  note: string | null;
}

export function chooseMedia(m: MediaInput): MediaChoice {
  if (m.webrtc !== null) {
    const overridden = m.route === 'direct' ? ' (route media: direct overridden)' : '';
    return { anchor: true, mustAnchor: true, note: `anchored: WebRTC seat${overridden}` };
  }
  const anchor = m.route === 'anchored' || m.recordingRequired;
  return {
    anchor, mustAnchor: false,
    note: !anchor && m.recording ? 'not recorded: the route is media: direct' : null,
  };
}
