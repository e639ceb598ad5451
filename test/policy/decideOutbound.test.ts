import { describe, expect, it } from 'vitest';
import { decideOutbound } from '../../src/policy/decideOutbound.js';
import type { Allow, Decision, Deny } from '../../src/policy/types.js';
import {
  beijing, blacklist, call, ledger, rate, seat, snapshot, tenant, trunk, window,
} from './fixtures.js';

const NOON = beijing('2026-03-10T12:00'); // a Tuesday

function allowed(d: Decision): Allow {
  if (d.kind !== 'allow') throw new Error(`denied ${d.reason}: ${d.detail}`);
  return d;
}

function denied(d: Decision): Deny {
  if (d.kind !== 'deny') throw new Error('allowed');
  return d;
}

describe('decideOutbound', () => {
  it('allows a call inside the window and traces every step', () => {
    const d = allowed(decideOutbound(call({ to: '+86 138-1234-5678' }), snapshot(), ledger(), NOON));
    expect(d).toMatchObject({
      emergency: false,
      callerId: '01088886666',
      callee: { national: '13812345678', class: 'mobile' },
      routeId: 'default',
      media: 'anchored',
      recording: true,
      rate: { ratePerMinute: 1300 },
      maxDurationSeconds: 46_140, // 100 yuan at 0.13 yuan per minute: 769 whole minutes
      configVersion: 'test',
    });
    expect(d.trunks).toEqual([
      { trunkId: 'ct-a', requestUri: 'sip:13812345678@ct-a.carrier.example:5060', callerId: '01088886666' },
      { trunkId: 'cu-b', requestUri: 'sip:913812345678@cu-b.carrier.example:5060', callerId: '01088886666' },
    ]);
    expect(d.trace.map((t) => t.step)).toEqual([
      'tenant', 'number', 'emergency', 'window', 'scope', 'blacklist', 'caller-id', 'concurrency', 'route', 'balance',
    ]);
    expect(d.trace.every((t) => t.outcome === 'pass')).toBe(true);
  });

  describe('tenant', () => {
    it('denies a suspended tenant with 403', () => {
      const d = denied(decideOutbound(call(), snapshot({ tenants: [tenant({ status: 'suspended' })] }), ledger(), NOON));
      expect(d).toMatchObject({ reason: 'tenant-suspended', sipStatus: 403, reasonHeader: 'SIP ;cause=403 ;text="Service suspended"' });
      expect(d.trace).toEqual([{ step: 'tenant', outcome: 'deny', detail: 'tenant acme is suspended' }]);
    });

    it('an account in arrears is suspended until paid, a closed one refused as closed (001 §6); emergency calls still pass', () => {
      const since = beijing('2026-03-01T00:10');
      const owing = ledger({ standing: { status: 'active', arrears: 3_200_000, arrearsSince: since } });
      const d = denied(decideOutbound(call(), snapshot(), owing, NOON));
      expect(d).toMatchObject({ reason: 'tenant-suspended', sipStatus: 403, reasonHeader: 'SIP ;cause=403 ;text="Service suspended"' });
      expect(d.detail).toBe('account acct-acme owes 320.00 yuan arrears since 2026-03-01: suspended until paid (001 §6)');
      const closed = denied(decideOutbound(call(), snapshot(), ledger({ standing: { status: 'closed', arrears: 3_300_000, arrearsSince: since } }), NOON));
      expect(closed).toMatchObject({ reason: 'tenant-closed', sipStatus: 403, reasonHeader: 'SIP ;cause=403 ;text="Service terminated"', detail: 'account acct-acme is closed, owing 330.00 yuan' });
      expect(denied(decideOutbound(call(), snapshot(), ledger({ standing: { status: 'suspended', arrears: 0, arrearsSince: null } }), NOON)).reason).toBe('tenant-suspended');
      // paid up: in service again
      expect(decideOutbound(call(), snapshot(), ledger({ standing: { status: 'active', arrears: 0, arrearsSince: null } }), NOON).kind).toBe('allow');
      const sos = allowed(decideOutbound(call({ to: '120' }), snapshot(), owing, NOON));
      expect(sos.trace[0]).toMatchObject({ step: 'tenant', outcome: 'skip' });
    });

    it('applies the validity period as local dates, end exclusive', () => {
      const cfg = snapshot({ tenants: [tenant({ validFrom: '2026-01-01', validUntil: '2027-01-01' })] });
      expect(decideOutbound(call(), cfg, ledger(), beijing('2026-12-31T12:00')).kind).toBe('allow');
      expect(denied(decideOutbound(call(), cfg, ledger(), beijing('2027-01-01T12:00'))).reason).toBe('tenant-expired');
      expect(denied(decideOutbound(call(), cfg, ledger(), beijing('2025-12-31T12:00'))).reason).toBe('tenant-not-yet-valid');
      // 2027-01-01 00:30 Beijing is still 2026 in UTC: the tenant's zone decides.
      expect(denied(decideOutbound(call(), cfg, ledger(), beijing('2027-01-01T00:30'))).reason).toBe('tenant-expired');
    });

    it('denies a seat of another tenant', () => {
      const d = denied(decideOutbound(call({ tenantId: 'other' }), snapshot(), ledger(), NOON));
      expect(d).toMatchObject({ reason: 'unknown-seat', sipStatus: 403 });
    });
  });

  it('denies a malformed number with 484', () => {
    const d = denied(decideOutbound(call({ to: '138123' }), snapshot(), ledger(), NOON));
    expect(d).toMatchObject({ reason: 'malformed-number', sipStatus: 484, callee: null });
    expect(d.trace.at(-1)?.step).toBe('number');
  });

  describe('dialing window (004 §3.2)', () => {
    it('denies 20:00 Beijing time with 403', () => {
      const d = denied(decideOutbound(call(), snapshot(), ledger(), beijing('2026-03-10T20:00')));
      expect(d).toMatchObject({ reason: 'outside-window', sipStatus: 403, reasonHeader: 'SIP ;cause=403 ;text="Outside dialing window"' });
      expect(d.detail).toContain('2026-03-10T20:00:00+08:00');
      expect(d.callee?.national).toBe('13812345678');
    });

    it('closes statutory holidays and opens make-up working days when configured', () => {
      const day = [{ start: '08:00', end: '19:30' }];
      const cfg = snapshot({
        tenants: [tenant({ window: window({ weekly: { mon: day, tue: day, wed: day, thu: day, fri: day }, holidays: 'cn-statutory' }) })],
      });
      const holiday = denied(decideOutbound(call(), cfg, ledger(), beijing('2026-10-01T10:00')));
      expect(holiday.reason).toBe('outside-window');
      expect(holiday.detail).toContain('National Day');
      expect(decideOutbound(call(), cfg, ledger(), beijing('2026-09-20T10:00')).kind).toBe('allow'); // Sunday, 调休
      expect(denied(decideOutbound(call(), cfg, ledger(), beijing('2026-09-13T10:00'))).reason).toBe('outside-window');
    });

    it('does not restrict a tenant without a window', () => {
      const cfg = snapshot({ tenants: [tenant({ window: undefined })] });
      expect(decideOutbound(call(), cfg, ledger(), beijing('2026-03-10T23:00')).kind).toBe('allow');
    });
  });

  describe('scope (004 §6.3)', () => {
    it('denies premium and international numbers unless allowed', () => {
      for (const to of ['16812345678', '12590123', '+44 20 7946 0958']) {
        expect(denied(decideOutbound(call({ to }), snapshot(), ledger(), NOON))).toMatchObject({ reason: 'out-of-scope', sipStatus: 403 });
      }
      const cfg = snapshot({
        tenants: [tenant({ allowedClasses: ['mobile', 'international'] })],
        tariffs: [{ id: 'telesales', rates: [rate(), rate({ class: 'international', ratePerMinute: 20_000 })] }],
      });
      const d = allowed(decideOutbound(call({ to: '+44 20 7946 0958' }), cfg, ledger(), NOON));
      expect(d.rate?.ratePerMinute).toBe(20_000);
      expect(d.trunks[0]?.requestUri).toBe('sip:00442079460958@ct-a.carrier.example:5060');
    });
  });

  describe('blacklist', () => {
    it.each([
      ['13800000000', 'global blacklist: 13800000000'],
      ['+86 138 0000 0000', 'global blacklist: 13800000000'],
      ['010-66661234', 'global blacklist: 0106666*'],
      ['13900000000', 'tenant blacklist: 13900000000'],
      ['17001234567', 'tenant blacklist: 1700*'],
    ])('denies %s', (to, detail) => {
      const d = denied(decideOutbound(call({ to }), snapshot(), ledger(), NOON));
      expect(d).toMatchObject({ reason: 'blacklisted', sipStatus: 403, detail });
    });

    it('plays the tenant announcement when one is configured', () => {
      const cfg = snapshot({ tenants: [tenant({ announcements: { blacklisted: 'dnc.wav' } })] });
      expect(denied(decideOutbound(call({ to: '13900000000' }), cfg, ledger(), NOON)).announcement).toBe('dnc.wav');
    });
  });

  describe('caller id (004 §2.2)', () => {
    it('denies an unowned caller id when the policy is deny', () => {
      const d = denied(decideOutbound(call({ from: '02112345678' }), snapshot(), ledger(), NOON));
      expect(d).toMatchObject({ reason: 'caller-id-not-owned', sipStatus: 403 });
    });

    it('replaces an unowned caller id with the seat number when the policy is replace', () => {
      const cfg = snapshot({ tenants: [tenant({ callerIdPolicy: 'replace' })] });
      const d = allowed(decideOutbound(call({ from: '02112345678' }), cfg, ledger(), NOON));
      expect(d.callerId).toBe('01088886666');
      expect(d.trace.find((t) => t.step === 'caller-id')).toMatchObject({ outcome: 'replace' });
    });

    it('accepts pool numbers in any form and defaults when the seat sends its username', () => {
      expect(allowed(decideOutbound(call({ from: '+86 10 8888 6667' }), snapshot(), ledger(), NOON)).callerId).toBe('01088886667');
      expect(allowed(decideOutbound(call({ from: '1001' }), snapshot(), ledger(), NOON)).callerId).toBe('01088886666');
      // Seat 1002 has no bound number: the first pool number.
      expect(allowed(decideOutbound(call({ seatId: '1002', from: '1002' }), snapshot(), ledger(), NOON)).callerId).toBe('01088886666');
    });

    it('uses a trunk caller id where the carrier requires one', () => {
      const cfg = snapshot({ trunks: [trunk({ id: 'ct-a', callerId: '4008001234' }), trunk({ id: 'cu-b' })] });
      const d = allowed(decideOutbound(call(), cfg, ledger(), NOON));
      expect(d.trunks.map((t) => t.callerId)).toEqual(['4008001234', '01088886666']);
    });
  });

  describe('concurrency', () => {
    it('denies a tenant with all ports in use with 486', () => {
      const d = denied(decideOutbound(call(), snapshot(), ledger({ tenantActiveCalls: 10 }), NOON));
      expect(d).toMatchObject({ reason: 'tenant-busy', sipStatus: 486 });
      expect(decideOutbound(call(), snapshot(), ledger({ tenantActiveCalls: 9 }), NOON).kind).toBe('allow');
    });

    it('skips full trunks and answers 503 when none is left', () => {
      const cfg = snapshot({ trunks: [trunk({ id: 'ct-a', maxConcurrent: 5 }), trunk({ id: 'cu-b', maxConcurrent: 5 })] });
      const oneFull = allowed(decideOutbound(call(), cfg, ledger({ trunkActiveCalls: new Map([['ct-a', 5]]) }), NOON));
      expect(oneFull.trunks.map((t) => t.trunkId)).toEqual(['cu-b']);
      expect(oneFull.trace.find((t) => t.step === 'route')?.detail).toContain('skipped ct-a full 5/5');
      const bothFull = denied(decideOutbound(call(), cfg, ledger({ trunkActiveCalls: new Map([['ct-a', 5], ['cu-b', 7]]) }), NOON));
      expect(bothFull).toMatchObject({ reason: 'trunks-full', sipStatus: 503 });
    });
  });

  describe('balance (issue 4 §3)', () => {
    it('denies below one initial increment with 402', () => {
      expect(denied(decideOutbound(call(), snapshot(), ledger({ available: 1299 }), NOON))).toMatchObject({
        reason: 'insufficient-balance', sipStatus: 402, reasonHeader: 'SIP ;cause=402 ;text="Insufficient balance"',
      });
      expect(allowed(decideOutbound(call(), snapshot(), ledger({ available: 1300 }), NOON)).maxDurationSeconds).toBe(60);
      expect(denied(decideOutbound(call(), snapshot(), ledger({ available: 0 }), NOON)).reason).toBe('insufficient-balance');
    });

    it('denies a destination the tariff does not price', () => {
      const cfg = snapshot({ tariffs: [{ id: 'telesales', rates: [rate({ class: 'mobile' })] }] });
      expect(denied(decideOutbound(call({ to: '010-12345678' }), cfg, ledger(), NOON)).reason).toBe('no-rate');
    });
  });

  describe('emergency numbers', () => {
    it('are allowed outside the window, over the port limit, with no balance, for a suspended tenant, and never rated', () => {
      const cfg = snapshot({ tenants: [tenant({ status: 'suspended', allowedClasses: ['mobile'] })] });
      const d = allowed(decideOutbound(call({ to: '110', from: '02112345678' }), cfg,
        ledger({ available: 0, tenantActiveCalls: 99 }), beijing('2026-10-01T23:00')));
      expect(d).toMatchObject({ emergency: true, rate: null, maxDurationSeconds: null, callee: { class: 'emergency' } });
      expect(d.callerId).toBe('01088886666'); // unowned caller id replaced even under the deny policy
      expect(d.trace.filter((t) => t.outcome === 'skip').map((t) => t.step)).toEqual(
        ['tenant', 'window', 'scope', 'blacklist', 'concurrency', 'balance'],
      );
    });

    it('still try full trunks, after the others', () => {
      const cfg = snapshot({ trunks: [trunk({ id: 'ct-a', maxConcurrent: 1 }), trunk({ id: 'cu-b', maxConcurrent: 1 })] });
      const d = allowed(decideOutbound(call({ to: '120' }), cfg, ledger({ trunkActiveCalls: new Map([['ct-a', 1], ['cu-b', 1]]) }), NOON));
      expect(d.trunks.map((t) => t.trunkId)).toEqual(['ct-a', 'cu-b']);
    });

    it('need a route', () => {
      const cfg = snapshot({ routes: [{ id: 'mobiles', priority: 1, match: { classes: ['mobile'] }, trunks: [{ trunk: 'ct-a', weight: 1 }], media: 'anchored' }] });
      expect(denied(decideOutbound(call({ to: '119' }), cfg, ledger(), NOON))).toMatchObject({ reason: 'no-route', sipStatus: 404 });
    });
  });

  describe('routing', () => {
    const trunks = [trunk({ id: 'ct-a' }), trunk({ id: 'cu-b' }), trunk({ id: 'cm-c' }), trunk({ id: 'gd', prefix: '0086', strip: 1 })];

    it('takes the first matching route by priority: prefix, class, region, tenant', () => {
      const cfg = snapshot({
        trunks,
        routes: [
          { id: 'catch-all', priority: 100, match: {}, trunks: [{ trunk: 'ct-a', weight: 1 }], media: 'anchored' },
          { id: 'guangdong', priority: 10, match: { regions: ['广东'] }, trunks: [{ trunk: 'gd', weight: 1 }], media: 'direct' },
          { id: 'premium-tenant', priority: 5, match: { tenants: ['other'] }, trunks: [{ trunk: 'cm-c', weight: 1 }], media: 'anchored' },
          { id: 'service', priority: 20, match: { prefixes: ['95'], classes: ['service'] }, trunks: [{ trunk: 'cu-b', weight: 1 }], media: 'anchored' },
        ],
      });
      const gd = allowed(decideOutbound(call({ to: '0755 8888 6666' }), cfg, ledger(), NOON));
      expect(gd).toMatchObject({ routeId: 'guangdong', media: 'direct' });
      expect(gd.trunks[0]?.requestUri).toBe('sip:008675588886666@gd.carrier.example:5060'); // strip 0, add 0086
      expect(allowed(decideOutbound(call({ to: '95588' }), cfg, ledger(), NOON)).routeId).toBe('service');
      expect(allowed(decideOutbound(call({ to: '13812345678' }), cfg, ledger(), NOON)).routeId).toBe('catch-all');
    });

    it('orders tiers by priority and shares a tier by weight, the same way for the same call id', () => {
      const cfg = snapshot({
        trunks,
        routes: [{
          id: 'weighted', priority: 1, media: 'anchored', match: {},
          trunks: [{ trunk: 'ct-a', weight: 3, priority: 1 }, { trunk: 'cu-b', weight: 1, priority: 1 }, { trunk: 'cm-c', weight: 1, priority: 2 }],
        }],
      });
      const first = new Map<string, number>();
      for (let i = 0; i < 4000; i++) {
        const d = allowed(decideOutbound(call({ callId: `c${i}@host` }), cfg, ledger(), NOON));
        const ids = d.trunks.map((t) => t.trunkId);
        expect(ids[2]).toBe('cm-c');
        expect(new Set(ids).size).toBe(3);
        first.set(ids[0]!, (first.get(ids[0]!) ?? 0) + 1);
      }
      expect((first.get('ct-a') ?? 0) / 4000).toBeGreaterThan(0.7);
      expect((first.get('ct-a') ?? 0) / 4000).toBeLessThan(0.8);
      const again = () => allowed(decideOutbound(call({ callId: 'same' }), cfg, ledger(), NOON)).trunks.map((t) => t.trunkId);
      expect(again()).toEqual(again());
    });

    it('denies with 404 when no route matches', () => {
      const cfg = snapshot({ routes: [{ id: 'mobiles', priority: 1, match: { classes: ['mobile'] }, trunks: [{ trunk: 'ct-a', weight: 1 }], media: 'anchored' }] });
      expect(denied(decideOutbound(call({ to: '010-12345678' }), cfg, ledger(), NOON)).reason).toBe('no-route');
    });
  });

  it('is pure: the same inputs give the same decision', () => {
    const cfg = snapshot({ blacklist: blacklist([], []), seats: [seat()] });
    expect(decideOutbound(call(), cfg, ledger(), NOON)).toEqual(decideOutbound(call(), cfg, ledger(), NOON));
  });

  describe('faults (issue 16)', () => {
    it('Redis unavailable: 503 ledger-unavailable for a normal call, an emergency call still allowed', () => {
      const down = { ...ledger(), unavailable: true };
      const d = denied(decideOutbound(call(), snapshot(), down, NOON));
      expect(d).toMatchObject({ reason: 'ledger-unavailable', sipStatus: 503 });
      expect(d.trace.at(-1)).toMatchObject({ step: 'balance', outcome: 'deny' });
      expect(allowed(decideOutbound(call({ to: '110' }), snapshot(), down, beijing('2026-03-10T23:00'))).emergency).toBe(true);
    });

    it('a body that is not SDP is 415, SDP without audio 488; none (late offer) and SDP pass', () => {
      expect(denied(decideOutbound(call({ body: 'other' }), snapshot(), ledger(), NOON))).toMatchObject({ reason: 'unsupported-body', sipStatus: 415 });
      expect(denied(decideOutbound(call({ body: 'bad-sdp' }), snapshot(), ledger(), NOON))).toMatchObject({ reason: 'unusable-sdp', sipStatus: 488 });
      expect(decideOutbound(call({ body: 'none' }), snapshot(), ledger(), NOON).kind).toBe('allow');
      expect(decideOutbound(call({ body: 'sdp' }), snapshot(), ledger(), NOON).kind).toBe('allow');
    });
  });
});
