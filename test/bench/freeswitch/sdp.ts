// SDP as mod_sofia answers and offers it on a drachtio_mrf profile (see traces/freeswitch/*-drachtio-wire.txt).
import { randomBytes } from 'node:crypto';

export interface SdpCodec { pt: number; name: string; rate: number; channels?: number; fmtp?: string }

export interface SdpSummary {
  ip?: string;
  port?: number;
  proto?: string;
  codecs: SdpCodec[];
  /** telephone-event/8000 payload type when offered. */
  dtmfPt?: number;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /** CN/8000 when offered (FreeSWITCH keeps it in a WebRTC answer). */
  cnPt?: number;
  /** A browser's offer: DTLS-SRTP (RFC 5763) over ICE; absent for plain RTP. */
  webrtc?: WebRtcOffer;
}

export interface WebRtcOffer {
  fingerprint: string;
  setup: 'actpass' | 'active' | 'passive' | 'holdconn';
  iceUfrag?: string;
  icePwd?: string;
  rtcpMux: boolean;
}

/** The m=audio protocols the stand-in negotiates on, as mod_sofia does (first usable one wins). */
const AUDIO_PROTOS = new Set(['RTP/AVP', 'UDP/TLS/RTP/SAVPF', 'RTP/SAVPF']);

const STATIC: Record<number, [string, number]> = { 0: ['PCMU', 8000], 8: ['PCMA', 8000], 9: ['G722', 8000], 13: ['CN', 8000], 18: ['G729', 8000] };

/** The first audio m-line of a body (the one FS negotiates on when it accepts the offer). */
export function parseSdp(body: string): SdpSummary {
  const lines = body.split(/\r?\n/);
  let sessionIp: string | undefined;
  let ip: string | undefined;
  let inAudio = false;
  let done = false;
  const out: SdpSummary = { codecs: [], direction: 'sendrecv' };
  // DTLS/ICE attributes may sit at session level (RFC 8839, 8842) or in the audio section.
  const dtls: Partial<WebRtcOffer> = { rtcpMux: false };
  const webrtcAttr = (line: string): void => {
    const a = /^a=(fingerprint|setup|ice-ufrag|ice-pwd):(.*)$/.exec(line);
    if (a) {
      const v = a[2]!.trim();
      if (a[1] === 'fingerprint') dtls.fingerprint = v;
      else if (a[1] === 'setup') dtls.setup = v as WebRtcOffer['setup'];
      else if (a[1] === 'ice-ufrag') dtls.iceUfrag = v;
      else dtls.icePwd = v;
    }
    if (line === 'a=rtcp-mux') dtls.rtcpMux = true;
  };
  const rtpmap = new Map<number, SdpCodec>();
  const fmtps = new Map<number, string>();
  let payloads: number[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inAudio) done = true;
      const m = /^m=audio (\d+) (\S+) (.*)$/.exec(line);
      if (m && !done && Number(m[1]) !== 0 && AUDIO_PROTOS.has(m[2]!)) {
        inAudio = true;
        out.port = Number(m[1]);
        out.proto = m[2];
        payloads = m[3]!.trim().split(/\s+/).map(Number);
      } else if (!done) inAudio = false;
      continue;
    }
    if (line.startsWith('c=')) {
      const c = /^c=IN IP[46] (\S+)/.exec(line)?.[1];
      if (!inAudio && out.port === undefined) sessionIp = c;
      else if (inAudio) ip = c;
      continue;
    }
    if ((out.port === undefined && !inAudio) || (inAudio && !done)) webrtcAttr(line);
    if (!inAudio || done) {
      if (!done && /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line) && out.port === undefined) {
        out.direction = line.slice(2) as SdpSummary['direction'];
      }
      continue;
    }
    const rm = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(line);
    if (rm) rtpmap.set(Number(rm[1]), { pt: Number(rm[1]), name: rm[2]!, rate: Number(rm[3]), channels: rm[4] ? Number(rm[4]) : undefined });
    const fm = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fm) fmtps.set(Number(fm[1]), fm[2]!);
    if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) out.direction = line.slice(2) as SdpSummary['direction'];
  }
  out.ip = ip ?? sessionIp;
  if (out.proto !== 'RTP/AVP' && dtls.fingerprint) {
    out.webrtc = { fingerprint: dtls.fingerprint, setup: dtls.setup ?? 'actpass', rtcpMux: dtls.rtcpMux ?? false,
      ...(dtls.iceUfrag ? { iceUfrag: dtls.iceUfrag } : {}), ...(dtls.icePwd ? { icePwd: dtls.icePwd } : {}) };
  }
  for (const pt of payloads) {
    const c = rtpmap.get(pt) ?? (STATIC[pt] ? { pt, name: STATIC[pt][0], rate: STATIC[pt][1] } : undefined);
    if (!c) continue;
    const fmtp = fmtps.get(pt);
    out.codecs.push(fmtp ? { ...c, fmtp } : c);
    if (c.name.toLowerCase() === 'telephone-event' && c.rate === 8000 && out.dtmfPt === undefined) out.dtmfPt = pt;
    if (c.name.toUpperCase() === 'CN' && c.rate === 8000 && out.cnPt === undefined) out.cnPt = pt;
  }
  return out;
}

