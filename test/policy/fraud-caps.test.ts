// Toll-fraud caps in the pure decision (issue 16 B): the counters come in with the ledger view,
// each cap has its own reason, SIP status and Reason header; emergency calls pass every cap.
import { describe, expect, it } from 'vitest';
import { decideOutbound } from '../../src/policy/decideOutbound.js';
import type { Deny, FraudView } from '../../src/policy/types.js';
import { beijing, call, ledger, snapshot, tenant } from './fixtures.js';

const NOON = beijing('2026-03-10T12:00');
const QUIET: FraudView = { callsThisSecond: 0, calleeAttemptsToday: 0, spentThisHour: 0, spentToday: 0 };
const CAPS = { maxCallsPerSecond: 5, maxSpendPerHour: 100_000, maxSpendPerDay: 500_000, maxAttemptsPerCalleePerDay: 3 };

function decide(fraud: Partial<FraudView>, to = '13812345678') {
  return decideOutbound(call({ to }), snapshot({ tenants: [tenant(CAPS)] }), ledger({ fraud: { ...QUIET, ...fraud } }), NOON);
}

describe('toll-fraud caps', () => {
  it('allows a call under every cap, and says so in the trace', () => {
    const d = decide({ callsThisSecond: 4, spentThisHour: 99_999, spentToday: 499_999, calleeAttemptsToday: 2 });
    expect(d.kind).toBe('allow');
    expect(d.trace.find((t) => t.step === 'fraud')?.outcome).toBe('pass');
  });

  it.each([
    [{ callsThisSecond: 5 }, 'calls-per-second', 503, 'Call rate limit reached'],
    [{ spentThisHour: 100_000 }, 'spend-per-hour', 403, 'Hourly spend limit reached'],
    [{ spentToday: 500_000 }, 'spend-per-day', 403, 'Daily spend limit reached'],
    [{ calleeAttemptsToday: 3 }, 'callee-attempts', 403, 'Daily attempts to this number reached'],
  ] as const)('%o → %s (%i)', (fraud, reason, status, text) => {
    const d = decide(fraud) as Deny;
    expect(d.kind).toBe('deny');
    expect(d.reason).toBe(reason);
    expect(d.sipStatus).toBe(status);
    expect(d.reasonHeader).toBe(`SIP ;cause=${status} ;text="${text}"`);
  });

  it('lets an emergency call through every cap', () => {
    expect(decide({ callsThisSecond: 99, spentThisHour: 10_000_000, calleeAttemptsToday: 99 }, '110').kind).toBe('allow');
  });

  it('applies no cap the tenant does not set', () => {
    const d = decideOutbound(call(), snapshot(), ledger({ fraud: { ...QUIET, callsThisSecond: 1000, spentToday: 10_000_000 } }), NOON);
    expect(d.kind).toBe('allow');
  });
});

