// The shipped config/ directory: loads clean and says what the telesales contract (004) says.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runConfigCheck } from '../../src/config/check.js';
import { EXAMPLE_DIR, load } from './fixture.js';

describe('config/ (telesales example, contract 004)', () => {
  it('loads with no errors; the only warnings are the demo secret defaults', async () => {
    const r = await load(EXAMPLE_DIR);
    if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
    expect(r.warnings.map((w) => w.message).every((m) => m.includes('demo `default:`'))).toBe(true);
    const s = r.snapshot;
    const t = s.tenants.get('telesales')!;
    // 004 §3.2: 08:00-19:30 Beijing time, every day.
    expect(t.window).toEqual({
      timezone: 'Asia/Shanghai', holidays: 'ignore', holidayRanges: [],
      weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '08:00', end: '19:30' }]])),
    });
    expect(t.allowedClasses).toEqual(['mobile', 'landline']); // 004 §6.3
    expect(t).toMatchObject({ maxConcurrent: 30, recording: true, tariff: 'cn-domestic-013', status: 'active' });
    expect(t.callerIdPool).toHaveLength(3);
    expect(t.blacklist.exact.has('13700009999')).toBe(true); // 0086-13700009999 in lists/dnc.txt
    expect(t.blacklist.exact.has('13700001357')).toBe(true); // +86 ... in the 号码 column of lists/complaints.csv
    // 004 §3.1: 0.13 yuan per 60 s, 60/60.
    expect(s.tariffs.get('cn-domestic-013')!.rates).toEqual(['mobile', 'landline'].map((c) => ({
      class: c, ratePerMinute: 1300, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0,
    })));
    // 004 §2.6: failover from trunk-a to trunk-b.
    expect(s.routes.map((r) => [r.id, r.trunks.map((x) => x.trunk)])).toEqual([['emergency', ['trunk-a', 'trunk-b']], ['domestic', ['trunk-a', 'trunk-b']]]);
    expect(s.trunks.get('trunk-a')!.uri).toBe('sip:127.0.0.1:5090');
    expect(s.trunks.get('trunk-b')!.uri).toBe('sip:127.0.0.1:5091');
    expect([...s.seats.keys()]).toEqual(['1001', '1002', '1003']);
    expect(s.seats.get('1001')!.ha1).toBe(createHash('md5').update('1001:dialgate.local:demo-1001').digest('hex'));
    expect(s.blacklist.exact.has('13800138002')).toBe(true);
    expect(s.blacklist.prefixes).toEqual(['0106000']);
    expect(s.server).toMatchObject({ realm: 'dialgate.local', drachtio: { port: 9022 }, freeswitch: { port: 8021 }, http: { port: 8080 } });
  });

  it('`config check` prints a summary and exits 0', async () => {
    let out = '';
    const sink = new Writable({ write(c, _e, cb) { out += String(c); cb(); } });
    expect(await runConfigCheck(EXAMPLE_DIR, sink, { env: {} })).toBe(0);
    expect(out).toMatch(/ok, version [0-9a-f]{12}/);
    expect(out).toContain('tenants 1, seats 3, trunks 2, routes 2, tariffs 1');
    expect(out).toContain('blacklist: 4 numbers, 1 prefixes; tenant do-not-call lists: 7 numbers; list files 3');
  });
});
