// The baselines for bench:b2bua: a bare drachtio-srf B2BUA (no policy, no auth, no Redis, no CDR)
// relaying every INVITE to the trunk. Run as its own process so its CPU time can be read.
// Usage: tsx test/benchmarks/bare-b2bua.ts <drachtio admin port> <trunk port> [secret] [--challenge]
//
// --challenge: the same B2BUA, but every INVITE must carry digest credentials first (407, then the
// seat's second INVITE, verified with MD5 qop=auth against the bench seats' passwords). It is the
// least any authenticating B2BUA costs: what the challenge exchange alone adds to drachtio-server,
// the caller's sipp and the app, so dialgate's own overhead can be told apart from it.
import { createHash, randomBytes } from 'node:crypto';
import Srf from 'drachtio-srf';

const args = process.argv.slice(2);
const challenge = args.includes('--challenge');
const [adminPort, trunkPort] = args.slice(0, 2).map(Number);
const secret = args[2] && !args[2].startsWith('--') ? args[2] : 'cymru';
const REALM = 'dialgate.test';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
// One compiled pattern per parameter (built once: the baseline should cost what it must, no more).
const PARAM = Object.fromEntries(['username', 'nonce', 'uri', 'nc', 'cnonce', 'response']
  .map((name) => [name, new RegExp(`(?:^|[\\s,])${name}="?([^",]*)"?`)]));
const field = (v: string, name: string): string | undefined => PARAM[name]!.exec(v)?.[1];

/** True for a correct qop=auth MD5 response; the bench's seat N has password pw-N-bench. */
function authorized(method: string, value: string): boolean {
  const user = field(value, 'username');
  const nonce = field(value, 'nonce');
  const uri = field(value, 'uri');
  const nc = field(value, 'nc');
  const cnonce = field(value, 'cnonce');
  const response = field(value, 'response');
  if (!user || !nonce || !uri || !response) return false;
  const ha1 = md5(`${user}:${REALM}:pw-${user}-bench`);
  const ha2 = md5(`${method}:${uri}`);
  return md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) === response;
}

const srf = new Srf();
srf.invite((req, res) => {
  if (challenge) {
    const credentials = req.get('Proxy-Authorization');
    if (!credentials) {
      res.send(407, { headers: { 'Proxy-Authenticate': `Digest realm="${REALM}", nonce="${randomBytes(24).toString('base64url')}", algorithm=MD5, qop="auth"` } });
      return;
    }
    if (!authorized(req.method, credentials)) { res.send(403); return; }
  }
  const user = /sip:([^@;>]+)@/.exec(req.uri)?.[1] ?? 'x';
  srf.createB2BUA(req, res, `sip:${user}@127.0.0.1:${trunkPort}`, { localSdpB: req.body })
    .then(({ uas, uac }) => {
      uas.on('destroy', () => { Promise.resolve().then(() => uac.destroy()).catch(() => {}); });
      uac.on('destroy', () => { Promise.resolve().then(() => uas.destroy()).catch(() => {}); });
    })
    .catch(() => {});
});
await srf.connect({ host: '127.0.0.1', port: adminPort!, secret });
process.stdout.write('ready\n');
process.on('SIGTERM', () => { srf.disconnect(); process.exit(0); });
