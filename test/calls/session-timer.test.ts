// RFC 4028 negotiation and the moment a leg torn down by its session timer stopped being billed.
import { describe, expect, it } from 'vitest';
import { answerTimer, knownDeadAt, offerHeaders, parseSessionExpires, retryAfter422, uacTimer } from '../../src/calls/session-timer.js';

const ST = { seconds: 1800, minSeconds: 90 };
const req = (h: Record<string, string>) => ({ get: (n: string) => h[n] });

describe('session timer negotiation', () => {
  it('offers to refresh on the INVITEs we send', () => {
    expect(offerHeaders(ST)).toEqual({ Supported: 'timer', 'Session-Expires': '1800;refresher=uac', 'Min-SE': '90' });
  });

  it('refuses a timer-capable caller offering less than our Min-SE with 422', () => {
    expect(answerTimer(req({ Supported: 'timer, 100rel', 'Session-Expires': '60' }), ST)).toEqual({ kind: 'reject', minSe: 90 });
  });

  it('refreshes the leg itself unless the caller asked to, never below either Min-SE', () => {
    expect(answerTimer(req({}), ST)).toMatchObject({ kind: 'answer', headers: { 'Session-Expires': '1800;refresher=uas' }, timer: { seconds: 1800, weRefresh: true } });
    expect(answerTimer(req({ Supported: 'timer', 'Session-Expires': '600;refresher=uac', 'Min-SE': '120' }), ST))
      .toMatchObject({ headers: { 'Session-Expires': '600;refresher=uac', Require: 'timer' }, timer: { seconds: 600, weRefresh: false } });
    // An old phone offering an interval without supporting timers is not refused; we raise it.
    expect(answerTimer(req({ 'Session-Expires': '30' }), ST)).toMatchObject({ timer: { seconds: 90, weRefresh: true } });
  });

  it('reads the far end\'s 200; bad headers are no timer, not a crash', () => {
    expect(uacTimer(req({ 'Session-Expires': '900;refresher=uas' }))).toEqual({ seconds: 900, weRefresh: false });
    expect(uacTimer(req({ 'Session-Expires': '900' }))).toEqual({ seconds: 900, weRefresh: true });
    expect(uacTimer(req({ 'Session-Expires': 'soon' }))).toBeNull();
    expect(parseSessionExpires('1800 ; refresher = UAC')).toEqual({ seconds: 1800, refresher: 'uac' });
  });
});

describe('422 Session Interval Too Small from the far end (RFC 4028 §8.2)', () => {
  const sent = { ...offerHeaders(ST), From: '<sip:01088886601@dialgate.test>', 'P-Asserted-Identity': '<sip:01088886601@dialgate.test>' };
  it('retries with Session-Expires and Min-SE raised to its Min-SE, the other headers kept', () => {
    expect(retryAfter422(sent, req({ 'Min-SE': '3600' }))).toEqual({ ...sent, 'Session-Expires': '3600;refresher=uac', 'Min-SE': '3600' });
  });
  it('does not retry without a usable Min-SE, one we already met, or an INVITE that offered no timer', () => {
    expect(retryAfter422(sent, req({}))).toBeNull();
    expect(retryAfter422(sent, req({ 'Min-SE': 'lots' }))).toBeNull();
    expect(retryAfter422(sent, req({ 'Min-SE': '1800' }))).toBeNull();
    expect(retryAfter422({ From: sent.From }, req({ 'Min-SE': '3600' }))).toBeNull();
  });
});

describe('known dead at', () => {
  const answer = 1_000_000;
  it('the peer refreshing: the expiry (now)', () => {
    expect(knownDeadAt(answer + 95_000, answer, { seconds: 90, weRefresh: false })).toBe(answer + 95_000);
  });
  it('we refreshing: the refresh that failed, whether it timed out (Timer B) or was refused at once', () => {
    expect(knownDeadAt(answer + 900_000 + 32_000, answer, { seconds: 1800, weRefresh: true })).toBe(answer + 900_000);
    expect(knownDeadAt(answer + 900_050, answer, { seconds: 1800, weRefresh: true })).toBe(answer + 900_000);
  });
});
