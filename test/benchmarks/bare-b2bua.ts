// The baseline for bench:b2bua: a bare drachtio-srf B2BUA (no policy, no auth, no Redis, no CDR)
// relaying every INVITE to the trunk. Run as its own process so its CPU time can be read.
// Usage: tsx test/benchmarks/bare-b2bua.ts <drachtio admin port> <trunk port> [secret]
import Srf from 'drachtio-srf';

const [adminPort, trunkPort] = process.argv.slice(2, 4).map(Number);
const secret = process.argv[4] ?? 'cymru';
const srf = new Srf();
srf.invite((req, res) => {
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
