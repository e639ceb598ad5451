// FreeSWITCH's own words read into figures (src/media/freeswitch-status.ts), from what FreeSWITCH
// 1.10.12 sent in test/traces/freeswitch/watcher-orphan-inbound-esl.txt.
import { describe, expect, it } from 'vitest';
import { getvarValue, loadFromHeartbeat, parseChannelList, parseStatus } from '../../src/media/freeswitch-status.js';
import { connApi, connEvents, readTrace } from '../bench/freeswitch-traces.js';

const TRACE = readTrace('watcher-orphan-inbound-esl.txt');
const api = connApi(TRACE, 1);

describe('FreeSWITCH status and load', () => {
  it('reads the recorded `status` reply: uptime, sessions, sessions per second, limit, idle CPU, version', () => {
    const text = api.find((a) => a.command === 'api status')!.body;
    const up = /^UP 0 years, 0 days, 0 hours, (\d+) minutes?, (\d+) seconds?, (\d+) milliseconds?/.exec(text)!;
    const load = parseStatus(text)!;
    expect(load.uptimeMs).toBe((Number(up[1]) * 60 + Number(up[2])) * 1000 + Number(up[3]));
    expect(load).toMatchObject({ sessions: 0, maxSessions: 1000, sessionsPerSecond: 0, version: '1.10.12-release' });
    expect(load.idleCpu).toBe(Number(/min idle cpu 0\.00\/([\d.]+)/.exec(text)![1]));
  });

  it('reads a status from a switch up for days, with its singular units and a busy second', () => {
    const text = 'UP 1 year, 2 days, 1 hour, 1 minute, 1 second, 5 milliseconds, 1 microsecond\n' +
      'FreeSWITCH (Version 1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit) is ready\n' +
      '5123 session(s) since startup\n42 session(s) - peak 77, last 5min 50 \n' +
      '7 session(s) per Sec out of max 100, peak 19, last 5min 12 \n1000 session(s) max\nmin idle cpu 0.00/63.50\n';
    expect(parseStatus(text)).toEqual({
      sessions: 42, maxSessions: 1000, sessionsPerSecond: 7, sessionsPerSecondPeak5m: 12, idleCpu: 63.5,
      uptimeMs: ((((367 * 24 + 1) * 60 + 1) * 60) + 1) * 1000 + 5, version: '1.10.12-release',
    });
  });

  it('an -ERR or any other text is not a status', () => {
    expect(parseStatus('-ERR status Command not found!\n')).toBeUndefined();
    expect(parseStatus('')).toBeUndefined();
  });

  it('reads the recorded HEARTBEAT; its Session-Per-Sec is the second\'s leftover budget, not the rate', () => {
    const hb = connEvents(TRACE, 1).find((e) => e['Event-Name'] === 'HEARTBEAT')!;
    const load = loadFromHeartbeat((h) => hb[h])!;
    expect(load).toMatchObject({ maxSessions: 1000, sessions: Number(hb['Session-Count']), uptimeMs: Number(hb['Uptime-msec']) });
    expect(load.sessionsPerSecond).toBe(Number(hb['Session-Per-Sec-Last']));
    expect(load.sessionsPerSecond).not.toBe(Number(hb['Session-Per-Sec']));
    expect(load.idleCpu).toBeCloseTo(Number(hb['Idle-CPU']), 6);
    expect(load.version).toMatch(/^1\.10\.12-release/);
    expect(loadFromHeartbeat(() => undefined)).toBeUndefined();
  });
});

describe('FreeSWITCH channels', () => {
  const listings = api.filter((a) => a.command === 'api show channels as json').map((a) => a.body);

  it('reads the recorded listings: none (`{"row_count": 0}`), then the endpoint and the null channel', () => {
    expect(parseChannelList(listings[0]!)).toEqual([]);
    const rows = parseChannelList(listings[1]!);
    expect(rows.map((r) => r.name).sort()).toEqual(['null/dialgate-orphan', expect.stringMatching(/^sofia\/drachtio_mrf\//)]);
    expect(rows.find((r) => r.name.startsWith('null/'))).toMatchObject({ state: 'CS_EXECUTE', application: 'park' });
    for (const r of rows) expect(r.createdEpoch).toBeGreaterThan(1_700_000_000);
  });

  it('a failed listing is an error, never "no channels" (nothing would be reconciled on a lie)', () => {
    expect(() => parseChannelList('-ERR show Command not found!\n')).toThrow(/not a channel list/);
    expect(() => parseChannelList('{"rows": []}')).toThrow(/row_count/);
  });

  it('uuid_getvar: a value, _undef_ for an unset variable, -ERR for a gone channel (as recorded)', () => {
    const recorded = api.find((a) => a.command.startsWith('api uuid_getvar'))!.body;
    expect(recorded).toBe('_undef_');
    expect(getvarValue(recorded)).toEqual({ gone: false, value: null });
    expect(getvarValue('127.0.0.1:34567')).toEqual({ gone: false, value: '127.0.0.1:34567' });
    expect(getvarValue('-ERR No such channel!\n')).toEqual({ gone: true });
  });
});
