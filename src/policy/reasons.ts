// Deny reasons with their default SIP status and the text of the RFC 3326 Reason header.
// Choices:
// - blacklist → 403, not 603 Decline: 603 says the callee declined, but the callee was never
//   asked; 403 says our policy refused, as for window and scope.
// - tenant ports in use → 486 Busy Here (the tenant's purchased lines are busy, as a PBX trunk
//   group would say); trunks full → 503, which is about our capacity, not the tenant's.
// - no route → 404 (RFC 3398 maps Q.850 cause 3 "no route to destination" to 404).
export type DenyReason =
  | 'unknown-seat'
  | 'unknown-tenant'
  | 'tenant-suspended'
  | 'tenant-not-yet-valid'
  | 'tenant-expired'
  | 'malformed-number'
  | 'outside-window'
  | 'out-of-scope'
  | 'blacklisted'
  | 'caller-id-not-owned'
  | 'tenant-busy'
  | 'no-route'
  | 'trunks-full'
  | 'no-rate'
  | 'insufficient-balance'
  | 'recording-unavailable';

export interface DenyDefaults {
  sipStatus: number;
  text: string;
}

export const DENY_REASONS: Readonly<Record<DenyReason, DenyDefaults>> = {
  'unknown-seat': { sipStatus: 403, text: 'Unknown seat' },
  'unknown-tenant': { sipStatus: 403, text: 'Unknown tenant' },
  'tenant-suspended': { sipStatus: 403, text: 'Service suspended' }, // 001 §6 arrears
  'tenant-not-yet-valid': { sipStatus: 403, text: 'Service not yet active' },
  'tenant-expired': { sipStatus: 403, text: 'Service period ended' }, // 003 §7, 002 §3.11
  'malformed-number': { sipStatus: 484, text: 'Address incomplete or malformed' },
  'outside-window': { sipStatus: 403, text: 'Outside dialing window' }, // 004 §3.2
  'out-of-scope': { sipStatus: 403, text: 'Destination not allowed' }, // 004 §6.3
  'blacklisted': { sipStatus: 403, text: 'Callee on do-not-call list' },
  'caller-id-not-owned': { sipStatus: 403, text: 'Caller id not allowed' }, // 004 §2.2 own use only
  'tenant-busy': { sipStatus: 486, text: 'All lines of the account in use' },
  'no-route': { sipStatus: 404, text: 'No route to destination' },
  'trunks-full': { sipStatus: 503, text: 'No trunk available' },
  'no-rate': { sipStatus: 403, text: 'Destination not rated' },
  'insufficient-balance': { sipStatus: 402, text: 'Insufficient balance' }, // 003 §2.2, 002 §2.3
  // The tenant requires recording (recording: required) and no media server can record the call.
  'recording-unavailable': { sipStatus: 503, text: 'Recording required, media server unavailable' },
};

/** RFC 3326 Reason header value for a status and text. */
export function reasonHeader(sipStatus: number, text: string): string {
  return `SIP ;cause=${sipStatus} ;text="${text.replace(/["\\]/g, '')}"`;
}
