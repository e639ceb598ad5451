// Why an inbound (400) call is refused, with its SIP status and Reason text.
// Choices (documented in README-400 and tested):
// - a source that is not a carrier never reaches the inbound path at all (it is challenged as a
//   seat would be, so the answer reveals nothing); if it does (explain), 403 without a Reason;
// - an unknown number and a reclaimed one (002 §2.3: 7 days without renewal) get the same bare
//   404, so a scan cannot tell configured numbers from others;
// - closed (outside every time rule) and not-in-service (package used up, expired, suspended,
//   002 §2.3) play their announcement as early media, then 480: the number exists and will be
//   reachable again, and the caller is not billed for an answered call;
// - a blacklisted caller gets 403 "Call rejected" (not 603: the callee was never asked).
export type InboundDenyReason =
  | 'unknown-source'
  | 'unknown-number'
  | 'number-reclaimed'
  | 'not-in-service'
  | 'package-used-up'
  | 'caller-blacklisted'
  | 'closed'
  | 'no-destination'
  | 'media-unavailable'
  /** Runtime: the package account could not be read (Redis down); says nothing about the number. */
  | 'ledger-unavailable';

export const INBOUND_DENY: Readonly<Record<InboundDenyReason, { sipStatus: number; text: string | null }>> = {
  'unknown-source': { sipStatus: 403, text: null },
  'unknown-number': { sipStatus: 404, text: null },
  'number-reclaimed': { sipStatus: 404, text: null }, // 002 §2.3
  'not-in-service': { sipStatus: 480, text: 'Number not in service' }, // 002 §2.3
  'package-used-up': { sipStatus: 480, text: 'Number not in service' }, // 002 §2.3
  'caller-blacklisted': { sipStatus: 403, text: 'Call rejected' }, // 002 §1.3 黑名单
  'closed': { sipStatus: 480, text: 'Outside service hours' }, // 002 §1.3 时间策略
  'no-destination': { sipStatus: 480, text: 'No destination available' },
  'media-unavailable': { sipStatus: 503, text: 'Service unavailable' },
  'ledger-unavailable': { sipStatus: 503, text: 'Service unavailable' },
};
