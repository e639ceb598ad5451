// What reading an INVITE's headers costs through drachtio-srf's get()/has() (each call normalises
// the name, reads process.env and scans the header names): the authenticator's reads before and
// after reading each header once. Run: npx tsx test/benchmarks/headers.bench.ts   (env N=300000)
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SipMessage = require('drachtio-srf/lib/sip-parser/message.js') as new (raw: string) => { get(h: string): string | undefined; has(h: string): boolean };
const N = Number(process.env.N ?? 300_000);
const invite = [
  'INVITE sip:013812345678@dialgate.example SIP/2.0',
  'Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-1',
  'Max-Forwards: 70',
  'From: "8001" <sip:8001@dialgate.example>;tag=1',
  'To: <sip:013812345678@dialgate.example>',
  'Call-ID: 1-123@10.0.0.9',
  'CSeq: 2 INVITE',
  'Contact: <sip:8001@10.0.0.9:5060>',
  'Proxy-Authorization: Digest username="8001", realm="dialgate.example", nonce="x", uri="sip:013812345678@dialgate.example", response="0123456789abcdef0123456789abcdef", algorithm=MD5, cnonce="a", qop=auth, nc=00000001',
  'User-Agent: Yealink SIP-T46S 66.86.0.15',
  'Allow: INVITE, ACK, CANCEL, BYE, REFER, OPTIONS, NOTIFY, INFO',
  'Supported: replaces, timer',
  'Content-Type: application/sdp',
  'Content-Length: 0',
  '', ''].join('\r\n');
const req = new SipMessage(invite);

function time(name: string, f: () => unknown): void {
  for (let i = 0; i < N / 4; i++) f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  console.log(`${name}: ${(Number(process.hrtime.bigint() - t0) / 1000 / N).toFixed(2)} µs`);
}

time('has + get (before)', () => [
  req.has('Proxy-Authorization') ? req.get('Proxy-Authorization') : undefined, req.get('Call-ID'),
  req.has('User-Agent') ? req.get('User-Agent') : undefined]);
time('get once (after)  ', () => [req.get('Proxy-Authorization'), req.get('Call-ID'), req.get('User-Agent')]);
