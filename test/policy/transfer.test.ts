// The transfer decision core (issue 13): what a Refer-To names, and whether a target may be reached.
import { describe, expect, it } from 'vitest';
import { decideTransfer, parseReferTo, sipfrag } from '../../src/policy/transfer.js';
import { beijing, ledger, seat, snapshot, tenant } from './fixtures.js';

const NOON = beijing('2026-03-10T12:00'); // a Tuesday, inside the fixture window
const ctx = { callId: 'c1', n: 1, seat: '1001', tenant: 'acme' };

describe('parseReferTo', () => {
  const cfg = snapshot();
  it.each([
    ['<sip:1002@dialgate.test>', { kind: 'seat', seat: '1002' }],
    ['sip:1002@10.0.0.1:5060;transport=udp', { kind: 'seat', seat: '1002' }],
    ['"Agent" <sip:1002@dialgate.test;user=phone>', { kind: 'seat', seat: '1002' }],
    ['<sip:13812345678@dialgate.test>', { kind: 'number', number: '13812345678' }],
    ['<tel:+8613812345678>', { kind: 'number', number: '+8613812345678' }],
    ['<sip:%2B8613812345678@dialgate.test>', { kind: 'number', number: '+8613812345678' }],
    ['<sip:1002@dialgate.test?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>', { kind: 'replaces' }],
  ])('reads %s', (value, expected) => {
    expect(parseReferTo(value, cfg)).toEqual(expected);
  });
  it('refuses a missing or userless Refer-To with a reason', () => {
    expect(parseReferTo(undefined, cfg)).toMatchObject({ kind: 'bad', why: 'no Refer-To header' });
    expect(parseReferTo('<sip:dialgate.test>', cfg)).toMatchObject({ kind: 'bad' });
    expect(parseReferTo('<http://example.com>', cfg)).toMatchObject({ kind: 'bad' });
  });
});

describe('decideTransfer', () => {
  it('allows a registered seat of the same tenant, at its contact', () => {
    expect(decideTransfer(ctx, { kind: 'seat', seat: '1002' }, snapshot(), 'sip:1002@10.0.0.2:5060', ledger(), NOON))
      .toEqual({ kind: 'seat', seat: '1002', contact: 'sip:1002@10.0.0.2:5060' });
  });

  it('refuses a seat that is not registered, of another tenant, or the transferor itself', () => {
    const cfg = snapshot({
      tenants: [tenant(), tenant({ id: 'other', account: 'other' })],
      seats: [seat(), seat({ id: '1002' }), seat({ id: '2001', tenant: 'other' })],
    });
    expect(decideTransfer(ctx, { kind: 'seat', seat: '1002' }, cfg, null, ledger(), NOON)).toMatchObject({ kind: 'deny', sipStatus: 480, reason: 'not-registered' });
    expect(decideTransfer(ctx, { kind: 'seat', seat: '2001' }, cfg, 'sip:2001@x', ledger(), NOON)).toMatchObject({ kind: 'deny', sipStatus: 404, reason: 'unknown-seat' });
    expect(decideTransfer(ctx, { kind: 'seat', seat: '1001' }, cfg, 'sip:1001@x', ledger(), NOON)).toMatchObject({ kind: 'deny', sipStatus: 403, reason: 'self-transfer' });
  });

  it('decides a number like a fresh call of the transferring seat: caller id, route, rate', () => {
    const d = decideTransfer(ctx, { kind: 'number', number: '13812345678' }, snapshot(), null, ledger(), NOON);
    expect(d.kind).toBe('number');
    if (d.kind !== 'number') return;
    expect(d.decision).toMatchObject({ callId: 'c1:xfer1', seatId: '1001', callerId: '01088886666', callee: { national: '13812345678' } });
    expect(d.decision.trunks.map((t) => t.trunkId)).toEqual(['ct-a', 'cu-b']);
  });

  it('refuses a number the policy refuses, with its status and Reason', () => {
    const night = beijing('2026-03-10T21:00');
    expect(decideTransfer(ctx, { kind: 'number', number: '13812345678' }, snapshot(), null, ledger(), night))
      .toMatchObject({ kind: 'deny', sipStatus: 403, reason: 'outside-window', reasonHeader: 'SIP ;cause=403 ;text="Outside dialing window"' });
    expect(decideTransfer(ctx, { kind: 'number', number: '13800000000' }, snapshot(), null, ledger(), NOON))
      .toMatchObject({ kind: 'deny', sipStatus: 403, reason: 'blacklisted' });
    expect(decideTransfer(ctx, { kind: 'number', number: '13812345678' }, snapshot(), null, ledger({ available: 0 }), NOON))
      .toMatchObject({ kind: 'deny', sipStatus: 402, reason: 'insufficient-balance' });
    expect(decideTransfer(ctx, { kind: 'number', number: '13812345678' }, snapshot(), null, ledger({ tenantActiveCalls: 99 }), NOON))
      .toMatchObject({ kind: 'deny', sipStatus: 486, reason: 'tenant-busy' });
  });
});

describe('sipfrag', () => {
  it('carries the status line and the Reason (RFC 3420)', () => {
    expect(sipfrag(200, 'OK')).toBe('SIP/2.0 200 OK\r\n');
    expect(sipfrag(403, 'Forbidden', 'SIP ;cause=403 ;text="Outside dialing window"'))
      .toBe('SIP/2.0 403 Forbidden\r\nReason: SIP ;cause=403 ;text="Outside dialing window"\r\n');
  });
});
