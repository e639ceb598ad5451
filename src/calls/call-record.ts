// Writing a call's one CDR, for sessions and for calls refused before a session exists.
import { buildCdr, type Cdr, type CdrInput } from '../cdr/model.js';
import type { CdrWriter } from '../cdr/writer.js';
import type { Logger } from 'pino';

export interface RecordDeps {
  cdr: CdrWriter;
  log: Logger;
  /** Told of every CDR written, and how (metrics). */
  onCdr?: (cdr: Cdr, outcome: 'written' | 'duplicate' | 'spooled') => void;
  /** Told of every CDR that could not be written (metrics); null when it could not even be built. */
  onCdrFailed?: (cdr: Cdr | null) => void;
}

/** Builds and writes the CDR; a failure is logged with the whole CDR so it can be replayed. */
export async function writeCdr(deps: RecordDeps, input: CdrInput, timeZone?: string): Promise<Cdr | null> {
  let cdr: Cdr | undefined;
  let outcome: 'written' | 'duplicate' | 'spooled';
  try {
    cdr = buildCdr(input, timeZone);
    outcome = await deps.cdr.write(cdr);
  } catch (err) {
    deps.onCdrFailed?.(cdr ?? null);
    deps.log.error({ err, cdr: cdr ?? input }, 'cdr write failed');
    return null;
  }
  // Outside the try: a listener's fault is not a CDR write failure.
  deps.onCdr?.(cdr, outcome);
  deps.log.info({ cdr: { id: cdr.cdrId, decision: cdr.decision, reason: cdr.denyReason, status: cdr.sipStatus, seat: cdr.seat, billable: cdr.billableSeconds, cost: cdr.cost } }, 'cdr');
  return cdr;
}

/** The user part of a From / Request-URI value. */
export function userPart(value: string): string {
  const m = /sips?:([^@;>]+)@/i.exec(value) ?? /sips?:([^;>]+)/i.exec(value) ?? /tel:([^;>]+)/i.exec(value);
  return m?.[1] ?? value;
}
