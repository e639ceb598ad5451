// Deny reasons with their default SIP status and the text of the RFC 3326 Reason header.
// Choices:
// - blacklist → 403, not 603 Decline: 603 says the callee declined, but the callee was never
//   asked; 403 says our policy refused, as for window and scope.
// - tenant ports in use → 486 Busy Here (the tenant's purchased lines are busy, as a PBX trunk
//   group would say); trunks full → 503, which is about our capacity, not the tenant's.
// - no route → 404 (RFC 3398 maps Q.850 cause 3 "no route to destination" to 404).
// - toll-fraud caps (issue 16): not 429, which SIP defines as "Provide Referrer Identity" (RFC
//   3892), not "too many requests". Calls per second → 503 (RFC 3261 §21.5.4: a passing overload;
//   the seat may retry a moment later). Spend per hour / day and attempts per callee per day → 403:
//   a policy refusal that retrying does not change until the hour or day is over.
export type DenyReason =
  | 'unknown-seat'
  | 'unknown-tenant'
  | 'tenant-suspended'
  | 'tenant-closed'
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
  | 'recording-unavailable'
  | 'webrtc-media-unavailable'
  | 'ledger-unavailable'
  | 'unsupported-body'
  | 'unusable-sdp'
  | 'calls-per-second'
  | 'spend-per-hour'
  | 'spend-per-day'
  | 'callee-attempts';

export interface DenyDefaults {
  sipStatus: number;
  text: string;
}

export const DENY_REASONS: Readonly<Record<DenyReason, DenyDefaults>> = {
  'unknown-seat': { sipStatus: 403, text: 'Unknown seat' },
  'unknown-tenant': { sipStatus: 403, text: 'Unknown tenant' },
  'tenant-suspended': { sipStatus: 403, text: 'Service suspended' }, // 001 §6(一) arrears
  'tenant-closed': { sipStatus: 403, text: 'Service terminated' }, // 001 §6(二)5: 30 days in arrears
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
  // A browser leg (DTLS-SRTP/ICE) cannot reach a carrier's plain RTP without FreeSWITCH.
  'webrtc-media-unavailable': { sipStatus: 503, text: 'WebRTC call, media server unavailable' },
  // Redis (balances, ports) unreachable: fail closed, nothing is bridged without a reservation.
  'ledger-unavailable': { sipStatus: 503, text: 'Service temporarily unavailable' },
  // RFC 3261 §21.4.13 / §21.4.26: a body we do not understand is the caller's error, not a trunk's.
  'unsupported-body': { sipStatus: 415, text: 'Unsupported body: send application/sdp' },
  'unusable-sdp': { sipStatus: 488, text: 'No usable audio in the SDP offer' },
  'calls-per-second': { sipStatus: 503, text: 'Call rate limit reached' },
  'spend-per-hour': { sipStatus: 403, text: 'Hourly spend limit reached' },
  'spend-per-day': { sipStatus: 403, text: 'Daily spend limit reached' },
  // Repeat dialling of one person is how complaints (004 §10.3, 1000 yuan each) start.
  'callee-attempts': { sipStatus: 403, text: 'Daily attempts to this number reached' },
};

/** RFC 3326 Reason header value for a status and text. */
export function reasonHeader(sipStatus: number, text: string): string {
  return `SIP ;cause=${sipStatus} ;text="${text.replace(/["\\]/g, '')}"`;
}
