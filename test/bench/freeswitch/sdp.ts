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
}

const STATIC: Record<number, [string, number]> = { 0: ['PCMU', 8000], 8: ['PCMA', 8000], 9: ['G722', 8000], 13: ['CN', 8000], 18: ['G729', 8000] };

/** The first audio m-line of a body (the one FS negotiates on when it accepts the offer). */
export function parseSdp(body: string): SdpSummary {
  const lines = body.split(/\r?\n/);
  let sessionIp: string | undefined;
  let ip: string | undefined;
  let inAudio = false;
  let done = false;
  const out: SdpSummary = { codecs: [], direction: 'sendrecv' };
  const rtpmap = new Map<number, SdpCodec>();
  const fmtps = new Map<number, string>();
  let payloads: number[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inAudio) done = true;
      const m = /^m=audio (\d+) (\S+) (.*)$/.exec(line);
      if (m && !done && Number(m[1]) !== 0 && m[2] === 'RTP/AVP') {
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
  for (const pt of payloads) {
    const c = rtpmap.get(pt) ?? (STATIC[pt] ? { pt, name: STATIC[pt][0], rate: STATIC[pt][1] } : undefined);
    if (!c) continue;
    const fmtp = fmtps.get(pt);
    out.codecs.push(fmtp ? { ...c, fmtp } : c);
    if (c.name.toLowerCase() === 'telephone-event' && c.rate === 8000 && out.dtmfPt === undefined) out.dtmfPt = pt;
  }
  return out;
}

/** Audio codecs the stand-in can "transcode" (rtp_use_codec_string PCMU,PCMA,OPUS,G722 narrowed to G.711). */
const SUPPORTED = ['PCMU', 'PCMA'];

export function chooseCodec(offer: SdpSummary): SdpCodec | undefined {
  return offer.codecs.find((c) => SUPPORTED.includes(c.name.toUpperCase()) && c.rate === 8000);
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
