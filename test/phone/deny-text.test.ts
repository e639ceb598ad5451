// The web phone's plain words for a refused call: dialgate's Reason header (policy/reasons.ts, as
// outbound-call.ts sends it) back to the deny reason, in Chinese and English; other responses by
// their status. And the credit-warning INFO the phone recognises.
import { describe, expect, it } from 'vitest';
import { plainWords, reasonText } from '../../phone/src/deny-text.js';
import { CREDIT_WARNING_TYPE, creditWarningInfo, viaIsWebSocket } from '../../src/calls/credit-warning-info.js';
import { DENY_REASONS, reasonHeader, type DenyReason } from '../../src/policy/reasons.js';

describe('plain words for a refused call', () => {
  it('every deny reason dialgate sends comes back as that reason, with Chinese and the server\'s English', () => {
    for (const [reason, d] of Object.entries(DENY_REASONS) as Array<[DenyReason, { sipStatus: number; text: string }]>) {
      const w = plainWords(d.sipStatus, reasonHeader(d.sipStatus, d.text));
      expect(w.reason, reason).toBe(reason);
      expect(w.en).toBe(d.text);
      expect(w.zh).toMatch(/[\u4e00-\u9fff]/);
      expect(w.status).toBe(d.sipStatus);
    }
    const zh = new Set(Object.entries(DENY_REASONS).map(([, d]) => plainWords(d.sipStatus, reasonHeader(d.sipStatus, d.text)).zh));
    expect(zh.size).toBeGreaterThan(20); // not one catch-all sentence
  });

  it('the 20:00 refusal reads as outside the dialing window', () => {
    expect(plainWords(403, 'SIP ;cause=403 ;text="Outside dialing window"')).toEqual({
      zh: '不在允许的外呼时段内', en: 'Outside dialing window', reason: 'outside-window', status: 403,
    });
  });

  it('reads the SIP Reason among several and tolerates spacing and case', () => {
    expect(reasonText('Q.850;cause=21;text="Call rejected", SIP;cause=403;text="Callee on do-not-call list"')).toBe('Callee on do-not-call list');
    expect(plainWords(403, 'sip; cause=403; TEXT = "outside dialing window"').reason).toBe('outside-window');
    expect(reasonText(undefined)).toBeUndefined();
    expect(reasonText('SIP;cause=200')).toBeUndefined();
  });

  it('a response without our Reason falls back to its status; a foreign text is kept in English', () => {
    expect(plainWords(486)).toMatchObject({ zh: '对方忙', en: 'Busy' });
    expect(plainWords(480)).toMatchObject({ zh: '对方暂时无法接通' });
    expect(plainWords(502)).toMatchObject({ zh: '服务暂时不可用' });
    expect(plainWords(403, 'SIP;cause=403;text="Carrier says no"')).toMatchObject({ zh: '呼叫被拒绝', en: 'Carrier says no', status: 403 });
    expect(plainWords(499).zh).toBe('呼叫失败');
  });
});

describe('credit-warning INFO', () => {
  it('goes only to caller legs that came over a WebSocket', () => {
    expect(viaIsWebSocket('SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1;received=1.2.3.4')).toBe(true);
    expect(viaIsWebSocket('SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bK1')).toBe(true);
    expect(viaIsWebSocket('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1')).toBe(false);
    expect(viaIsWebSocket('SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bK1')).toBe(false);
    expect(viaIsWebSocket(undefined)).toBe(false);
  });

  it('says how many seconds are left, in the type the phone looks for', () => {
    const r = creditWarningInfo(1.4);
    expect(r).toEqual({ method: 'INFO', headers: { 'Content-Type': CREDIT_WARNING_TYPE }, body: '{"event":"credit-warning","secondsLeft":1}' });
  });
});
