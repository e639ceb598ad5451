// Issue 13: the CSV keeps its columns in place and appends the transfer columns at the end.
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, cdrToCsvRow } from '../../src/cdr/csv.js';
import { parseCsv, sampleCdr, T } from './fixtures.js';

describe('CDR CSV transfer columns', () => {
  it('appends transfers and transferredTo after every earlier column', () => {
    expect(CSV_COLUMNS.slice(-3)).toEqual(['route', 'transfers', 'transferredTo']);
    expect(CSV_COLUMNS.slice(0, 3)).toEqual(['cdrId', 'callId', 'direction']);
  });

  it('writes each transfer as by>to@Beijing time:outcome(transferor s/target s), empty without one', () => {
    const none = parseCsv(cdrToCsvRow(sampleCdr()))[0]!;
    expect(none.slice(-2)).toEqual(['', '']);
    const row = parseCsv(cdrToCsvRow(sampleCdr({
      transfers: [
        { transferredBy: '1001', transferTo: '13900001111', at: T + 5_000, outcome: 'blacklisted', sipStatus: 403, transferorSeconds: null, targetSeconds: null, reservation: null },
        { transferredBy: '1001', transferTo: '1002', at: T + 9_000, outcome: 'connected', sipStatus: 200, transferorSeconds: 9, targetSeconds: 31, reservation: null },
      ],
    })))[0]!;
    expect(row).toHaveLength(CSV_COLUMNS.length);
    expect(row.at(-2)).toBe('1001>13900001111@2025-03-01T10:00:05.000+08:00:blacklisted;1001>1002@2025-03-01T10:00:09.000+08:00:connected(9s/31s)');
    expect(row.at(-1)).toBe('1002');
  });
});