/** Audio codecs the stand-in can "transcode" (rtp_use_codec_string PCMU,PCMA,OPUS,G722 narrowed to G.711). */
const SUPPORTED = ['PCMU', 'PCMA'];

/** The codec an offer is answered with: in the profile's order when greedy, else the offer's. */
export function chooseCodec(offer: SdpSummary, greedyPrefs: readonly string[] | null = null): SdpCodec | undefined {
  const usable = offer.codecs.filter((c) => SUPPORTED.includes(c.name.toUpperCase()) && c.rate === 8000);
  if (greedyPrefs) {
    for (const name of greedyPrefs) {
      const c = usable.find((u) => u.name.toUpperCase() === name);
      if (c) return c;
    }
  }
  return usable[0];
}

export interface LocalSdp {
  /** What goes in the SIP body. */
  wire: string;
  /** variable_rtp_local_sdp_str (FS adds a=sendrecv there but not on the wire, as the traces show). */
  localStr: string;
}

function origin(sessId: number, version: number, ip: string): string {
  return `o=Drachtio-Mediaserver ${sessId} ${version} IN IP4 ${ip}`;
}

/** Answer to an offer: the chosen codec, telephone-event when offered, ptime 20. */
export function buildAnswer(ip: string, port: number, sessId: number, version: number, codec: SdpCodec, dtmfPt?: number): LocalSdp {
  const pts = [codec.pt, ...(dtmfPt !== undefined ? [dtmfPt] : [])];
  const lines = [
    'v=0', origin(sessId, version, ip), 's=Drachtio-Mediaserver', `c=IN IP4 ${ip}`, 't=0 0',
    `m=audio ${port} RTP/AVP ${pts.join(' ')}`, `a=rtpmap:${codec.pt} ${codec.name}/${codec.rate}`,
  ];
  if (dtmfPt !== undefined) lines.push(`a=rtpmap:${dtmfPt} telephone-event/8000`, `a=fmtp:${dtmfPt} 0-16`);
  lines.push('a=ptime:20');
  const wire = lines.join('\r\n') + '\r\n';
  return { wire, localStr: wire + 'a=sendrecv\r\n' };
}

function cryptoKey(bytes: number): string {
  return randomBytes(bytes).toString('base64');
}

/**
 * The offer FS makes for an INVITE without SDP (3pcc, MediaServer#createEndpoint()): with
 * rtp_secure_media=optional it offers RTP/SAVP with crypto lines first, then the same codecs on RTP/AVP.
 */
