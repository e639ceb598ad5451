// Per-source limits before authentication: a burst passes, a flood gets its source banned for the
// ban window, scanners are dropped, known networks are never limited, memory stays bounded.
import { describe, expect, it } from 'vitest';
import { FloodGuard, DEFAULT_FLOOD_LIMITS } from '../../src/sip/flood-guard.js';
import { sameRequestUri } from '../../src/sip/authenticator.js';

const T0 = 1_000_000;

describe('flood guard', () => {
  it('lets a burst of twice the rate through, then bans the source for the ban window', () => {
    const g = new FloodGuard({ ...DEFAULT_FLOOD_LIMITS, invite: 5, banMs: 10_000 });
    const verdicts = Array.from({ length: 12 }, () => g.admit('INVITE', '198.51.100.1', 'Yealink', T0));
    expect(verdicts.slice(0, 10).every((v) => v === 'ok')).toBe(true);
    expect(verdicts[10]).toBe('limited');
    expect(verdicts[11]).toBe('banned');
    expect(g.admit('REGISTER', '198.51.100.1', 'Yealink', T0 + 9_999)).toBe('banned'); // every method
    expect(g.admit('INVITE', '198.51.100.2', 'Yealink', T0)).toBe('ok'); // other sources unaffected
    expect(g.bannedSources(T0 + 1)).toBe(1);
    // After the ban the bucket has refilled.
    expect(g.admit('INVITE', '198.51.100.1', 'Yealink', T0 + 10_001)).toBe('ok');
    expect(g.counters).toMatchObject({ bans: 1, limited: { invite: 1 } });
  });

  it('refills at the configured rate: a steady 5/s never trips a 5/s limit', () => {
    const g = new FloodGuard({ ...DEFAULT_FLOOD_LIMITS, invite: 5 });
    for (let i = 0; i < 500; i++) expect(g.admit('INVITE', '198.51.100.1', undefined, T0 + i * 200)).toBe('ok');
  });

  it('drops scanners by User-Agent, and never limits exempt (known) sources', () => {
    const g = new FloodGuard({ ...DEFAULT_FLOOD_LIMITS, options: 1 });
    expect(g.admit('OPTIONS', '203.0.113.9', 'friendly-scanner', T0)).toBe('scanner');
    expect(g.admit('REGISTER', '203.0.113.9', 'sipvicious 0.3', T0)).toBe('scanner');
    expect(g.counters.scannerDrops).toBe(2);
    for (let i = 0; i < 100; i++) expect(g.admit('OPTIONS', '192.0.2.1', 'carrier-sbc', T0, true)).toBe('ok');
  });

  it('forgets the least recently seen sources beyond its bound', () => {
    const g = new FloodGuard({ ...DEFAULT_FLOOD_LIMITS, invite: 1, maxSources: 100 });
    g.admit('INVITE', '10.0.0.1', undefined, T0);
    g.admit('INVITE', '10.0.0.1', undefined, T0);
    expect(g.admit('INVITE', '10.0.0.1', undefined, T0)).toBe('limited');
    for (let i = 0; i < 200; i++) g.admit('INVITE', `10.1.${i >> 8}.${i & 255}`, undefined, T0);
    expect(g.bannedSources(T0)).toBe(0); // 10.0.0.1 was evicted, its state with it
  });
});

describe('digest-uri binding', () => {
  it('equal when the same request URI, up to scheme/host case, default port and parameters', () => {
    expect(sameRequestUri('sip:13812345678@127.0.0.1:5060', 'sip:13812345678@127.0.0.1:5060')).toBe(true);
    expect(sameRequestUri('SIP:13812345678@Dialgate.Local', 'sip:13812345678@dialgate.local:5060;transport=udp')).toBe(true);
    expect(sameRequestUri('sip:13800000001@127.0.0.1:5060', 'sip:13812345678@127.0.0.1:5060')).toBe(false);
    expect(sameRequestUri('sip:127.0.0.1:5060', 'sip:13812345678@127.0.0.1:5060')).toBe(false); // no user: not this call
    expect(sameRequestUri('sips:1@h', 'sip:1@h')).toBe(false);
    expect(sameRequestUri('garbage', 'sip:1@h')).toBe(false);
  });
});
