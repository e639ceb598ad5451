// Shared CDR test fixtures: a realistic CDR and an RFC 4180 reader independent of the writer.
import { buildCdr, type Cdr, type CdrInput } from '../../src/cdr/model.js';

// 2025-03-01 10:00 Beijing.
export const T = Date.UTC(2025, 2, 1, 2, 0, 0);

export function sampleCdr(over: Partial<CdrInput> = {}): Cdr {
  return buildCdr({
    cdrId: 'cdr-1', callId: 'call-1@dialgate', direction: 'outbound', tenant: 'acme', seat: '1001',
    callerRaw: '1001', callerPresented: '02158880000', calleeRaw: '+8613800138000', calleeNormalised: '13800138000',
    numberClass: 'mobile', region: '上海', decision: 'allow', sipStatus: 200,
    trunks: [{ trunk: 'carrier-a', sipStatus: 503, at: T + 100 }, { trunk: 'carrier-b', sipStatus: 200, at: T + 300 }],
    inviteAt: T, ringAt: T + 2000, answerAt: T + 8000, endAt: T + 73_000,
    billableSeconds: 65, billedSeconds: 120, cost: 2600, balanceAfter: 1_000_000 - 2600,
    hangupBy: 'callee', hangupCause: 'normal_clearing', recordingPath: '/rec/acme/2025-03-01/cdr-1.wav',
    configVersion: 'cfg-abc123', trace: [{ step: 'window', outcome: 'pass' }, { step: 'scope', outcome: 'pass', detail: 'mobile' }],
    ...over,
  });
}

/** A strict RFC 4180 reader, independent of the writer. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    if (c === '"' || c === '\r' || c === '\n') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    field += c; i++;
  }
  if (field !== '' || row.length) throw new Error('unterminated last row');
  return rows;
}
