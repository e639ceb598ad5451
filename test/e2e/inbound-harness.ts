// The call bench for 400 calls (issue 6): the outbound bench (startBench) plus plans400.yaml, a
// third seat, the carrier allow-list narrowed to one sipp port, and the 400 package account.
// sipp plays the carrier's caller (UAC from that port), and the seats: each registers once with
// digest auth from its own port, then a UAS sipp on that port answers, rings or refuses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, runSipp, startSipp, type SippProcess, type SippResult } from '../bench/sipp.js';
import { SEATS, startBench, type Bench, type BenchOptions } from './harness.js';
import { awaitRemoteBye, injection, OK_TO_REQUEST, seatRegister, streamAudio, trunkUas, type TrunkOptions } from './scenarios.js';

export const SEAT_1003 = 'pw-1003-secret';
export const SEAT_PASSWORDS: Record<string, string> = { ...SEATS, '1003': SEAT_1003, '1009': 'pw-1009-secret' };
export const PACKAGE_ACCOUNT = 'telesales-400';

export interface InboundBench extends Bench {
  /** The one port the carrier (caller sipp) sends from: the trunks' inbound source. */
  carrierPort: number;
  trunkPorts: [number, number];
  /** Seat id → the port its sipp registered from and answers on. */
  seatPorts: Record<string, number>;
}

/** plans400.yaml with 4008050508 ringing one seat (the web phone's and the WebRTC seat's tests). */
export function oneSeatPlan(seat: string, o: { recording?: boolean; noAnswerSeconds?: number } = {}): string {
  return `plans400:
  - number: "4008050508"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
${o.recording ? '    recording: true\n' : ''}    group: g
    groups:
      - { id: g, members: [{ seat: "${seat}" }]${o.noAnswerSeconds ? `, noAnswerSeconds: ${o.noAnswerSeconds}` : ''} }
`;
}

/** Writes plans400.yaml, a third seat, narrows the trunks' inbound sources, reloads. */
export async function startInboundBench(o: Omit<BenchOptions, 'trunkPorts'> & { plans400: string; packageBalance: number }): Promise<InboundBench> {
  const trunkPorts: [number, number] = [await freeUdpPort(), await freeUdpPort()];
  const bench = await startBench({ ...o, trunkPorts });
  // A failure from here on would leave the bench's redis-server and stand-ins running after the
  // test file (its afterAll has no bench to stop).
  try {
    const carrierPort = await freeUdpPort();
    mkdirSync(join(bench.dir, 'seats'), { recursive: true });
    writeFileSync(join(bench.dir, 'seats', 'inbound.yaml'), `seats:
  - id: "1003"
    tenant: telesales
    password: ${SEAT_1003}
  - id: "1009"
    tenant: telesales
    password: ${SEAT_PASSWORDS['1009']}
`);
    writeFileSync(join(bench.dir, 'plans400.yaml'), o.plans400);
    const { readFileSync } = await import('node:fs');
    const trunks = join(bench.dir, 'trunks.yaml');
    writeFileSync(trunks, readFileSync(trunks, 'utf8').replaceAll('inboundSources: [127.0.0.1]', `inboundSources: ["127.0.0.1:${carrierPort}"]`));
    const r = await bench.store.reload('inbound bench');
    if (!r.ok) throw new Error(`inbound bench config rejected: ${JSON.stringify(r.errors)}`);
    await bench.app.ledger.createAccount(PACKAGE_ACCOUNT, { tenant: 'telesales', prepaidTotal: o.packageBalance });
    if (o.packageBalance > 0) await bench.app.ledger.topUp(PACKAGE_ACCOUNT, 'package', o.packageBalance, '400 package (002 §1.3)');
    const seatPorts: Record<string, number> = {};
    for (const seat of ['1001', '1002', '1003']) {
      seatPorts[seat] = await freeUdpPort();
      const reg = await runSipp({
        scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000, localPort: seatPorts[seat],
        injectionFile: injection([[seat, SEAT_PASSWORDS[seat]!, '']]), auth: { username: seat, password: SEAT_PASSWORDS[seat]! },
      });
      if (reg.exitCode !== 0) throw new Error(`seat ${seat} did not register: ${reg.errors}`);
    }
    return { ...bench, carrierPort, seatPorts, trunkPorts };
  } catch (err) {
    await bench.stop().catch(() => undefined);
    throw err;
  }
}

