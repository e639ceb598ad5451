// Records what a real FreeSWITCH says to dialgate's watcher and reconciler (watcher-flow.ts):
//   DIALGATE_REAL_SERVERS=drachtio=H:P/S,sip=H:P,esl=H:P/PW FS_LOG=<freeswitch.log> \
//     npx tsx test/traces/record/watcher.ts <out-prefix>
// Writes <out-prefix>-inbound-esl.txt and -freeswitch-log.txt. A developer tool, never run by the
// tests (test/bench/freeswitch-watcher-realism.test.ts runs the same flow against the call bench).
import fs from 'node:fs';
import Srf from 'drachtio-srf';
import pino from 'pino';
import { realServers } from '../../e2e/real-servers.js';
import { watcherFlow } from './watcher-flow.js';

const real = realServers(process.env.DIALGATE_REAL_SERVERS ?? 'realstack')!;
const FS_LOG = process.env.FS_LOG ?? '/work/realstack-home/logs/freeswitch.log';
const [prefix] = process.argv.slice(2);

async function main(): Promise<void> {
  if (!prefix) throw new Error('usage: watcher.ts <out-prefix>');
  const logStart = fs.existsSync(FS_LOG) ? fs.statSync(FS_LOG).size : 0;
  const srf = new Srf();
  await new Promise<void>((resolve, reject) => {
    srf.connect({ host: real.drachtio.host, port: real.drachtio.port, secret: real.drachtio.secret });
    srf.once('connect', () => resolve());
    srf.once('error', reject);
  });
  try {
    const r = await watcherFlow({ esl: real.esl, srf, log: pino({ level: 'info' }) });
    console.log(JSON.stringify({ ...r, trace: undefined }, null, 2));
    fs.writeFileSync(`${prefix}-inbound-esl.txt`, r.trace.text());
  } finally {
    srf.disconnect();
    if (fs.existsSync(FS_LOG)) fs.writeFileSync(`${prefix}-freeswitch-log.txt`, fs.readFileSync(FS_LOG).subarray(logStart).toString('utf8'));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
