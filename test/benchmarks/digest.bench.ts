// The digest work of one authenticated INVITE: a challenge (407), then the verification of the
// answer. Run: npx tsx test/benchmarks/digest.bench.ts   (env N=200000)
import { createHash } from 'node:crypto';
import { createDigestAuth, parseAuthorization } from '../../src/auth/digest.js';

const N = Number(process.env.N ?? 200_000);
const REALM = 'dialgate.example';
const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const ha1 = md5(`8001:${REALM}:pw`);
const auth = createDigestAuth({ secrets: ['0123456789abcdef-bench'] });

function time(name: string, f: (i: number) => unknown): void {
  for (let i = 0; i < N / 4; i++) f(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f(i);
  console.log(`${name}: ${(Number(process.hrtime.bigint() - t0) / 1000 / N).toFixed(2)} µs`);
}

time('challenge', (i) => auth.challenge(REALM, T0 + i));
// A phone's answer to one challenge, verified (the response is computed once, outside the timing).
const nonce = /nonce="([^"]+)"/.exec(auth.challenge(REALM, T0))![1]!;
const uri = 'sip:013812345678@dialgate.example';
const response = md5(`${ha1}:${nonce}:00000001:abc:auth:${md5(`INVITE:${uri}`)}`);
const authorization = `Digest username="8001", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, cnonce="abc", qop=auth, nc=00000001`;
time('verify', () => auth.verify({ method: 'INVITE', authorization, ha1, realm: REALM, now: T0 + 1000 }));
time('parseAuthorization', () => parseAuthorization(authorization));
const parsed = parseAuthorization(authorization);
if (!parsed.ok) throw new Error(parsed.error);
time('verify (parsed)', () => auth.verify({ method: 'INVITE', authorization: parsed.value, ha1, realm: REALM, now: T0 + 1000 }));
