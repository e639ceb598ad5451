// sipp scenarios for the end-to-end call tests, generated so each test states what it expects
// (the final status a seat must get, how long the callee holds, who hangs up).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SDP = [
  'v=0',
  'o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]',
  's=-',
  'c=IN IP[media_ip_type] [media_ip]',
  't=0 0',
  'm=audio [media_port] RTP/AVP 8 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  '',
].join('\r\n');

let audio: string | null = null;
/** An A-law WAV the seats and trunks stream once answered (sipp rtp_stream); null sends no RTP. */
export function setScenarioAudio(file: string | null): void { audio = file; }
export const streamAudio = (): string => (audio ? `  <nop><action><exec rtp_stream="${audio},-1,8"/></action></nop>\n` : '');

const dir = mkdtempSync(join(tmpdir(), 'dialgate-sipp-'));
// Generated scenarios live as long as the process.
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function write(name: string, body: string): string {
  const path = join(dir, `${name}-${++n}.xml`);
  writeFileSync(path, `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="${name}">\n${body}\n</scenario>\n`);
  return path;
}

function invite(auth: boolean, cseq: number, to: string, sdp = SDP): string {
  return `
  <send retrans="500">
    <![CDATA[
INVITE sip:${to}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:${to}@[remote_ip]>
Call-ID: [call_id]
CSeq: ${cseq} INVITE
Contact: <sip:[field3]@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-seat
${auth ? '[authentication]\n' : ''}Content-Type: application/sdp
Content-Length: [len]

${sdp}
    ]]>
  </send>`;
}

const ACK_NON2XX = (cseq: number) => `
  <send>
    <![CDATA[
ACK sip:[field2]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>`;

/** The seat's ACK for the 2xx of its authenticated INVITE (CSeq 2), sent to the Contact. */
const SEAT_ACK_2XX = `  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
`;

/** The seat hangs up (CSeq 3). */
const SEAT_BYE = `  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
`;

/** 200 OK to the request just received (a BYE, a CANCEL), no body. */
export const OK_TO_REQUEST = `  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
`;

export interface SeatCallOptions {
  /** Final status the seat must receive for the authenticated INVITE. */
  expect: number;
  /** A status the first INVITE may get instead of 407 (overload's 503): ACKed, the call ends there (expect 200, hangup 'seat'). */
  refusedWith?: number;
  /** Talk time before the seat hangs up (expect 200 and hangup 'seat'). */
  holdMs?: number;
  /** 'seat' sends BYE after holdMs; 'remote' waits for a BYE from dialgate (callee hung up, cut-off). */
  hangup?: 'seat' | 'remote';
  /** How long to wait for the remote BYE. */
  remoteByeTimeoutMs?: number;
  /**
   * Session refreshes (re-INVITE) while waiting for the remote BYE: 'answer' them (200 + SDP), or
   * 'ignore' them (a softphone that closed its session after the 200 OK: no answer, no BYE).
   */
  refresh?: 'answer' | 'ignore';
  /** A regular expression the final response's Reason header must match (sipp fails the call otherwise). */
  expectReason?: string;
  /** The offer instead of sipp's plain RTP one (e.g. a browser's WebRTC offer, CRLF lines). */
  sdp?: string;
  /** A regular expression the 200's SDP answer must match (sipp fails the call otherwise). */
  expectAnswer?: string;
}

/** A 200 with SDP to a received re-INVITE, then its ACK. */
const ANSWER_REINVITE = `  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}
    ]]>
  </send>
  <recv request="ACK"/>
`;

/**
 * Waits for the remote BYE, answering or ignoring session refreshes meanwhile (a refresh that is
 * ignored is retransmitted until the far end gives up: every copy is swallowed here).
 */
export function awaitRemoteBye(refresh: 'answer' | 'ignore', timeoutMs: number, tag: string): string {
  // An optional recv must sit right before the BYE recv, so a re-INVITE jumps away to be answered.
  const answer = refresh === 'answer';
  return `  <label id="${tag}"/>
  <recv request="INVITE" optional="true" next="${answer ? `${tag}-answer` : tag}"/>
  <recv request="BYE" timeout="${timeoutMs}"/>
${OK_TO_REQUEST}${answer ? `  <nop next="${tag}-end"/>
  <label id="${tag}-answer"/>
${ANSWER_REINVITE}  <nop next="${tag}"/>
  <label id="${tag}-end"/>
` : ''}`;
}

/**
 * A seat placing one call per injection line: fields user;password;callee;presented caller id. Challenged first
 * (407), then authenticated (RFC 3261 §22.3).
 */
