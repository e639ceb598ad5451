// The credit warning in words for a web phone (issue 13): besides the prompt FreeSWITCH plays (and
// with direct media, where nothing can be played), a caller leg that came over a WebSocket gets an
// in-dialog INFO the page shows. Desktop softphones (UDP/TCP) get the audio only: an INFO they do
// not know could be answered with an error or, worse, shown as a raw message.
export const CREDIT_WARNING_TYPE = 'application/vnd.dialgate.credit-warning+json';

/** The top Via of the caller's INVITE says it came over a WebSocket (RFC 7118: WS or WSS). */
export function viaIsWebSocket(via: string | undefined): boolean {
  return via !== undefined && /^\s*SIP\s*\/\s*2\.0\s*\/\s*WSS?\b/i.test(via);
}

/** The INFO request (srf Dialog.request options) announcing the cut-off in `secondsLeft`. */
export function creditWarningInfo(secondsLeft: number): { method: 'INFO'; headers: Record<string, string>; body: string } {
  return {
    method: 'INFO',
    headers: { 'Content-Type': CREDIT_WARNING_TYPE },
    body: JSON.stringify({ event: 'credit-warning', secondsLeft: Math.max(0, Math.round(secondsLeft)) }),
  };
}
