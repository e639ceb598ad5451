// The stand-in's answer to a browser's offer against the real one: Chromium 156's offer and
// FreeSWITCH 1.10.12's answer with the project's profile, recorded on the wire through the second
// real stack (test/traces/freeswitch/webrtc-*, README). Compared line by line by shape: the same
// lines in the same order, each value of the same form; only the origin/session names differ (the
// stand-in says Drachtio-Mediaserver, as it does for plain RTP).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile } from './freeswitch/profile.js';
import { buildAnswer, buildWebRtcAnswer, chooseCodec, parseSdp } from './freeswitch/sdp.js';

const TRACES = join(import.meta.dirname, '../traces/freeswitch');
const OFFER = readFileSync(join(TRACES, 'webrtc-chromium-offer.sdp'), 'utf8');
const REAL_ANSWER = readFileSync(join(TRACES, 'webrtc-freeswitch-answer.sdp'), 'utf8');

/** A line's shape: its type and attribute, values replaced by their form. */
function shape(line: string): string {
  if (/^[os]=/.test(line)) return line.slice(0, 2);
  return line
    .replace(/^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'a=fingerprint:sha-256 <32 bytes>')
    .replace(/^a=ice-ufrag:[A-Za-z0-9]{16}$/, 'a=ice-ufrag:<16>')
    .replace(/^a=ice-pwd:[A-Za-z0-9]{24}$/, 'a=ice-pwd:<24>')
    .replace(/^a=msid-semantic: WMS [A-Za-z0-9]{32}$/, 'a=msid-semantic: WMS <32>')
    .replace(/^a=candidate:\d{10} 1 udp 2130706431 127\.0\.0\.1 \d+ typ host generation 0$/, 'a=candidate:<10 digits> 1 udp 2130706431 <ip> <port> typ host generation 0')
    .replace(/^a=ssrc:\d+ cname:[A-Za-z0-9]{16}$/, 'a=ssrc:<n> cname:<16>')
    .replace(/^a=ssrc:\d+ (msid|mslabel|label):[A-Za-z0-9]{32}( ?a0)?$/, 'a=ssrc:<n> $1:<32>$2')
    .replace(/^m=audio \d+ /, 'm=audio <port> ')
    .replace(/^a=rtcp:\d+ IN IP4 127\.0\.0\.1$/, 'a=rtcp:<port> IN IP4 <ip>')
    .replace(/^c=IN IP4 127\.0\.0\.1$/, 'c=IN IP4 <ip>');
}
const shapes = (sdp: string): string[] => sdp.trim().split(/\r?\n/).map(shape);

describe('the FreeSWITCH stand-in answers a WebRTC offer as FreeSWITCH 1.10.12 does', () => {
  const offer = parseSdp(OFFER);
  const profile = loadProfile();

  it('reads the browser offer: UDP/TLS/RTP/SAVPF, DTLS actpass, ICE, rtcp-mux, telephone-event and CN', () => {
    expect(offer.proto).toBe('UDP/TLS/RTP/SAVPF');
    expect(offer.webrtc).toMatchObject({ setup: 'actpass', rtcpMux: true, iceUfrag: '4+1h', icePwd: 'd+1t/r5UGHVYvWeO/gftXckD' });
    expect(offer.webrtc!.fingerprint).toMatch(/^sha-256 /);
    expect(offer).toMatchObject({ dtmfPt: 126, cnPt: 13 });
  });

  it('picks PCMA like the real server: the profile is greedy (PCMA,PCMU), Chromium lists PCMU first', () => {
    expect(profile.greedyPrefs).toEqual(['PCMA', 'PCMU', 'TELEPHONE-EVENT']);
    expect(chooseCodec(offer, profile.greedyPrefs)?.name).toBe('PCMA');
    expect(chooseCodec(offer, null)?.name).toBe('PCMU');
    expect(/^m=audio \d+ \S+ (.*)$/m.exec(REAL_ANSWER)![1]).toBe('8 126 13');
  });

  it('gives the recorded answer line for line (shape), every value of the real form', () => {
    const ours = buildWebRtcAnswer('127.0.0.1', 32674, 1795775431, 1795775432, chooseCodec(offer, profile.greedyPrefs)!, offer);
    expect(shapes(ours.wire)).toEqual(shapes(REAL_ANSWER));
    // Every real line was understood by shape() (no stray value left to compare by accident).
    expect(shapes(REAL_ANSWER).filter((l) => /[0-9A-F]{2}:[0-9A-F]{2}:|[A-Za-z0-9]{24}/.test(l) && !l.startsWith('a=ssrc'))).toEqual([]);
    // Fresh ICE credentials and stream ids per answer, the same certificate fingerprint.
    const again = buildWebRtcAnswer('127.0.0.1', 32676, 1, 2, chooseCodec(offer, profile.greedyPrefs)!, offer);
    const attr = (sdp: string, a: string) => new RegExp(`^a=${a}:(.*)$`, 'm').exec(sdp)![1];
    expect(attr(again.wire, 'ice-ufrag')).not.toBe(attr(ours.wire, 'ice-ufrag'));
    expect(attr(again.wire, 'fingerprint')).toBe(attr(ours.wire, 'fingerprint'));
  });

  it('takes the role the offer leaves (RFC 5763 §5): an active browser gets setup:passive', () => {
    const active = parseSdp(OFFER.replace('a=setup:actpass', 'a=setup:active'));
    expect(buildWebRtcAnswer('127.0.0.1', 4000, 1, 2, chooseCodec(active, profile.greedyPrefs)!, active).wire).toMatch(/^a=setup:passive\r$/m);
  });

  it('a plain RTP offer is still answered on RTP/AVP, without DTLS or ICE', () => {
    const plain = parseSdp('v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n');
    expect(plain.webrtc).toBeUndefined();
    const codec = chooseCodec(plain, profile.greedyPrefs)!;
    expect(codec.name).toBe('PCMA');
    const wire = buildAnswer('127.0.0.1', 5000, 1, 2, codec, plain.dtmfPt).wire;
    expect(wire).toMatch(/^m=audio 5000 RTP\/AVP 8 101\r$/m);
    expect(wire).not.toMatch(/fingerprint|ice-ufrag|candidate/);
  });
});