const xmlAttr = (v: string): string => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function seatCall(o: SeatCallOptions): string {
  const to = '[field2]';
  const refusable = o.refusedWith !== undefined && o.expect === 200 && (o.hangup ?? 'seat') === 'seat';
  let body = `${invite(false, 1, to, o.sdp)}
  <recv response="100" optional="true"/>
${refusable ? `  <recv response="${o.refusedWith}" optional="true" next="refused"/>\n` : ''}  <recv response="407" auth="true"/>
${ACK_NON2XX(1)}
${invite(true, 2, to, o.sdp)}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
`;
  if (o.expect !== 200) {
    const reason = o.expectReason === undefined ? ''
      : `<action><ereg regexp="${xmlAttr(o.expectReason)}" search_in="hdr" header="Reason:" check_it="true" assign_to="9"/></action>`;
    // sipp refuses a variable that is assigned but never used: the log action uses it.
    body += reason ? `  <recv response="${o.expect}">${reason}</recv>\n  <nop><action><log message="Reason [$9]"/></action></nop>\n` : `  <recv response="${o.expect}"/>\n`;
    body += `${ACK_NON2XX(2)}\n`;
    return write(`seat-expect-${o.expect}`, body);
  }
  body += o.expectAnswer === undefined ? '  <recv response="200" rtd="true" rrs="true"/>\n'
    : `  <recv response="200" rtd="true" rrs="true"><action><ereg regexp="${xmlAttr(o.expectAnswer)}" search_in="body" check_it="true" assign_to="8"/></action></recv>
  <nop><action><log message="answer [$8]"/></action></nop>\n`;
  body += `${SEAT_ACK_2XX}${streamAudio()}`;
  if ((o.hangup ?? 'seat') === 'seat') {
    body += `  <pause milliseconds="${o.holdMs ?? 1000}"/>
${SEAT_BYE}  <recv response="200"${refusable ? ' next="done"' : ''}/>
`;
    // a phone ACKs the refusal of its first INVITE and is done (sipp counts the call successful)
    if (refusable) body += `  <label id="refused"/>\n${ACK_NON2XX(1)}\n  <label id="done"/>\n`;
  } else if (o.refresh) {
    body += awaitRemoteBye(o.refresh, o.remoteByeTimeoutMs ?? 30000, 'seatwait');
  } else {
    body += `  <recv request="BYE" timeout="${o.remoteByeTimeoutMs ?? 30000}"/>
${OK_TO_REQUEST}`;
  }
  return write(`seat-call${refusable ? `-or-${o.refusedWith}` : ''}${o.sdp ? '-sdp' : ''}${o.expectAnswer ? '-answer' : ''}-${o.hangup ?? 'seat'}${o.refresh ? `-refresh-${o.refresh}` : ''}`, body);
}

/** A REGISTER challenged with 401, then sent with credentials; fields user;password. */
export function seatRegister(expect: 200 | 403 | 503 = 200): string {
  const reg = (auth: boolean, cseq: number) => `
  <send retrans="500">
    <![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[field0]@[remote_ip]>
Call-ID: [call_id]
CSeq: ${cseq} REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port]>
Expires: 300
Max-Forwards: 70
${auth ? '[authentication]\n' : ''}Content-Length: 0

    ]]>
  </send>`;
  return write(`seat-register-${expect}`, `${reg(false, 1)}
  <recv response="401" auth="true"/>
${reg(true, 2)}
  <recv response="${expect}"/>
`);
}

export interface TrunkOptions {
  /** Final answer to every INVITE; 'cancel' rings until the caller side CANCELs (then 487). */
  answer: number | 'cancel';
  /** 180 before the answer. */
  ringMs?: number;
  /** Who ends an answered call: the caller side (wait for BYE) or the trunk after holdMs. */
  hangup?: 'wait' | 'trunk';
  holdMs?: number;
  /** Session-Expires the 200 echoes (the trunk supports RFC 4028; we refresh); refreshes answered or ignored. */
  sessionTimer?: { seconds: number; refresh: 'answer' | 'ignore' };
  /**
   * RFC 4028 §8.2: the first INVITE is refused with 422 and this Min-SE; the retry (same Call-ID,
   * else sipp would see a new call) must offer Session-Expires equal to it, or the scenario fails.
   */
  reject422MinSe?: number;
  /**
   * The port the 200's SDP names for media, where the test listens itself (counting the RTP the
   * trunk receives); the trunk then streams nothing, so its own RTP cannot move the far end's aim.
   */
  mediaPort?: number;
  /** Answered, then a re-INVITE must come (the media moved by a transfer) and is answered; then the BYE. */
  reinvite?: boolean;
  /** The INVITE must offer plain RTP (m=audio … RTP/AVP), as a desktop phone needs; sipp fails the call otherwise. */
  plainOffer?: boolean;
  /** The 200's SDP instead of the plain RTP one (e.g. a WebRTC-shaped answer a browser accepts). */
  sdp?: string;
  /**
   * Answered, then hold and resume from the other side: a re-INVITE offering a=sendonly, then one
   * offering a=sendrecv (sipp fails the call otherwise), each answered with the 200's SDP; then BYE.
   */
  holdResume?: boolean;
}