export function buildOffer(ip: string, port: number, sessId: number, version: number): LocalSdp {
  const codecs = [
    'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:102 opus/48000/2',
    'a=fmtp:102 useinbandfec=1; maxaveragebitrate=30000; maxplaybackrate=48000; ptime=20; minptime=10; maxptime=40',
    'a=rtpmap:9 G722/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=rtpmap:13 CN/8000',
    'a=rtpmap:103 telephone-event/48000', 'a=fmtp:103 0-15', 'a=rtpmap:104 CN/48000',
  ];
  const suites: Array<[string, number]> = [
    ['AEAD_AES_256_GCM_8', 44], ['AEAD_AES_256_GCM', 44], ['AEAD_AES_128_GCM_8', 28], ['AEAD_AES_128_GCM', 28],
    ['AES_256_CM_HMAC_SHA1_80', 46], ['AES_192_CM_HMAC_SHA1_80', 38], ['AES_CM_128_HMAC_SHA1_80', 30],
    ['AES_256_CM_HMAC_SHA1_32', 46], ['AES_192_CM_HMAC_SHA1_32', 38], ['AES_CM_128_HMAC_SHA1_32', 30],
    ['AES_CM_128_NULL_AUTH', 30],
  ];
  const lines = [
    'v=0', origin(sessId, version, ip), 's=Drachtio-Mediaserver', `c=IN IP4 ${ip}`, 't=0 0',
    `m=audio ${port} RTP/SAVP 0 8 102 9 101 13 103 104`, ...codecs,
    ...suites.map(([s, n], i) => `a=crypto:${i + 1} ${s} inline:${cryptoKey(n)}`),
    'a=ptime:20',
    `m=audio ${port} RTP/AVP 0 8 102 9 101 13 103 104`, ...codecs, 'a=ptime:20',
  ];
  const wire = lines.join('\r\n') + '\r\n';
  return { wire, localStr: wire };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function token(n: number): string {
  return Array.from(randomBytes(n), (b) => ALNUM[b % ALNUM.length]).join('');
}

/** The stand-in's DTLS certificate fingerprint (FreeSWITCH's is that of <certs>/dtls-srtp.pem). */
const FINGERPRINT = Array.from(randomBytes(32), (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(':');

/**
 * FreeSWITCH 1.10.12's answer to a browser's offer, line for line as recorded
 * (traces/freeswitch/webrtc-freeswitch-answer.sdp): the chosen codec, telephone-event/8000 and CN
 * when offered, its certificate's fingerprint, the DTLS role the offer leaves it (actpass → active),
 * rtcp-mux when offered, fresh ICE credentials, one host candidate on the RTP address, and msid/ssrc.
 */
export function buildWebRtcAnswer(ip: string, port: number, sessId: number, version: number, codec: SdpCodec, offer: SdpSummary): LocalSdp {
  const w = offer.webrtc!;
  const msid = token(32);
  const ssrc = randomBytes(4).readUInt32BE(0);
  const pts = [codec.pt, ...(offer.dtmfPt !== undefined ? [offer.dtmfPt] : []), ...(offer.cnPt !== undefined ? [offer.cnPt] : [])];
  const lines = [
    'v=0', origin(sessId, version, ip), 's=Drachtio-Mediaserver', `c=IN IP4 ${ip}`, 't=0 0',
    `a=msid-semantic: WMS ${msid}`,
    `m=audio ${port} ${offer.proto} ${pts.join(' ')}`, `a=rtpmap:${codec.pt} ${codec.name}/${codec.rate}`,
    ...(offer.dtmfPt !== undefined ? [`a=rtpmap:${offer.dtmfPt} telephone-event/8000`] : []),
    ...(offer.cnPt !== undefined ? [`a=rtpmap:${offer.cnPt} CN/8000`] : []),
    'a=ptime:20',
    `a=fingerprint:sha-256 ${FINGERPRINT}`,
    `a=setup:${w.setup === 'active' ? 'passive' : 'active'}`,
    ...(w.rtcpMux ? ['a=rtcp-mux'] : []),
    `a=rtcp:${w.rtcpMux ? port : port + 1} IN IP4 ${ip}`,
    `a=ice-ufrag:${token(16)}`, `a=ice-pwd:${token(24)}`,
    `a=candidate:${1_000_000_000 + (randomBytes(4).readUInt32BE(0) % 9_000_000_000)} 1 udp 2130706431 ${ip} ${port} typ host generation 0`,
    'a=end-of-candidates',
    `a=ssrc:${ssrc} cname:${token(16)}`, `a=ssrc:${ssrc} msid:${msid} a0`, `a=ssrc:${ssrc} mslabel:${msid}`, `a=ssrc:${ssrc} label:${msid}a0`,
  ];
  const wire = lines.join('\r\n') + '\r\n';
  return { wire, localStr: wire };
}

const ANSWERING: Record<Exclude<SdpSummary['direction'], 'sendrecv'>, string> = { sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

/** The answer to an offer that is not sendrecv (a hold) says the matching direction; the only m= section is the last. */
export function answerDirection(local: LocalSdp, offered: SdpSummary['direction']): LocalSdp {
  if (offered === 'sendrecv') return local;
  const line = `a=${ANSWERING[offered]}\r\n`;
  return { wire: local.wire + line, localStr: local.localStr.replace(/a=sendrecv\r\n$/, '') + line };
}