/** A seat's phone: answers (200), refuses (486 ...) or rings until cancelled, on its registered port. */
export function startSeat(bench: InboundBench, seat: string, o: TrunkOptions): Promise<SippProcess> {
  return startSipp({ scenario: trunkUas(o), localPort: bench.seatPorts[seat]!, timeoutMs: 120_000 });
}

const SDP = [
  'v=0', 'o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]', 's=-', 'c=IN IP[media_ip_type] [media_ip]', 't=0 0',
  'm=audio [media_port] RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', '',
].join('\r\n');

const dir = mkdtempSync(join(tmpdir(), 'dialgate-sipp-400-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;

export interface CarrierCallOptions {
  /** Final status the caller must get. */
  expect: number;
  /** Answered: the caller hangs up after holdMs, or waits for dialgate's BYE ('remote'). */
  holdMs?: number;
  hangup?: 'caller' | 'remote';
  remoteByeTimeoutMs?: number;
  /** RFC 4028: the INVITE offers `Supported: timer` and this Session-Expires. */
  sessionExpires?: number;
  /** The 200 must carry Session-Expires (the scenario fails otherwise). */
  expectSessionExpires?: boolean;
  /** hangup 'remote': session refreshes meanwhile answered or ignored (a caller gone silent). */
  refresh?: 'answer' | 'ignore';
  /** The INVITE's SDP instead of the plain RTP one (e.g. a WebRTC-shaped offer a browser accepts). */
  sdp?: string;
  /** false: sipp sends no RTP (the SDP names another program's port that speaks for the caller). */
  streamAudio?: boolean;
}

/** The carrier delivering a call to a 400 number: INVITE from the caller (field0) to the number (field1). */
export function carrierCall(o: CarrierCallOptions): string {
  const ack = (cseq: number, uri: string, extra = '') => `
  <send>
    <![CDATA[
ACK ${uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
${extra}Content-Length: 0

    ]]>
  </send>`;
  let body = `
  <send retrans="500">
    <![CDATA[
INVITE sip:[field1]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[field1]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sipp-carrier
${o.sessionExpires ? `Supported: timer\nSession-Expires: ${o.sessionExpires}\n` : ''}Content-Type: application/sdp
Content-Length: [len]

${o.sdp ?? SDP}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="180" optional="true"/>
`;
  if (o.expect !== 200) {
    body += `  <recv response="${o.expect}"/>\n${ack(1, 'sip:[field1]@[remote_ip]:[remote_port]')}\n`;
  } else {
    const se = o.expectSessionExpires ? '<action><ereg regexp="^ *[0-9]+" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="9"/></action>' : '';
    body += `  <recv response="200" rtd="true" rrs="true">${se}</recv>\n${ack(1, '[next_url]', o.expectSessionExpires ? 'X-Session-Expires-Seen: [$9]\n' : '')}\n${o.streamAudio === false ? '' : streamAudio()}`;
    if ((o.hangup ?? 'caller') === 'caller') {
      body += `  <pause milliseconds="${o.holdMs ?? 500}"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:[field0]@[local_ip]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
`;
    } else if (o.refresh) {
      body += awaitRemoteBye(o.refresh, o.remoteByeTimeoutMs ?? 20_000, 'carrierwait');
    } else {
      body += `  <recv request="BYE" timeout="${o.remoteByeTimeoutMs ?? 20_000}"/>
${OK_TO_REQUEST}`;
    }
  }
  const path = join(dir, `carrier-${o.expect}-${++n}.xml`);
  writeFileSync(path, `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="carrier-call">\n${body}\n</scenario>\n`);
  return path;
}

export interface InboundCallSpec extends CarrierCallOptions {
  from: string;
  to: string;
  calls?: number;
  concurrency?: number;
  timeoutMs?: number;
  /** Send from this port instead of the carrier's (a source that is not a carrier). */
  localPort?: number;
}

/** Places calls from the carrier's address with sipp; resolves with sipp's result. */
export function carrierCalls(bench: InboundBench, c: InboundCallSpec): Promise<SippResult> {
  const calls = c.calls ?? 1;
  const file = join(dir, `inject-${++n}.csv`);
  writeFileSync(file, `SEQUENTIAL\n${Array.from({ length: calls }, () => `${c.from};${c.to}`).join('\n')}\n`);
  return runSipp({
    scenario: carrierCall(c), target: bench.sipTarget, calls, localPort: c.localPort ?? bench.carrierPort,
    ...(c.concurrency ? { concurrency: c.concurrency } : {}), rate: 20, timeoutMs: c.timeoutMs ?? 20_000, injectionFile: file,
  });
}