/** A carrier gateway (UAS). */
export function trunkUas(o: TrunkOptions): string {
  // sipp refuses variables that are set but never used: capture only what this variant sends.
  const byTrunk = o.answer === 200 && o.hangup === 'trunk';
  const captures = [
    ...(byTrunk ? ['<ereg regexp=".*" search_in="hdr" header="From:" assign_to="1"/>', '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="2"/>'] : []),
    ...(o.answer === 'cancel' ? ['<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="3"/>'] : []),
    // A trunk (or seat) supporting timers is offered them: the INVITE must carry Session-Expires.
    ...(o.sessionTimer ? ['<ereg regexp="[0-9]+" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="6"/>'] : []),
    ...(o.reject422MinSe ? [`<ereg regexp="^ *${o.reject422MinSe}(;|$)" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="4,5"/>`] : []),
    ...(o.plainOffer ? ['<ereg regexp="m=audio [0-9]+ RTP/AVP " search_in="body" check_it="true" assign_to="9"/>'] : []),
  ];
  let body = o.reject422MinSe ? `
  <recv request="INVITE"/>
  <send>
    <![CDATA[
SIP/2.0 422 Session Interval Too Small
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag02[call_number]
[last_Call-ID:]
[last_CSeq:]
Min-SE: ${o.reject422MinSe}
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
` : '';
  body += `
  <recv request="INVITE" rrs="true">${captures.length ? `<action>${captures.join('')}</action>` : ''}</recv>
  <send>
    <![CDATA[
SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="${o.ringMs ?? 50}"/>
`;
  if (o.answer === 'cancel') {
    body += `  <recv request="CANCEL"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [$3] INVITE
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
`;
    return write('trunk-ring-until-cancel', body);
  }
  if (o.answer !== 200) {
    body += `  <send>
    <![CDATA[
SIP/2.0 ${o.answer} Failure
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
`;
    return write(`trunk-${o.answer}`, body);
  }
  // The INVITE again while the 200 waits for its ACK: the sender's Timer A fired before our answer
  // reached it (a loaded drachtio-server). A carrier's UAS keeps its 200 going and absorbs it
  // (RFC 3261 §13.3.1.4); sipp would abort the call as "unexpected", so the loop below absorbs it too.
  body += `  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
${o.sessionTimer ? `Require: timer\nSession-Expires: ${o.sessionTimer.seconds};refresher=uac\n` : ''}${o.reject422MinSe ? 'X-Retry-Session-Expires: [$4][$5]\n' : ''}${o.sessionTimer ? 'X-Offered-Session-Expires: [$6]\n' : ''}${o.plainOffer ? 'X-Plain-Offer: [$9]\n' : ''}Content-Type: application/sdp
Content-Length: [len]

${o.mediaPort ? SDP.replace('[media_port]', String(o.mediaPort)) : (o.sdp ?? SDP)}
    ]]>
  </send>
  <label id="trunkack"/>
  <recv request="INVITE" optional="true" next="trunkack"/>
  <recv request="ACK"/>
${o.mediaPort ? '' : streamAudio()}`;
  if (o.holdResume) {
    // RFC 3264 §6.1: a sendonly offer is answered recvonly, a sendrecv one sendrecv.
    const reinvite = (dir: string, v: number, answerDir: string) => `  <recv request="INVITE"><action><ereg regexp="a=${dir}" search_in="body" check_it="true" assign_to="${v}"/></action></recv>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
X-Offer-Seen: [$${v}]
Content-Type: application/sdp
Content-Length: [len]

${(o.sdp ?? SDP).replace(/a=sendrecv/g, `a=${answerDir}`)}
    ]]>
  </send>
  <recv request="ACK"/>
`;
    body += reinvite('sendonly', 7, 'recvonly') + reinvite('sendrecv', 8, 'sendrecv');
  }
  if (o.reinvite) {
    body += `  <recv request="INVITE"/>
${ANSWER_REINVITE}  <recv request="BYE"/>
${OK_TO_REQUEST}`;
  } else if (o.sessionTimer) {
    body += awaitRemoteBye(o.sessionTimer.refresh, 120_000, 'trunkwait');
  } else if ((o.hangup ?? 'wait') === 'wait') {
    body += `  <recv request="BYE"/>
${OK_TO_REQUEST}`;
  } else {
    body += `  <pause milliseconds="${o.holdMs ?? 1000}"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$2];tag=[pid]SIPpTag01[call_number]
To: [$1]
[last_Call-ID:]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
`;
  }
  return write(`trunk-${o.answer}-${o.hangup ?? 'wait'}${o.mediaPort ? `-media-${o.mediaPort}` : ''}${o.sdp ? '-sdp' : ''}${o.holdResume ? '-hold' : ''}${o.reinvite ? '-reinvite' : ''}${o.plainOffer ? '-plain' : ''}${o.sessionTimer ? `-st-${o.sessionTimer.refresh}` : ''}${o.reject422MinSe ? '-422' : ''}`, body);
}

