// The pure agent-state core: every transition of the table, and the config's wrap-up seconds.
import { describe, expect, it } from 'vitest';
import { agentState, applyEvent, EMPTY_RECORD, wrapUpSecondsOf } from '../../src/agents/agent-state.js';
import { at, TABLE, type Check } from './transitions.js';

describe('agent state transitions', () => {
  for (const row of TABLE) {
    it(row.name, () => {
      let rec = EMPTY_RECORD;
      const check = ([t, state, since]: Check) => {
        const v = agentState(rec, row.wrapUp, at(t));
        expect([t, v.state, v.since === null ? null : (v.since - at(0)) / 1000]).toEqual([t, state, since]);
      };
      for (const e of row.events) {
        if (Array.isArray(e)) check(e);
        else rec = applyEvent(rec, e);
      }
      row.expect.forEach(check);
    });
  }

  it('a wrap-up shows when it ends; a reload to a shorter wrap-up frees the seat at once', () => {
    const rec = [
      { kind: 'call-start' as const, callId: 'c1', at: at(0), until: at(3600) },
      { kind: 'call-end' as const, callId: 'c1', at: at(60), talked: true },
    ].reduce(applyEvent, EMPTY_RECORD);
    expect(agentState(rec, 60, at(70))).toMatchObject({ state: 'wrap-up', wrapUpUntil: at(120) });
    expect(agentState(rec, 5, at(70))).toMatchObject({ state: 'available', since: at(65) });
  });

  it('wrapUpSeconds: the seat\'s own, else its tenant\'s, else 0', () => {
    const cfg = {
      seats: new Map([['1001', { tenant: 't', wrapUpSeconds: 5 }], ['1002', { tenant: 't' }], ['1003', { tenant: 'u' }]]),
      tenants: new Map([['t', { wrapUpSeconds: 20 }], ['u', {}]]),
    };
    expect(['1001', '1002', '1003', 'nobody'].map((s) => wrapUpSecondsOf(cfg, s))).toEqual([5, 20, 0, 0]);
  });
});
