import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseMedia, viaTransport, webRtcSignal } from '../../src/policy/media-mode.js';

const CHROMIUM = readFileSync(join(import.meta.dirname, '../traces/freeswitch/webrtc-chromium-offer.sdp'), 'utf8');
const SIPP = 'v=0\r\no=user1 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\n';

describe('which seat legs are WebRTC', () => {
  it('a browser offer (recorded from Chromium) is; a softphone offer is not', () => {
    expect(webRtcSignal(CHROMIUM, 'udp')).toBe('savpf-offer');
    expect(webRtcSignal(SIPP, 'udp')).toBeNull();
    expect(webRtcSignal(SIPP.replace('RTP/AVP', 'RTP/SAVPF'), null)).toBe('savpf-offer');
  });

  it('DTLS with ICE on another profile name counts; SDES-SRTP (RTP/SAVP with crypto) does not', () => {
    const dtls = SIPP.replace('RTP/AVP', 'RTP/SAVP') + 'a=fingerprint:sha-256 AB:CD\r\na=ice-ufrag:abcd\r\n';
    expect(webRtcSignal(dtls, 'udp')).toBe('dtls-ice-offer');
    expect(webRtcSignal(dtls.replace('a=ice-ufrag:abcd\r\n', ''), 'udp')).toBeNull();
    expect(webRtcSignal(SIPP.replace('RTP/AVP', 'RTP/SAVP') + 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n', 'udp')).toBeNull();
  });

  it('a seat on SIP over WebSocket counts even without an offer (late offer)', () => {
    expect(webRtcSignal(undefined, 'ws')).toBe('websocket-transport');
    expect(webRtcSignal('', 'WSS')).toBe('websocket-transport');
    expect(webRtcSignal(undefined, 'tcp')).toBeNull();
    expect(viaTransport('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK7;rport=50412')).toBe('wss');
    expect(viaTransport('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1, SIP/2.0/WS x.invalid')).toBe('udp');
    expect(viaTransport(undefined)).toBeNull();
  });
});

describe('the media path', () => {
  const base = { recordingRequired: false, recording: true, webrtc: null } as const;

  it('a WebRTC leg is anchored on a direct route and must be (no direct fallback); the note says why', () => {
    expect(chooseMedia({ ...base, route: 'direct', webrtc: 'savpf-offer' })).toEqual({ anchor: true, mustAnchor: true, note: 'anchored: WebRTC seat (route media: direct overridden)' });
    expect(chooseMedia({ ...base, route: 'anchored', webrtc: 'websocket-transport' })).toEqual({ anchor: true, mustAnchor: true, note: 'anchored: WebRTC seat' });
  });

  it('other legs follow the route, or recording: required', () => {
    expect(chooseMedia({ ...base, route: 'anchored' })).toEqual({ anchor: true, mustAnchor: false, note: null });
    expect(chooseMedia({ ...base, route: 'direct' })).toEqual({ anchor: false, mustAnchor: false, note: 'not recorded: the route is media: direct' });
    expect(chooseMedia({ ...base, route: 'direct', recording: false })).toEqual({ anchor: false, mustAnchor: false, note: null });
    expect(chooseMedia({ ...base, route: 'direct', recordingRequired: true })).toEqual({ anchor: true, mustAnchor: false, note: null });
  });
});