/** An injection file for seat scenarios: one line per call (SEQUENTIAL). */
export function injection(rows: Array<[user: string, password: string, callee: string, callerId?: string]>): string {
  const path = join(dir, `inject-${++n}.csv`);
  writeFileSync(path, `SEQUENTIAL\n${rows.map(([u, p, c, id]) => [u, p, c, id ?? u].join(';')).join('\n')}\n`);
  return path;
}

/** A seat that cancels its authenticated INVITE after `afterMs` of ringing (RFC 3261 §9.1). */
export function seatCancel(afterMs: number): string {
  const to = '[field2]';
  return write('seat-cancel', `${invite(false, 1, to)}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
${ACK_NON2XX(1)}
${invite(true, 2, to)}
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <pause milliseconds="${afterMs}"/>
  <send>
    <![CDATA[
CANCEL sip:${to}@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:${to}@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 CANCEL
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="180" optional="true"/>
  <recv response="200" crlf="true"/>
  <recv response="487"/>
${ACK_NON2XX(2)}
`);
}

/**
 * A seat call that accepts either outcome of prepaid authorisation: 200 (then holds and hangs
 * up) or `deny` (then ACKs). For load and race tests where both are expected.
 */
export function seatCallOrDeny(deny: number, holdMs: number): string {
  const to = '[field2]';
  return write(`seat-call-or-${deny}`, `${invite(false, 1, to)}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
${ACK_NON2XX(1)}
${invite(true, 2, to)}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="${deny}" optional="true" next="denied"/>
  <recv response="200" rrs="true"/>
${SEAT_ACK_2XX}  <pause milliseconds="${holdMs}"/>
${SEAT_BYE}  <recv response="200" next="done"/>
  <label id="denied"/>
${ACK_NON2XX(2)}
  <label id="done"/>
`);
}

export interface SeatTransferOptions {
  /** Talk time before the REFER. */
  holdMs: number;
  /** What the transferor must be told in the final NOTIFY: 200 (then dialgate's BYE), or a refusal. */
  expectNotify: 200 | { status: number; reason: string };
  /** A refused transfer: the seat talks on this long, then hangs up. */
  resumeMs?: number;
  /** The phone hangs up right after NOTIFY 100 (many do): the transfer must go on without it. */
  hangUpAfterTrying?: boolean;
  /** Attended transfer: Refer-To carries Replaces; the REFER must be answered with this status (and the call go on). */
  replacesExpect?: number;
}

/** 200 OK to an in-dialog NOTIFY (RFC 3515 §2.4.4: the transferor accepts each one). */
const OK_TO_NOTIFY = OK_TO_REQUEST;

/**
 * A seat (desktop softphone) that places a call (fields user;password;callee;caller id), then
 * blind-transfers it with REFER (Refer-To: sip:[refer_to]@dialgate, sipp -key refer_to) and reads
 * the NOTIFYs: 100 Trying, then the final sipfrag. test/sipp/seat-blind-transfer.xml is the same
 * flow as a standalone file for a manual run.
 */
export function seatTransfer(o: SeatTransferOptions): string {
  const bye = (cseq: number, ok = '<recv response="200"><action><log message="NOTIFY [$7]"/></action></recv>') => `  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: [$5]
Call-ID: [call_id]
CSeq: ${cseq} BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  ${ok}
`;
  const to = '[field2]';
  const final = o.expectNotify === 200
    ? '<ereg regexp="^SIP/2.0 200 OK" search_in="body" check_it="true" assign_to="8"/>'
    : `<ereg regexp="^SIP/2.0 ${o.expectNotify.status} " search_in="body" check_it="true" assign_to="8"/><ereg regexp="Reason: SIP ;cause=${o.expectNotify.status} ;text=&quot;${o.expectNotify.reason}&quot;" search_in="body" check_it="true" assign_to="9"/>`;
  let body = `${invite(false, 1, to)}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
${ACK_NON2XX(1)}
${invite(true, 2, to)}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"><action><ereg regexp=".*" search_in="hdr" header="To:" assign_to="5"/></action></recv>
${SEAT_ACK_2XX}${streamAudio()}  <pause milliseconds="${o.holdMs}"/>
  <send retrans="500">
    <![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field3]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: [$5]
Call-ID: [call_id]
CSeq: 3 REFER
Contact: <sip:[field3]@[local_ip]:[local_port]>
Refer-To: <sip:[refer_to]@[remote_ip]:[remote_port]${o.replacesExpect ? '?Replaces=consult-1%40seat%3Bto-tag%3Da%3Bfrom-tag%3Db' : ''}>
Referred-By: <sip:[field3]@[remote_ip]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
${o.replacesExpect ? `  <recv response="${o.replacesExpect}"/>
  <pause milliseconds="300"/>
${bye(4, '<recv response="200"/>')}` : ''}  <recv response="202"/>
  <recv request="NOTIFY"><action><ereg regexp="^SIP/2.0 100 Trying" search_in="body" check_it="true" assign_to="7"/></action></recv>
${OK_TO_NOTIFY}`;
  if (o.replacesExpect) return write(`seat-transfer-replaces-${o.replacesExpect}`, body.slice(0, body.indexOf('  <recv response="202"/>')));
  if (o.hangUpAfterTrying) return write('seat-transfer-and-leave', body + bye(4));
  body += `  <recv request="NOTIFY"><action>${final}<ereg regexp="terminated" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="6"/></action></recv>
${OK_TO_NOTIFY}`;
  // sipp refuses variables never used: they are logged. Not in a <nop> before the BYE's <recv>: a
  // BYE arriving while the next element is a nop counts as unexpected.
  const log = `<action><log message="NOTIFY [$7] / [$8]${o.expectNotify === 200 ? '' : ' [$9]'} [$6]"/></action>`;
  if (o.expectNotify === 200) {
    body += `  <recv request="BYE">${log}</recv>
${OK_TO_REQUEST}`;
  } else {
    body += `  <nop>${log}</nop>
`;
    body += `  <pause milliseconds="${o.resumeMs ?? 500}"/>
${bye(4, '<recv response="200"/>')}`;
  }
  return write(`seat-transfer-${o.expectNotify === 200 ? 200 : o.expectNotify.status}`, body);
}

/**
 * A seat answering a call (a 400 call rung to it), then blind-transferring it with REFER
 * (Refer-To: sip:[refer_to]@dialgate): the seat is the UAS of the dialog, so its REFER's From is
 * the INVITE's To (with its tag) and its To the INVITE's From.
 */
export function seatAnswerAndTransfer(o: { holdMs: number; seat: string }): string {
  return write('seat-answer-transfer', `
  <recv request="INVITE" rrs="true"><action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="1"/><ereg regexp=".*" search_in="hdr" header="To:" assign_to="2"/></action></recv>
  <send>
    <![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:${o.seat}@[local_ip]:[local_port]>
Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:${o.seat}@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

${SDP}
    ]]>
  </send>
  <recv request="ACK"/>
${streamAudio()}  <pause milliseconds="${o.holdMs}"/>
  <send retrans="500">
    <![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$2];tag=[pid]SIPpTag01[call_number]
To: [$1]
Call-ID: [call_id]
CSeq: 1 REFER
Contact: <sip:${o.seat}@[local_ip]:[local_port]>
Refer-To: <sip:[refer_to]@[remote_ip]:[remote_port]>
Referred-By: <sip:${o.seat}@[remote_ip]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="202"/>
  <recv request="NOTIFY"><action><ereg regexp="^SIP/2.0 100 Trying" search_in="body" check_it="true" assign_to="7"/></action></recv>
${OK_TO_REQUEST}  <recv request="NOTIFY"><action><ereg regexp="^SIP/2.0 200 OK" search_in="body" check_it="true" assign_to="8"/></action></recv>
${OK_TO_REQUEST}  <recv request="BYE"><action><log message="NOTIFY [$7] / [$8]"/></action></recv>
${OK_TO_REQUEST}`);
}
