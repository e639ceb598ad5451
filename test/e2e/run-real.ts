// `npm run test:real`: the e2e suites against the real drachtio-server and FreeSWITCH (started by
// ../shared/realstack/up.sh, or named in DIALGATE_REAL_SERVERS), never part of `npm test` or CI.
// When they are not reachable it says so in one line and exits 0.
import { spawnSync } from 'node:child_process';
import { realServers, reachable } from './real-servers.js';

const SUITES = [
  'test/e2e/outbound-calls.test.ts',
  'test/e2e/drachtio-restart.test.ts', // restarts realstack's drachtio-server (needs REALSTACK_HOME)
  'test/e2e/prepaid-calls.test.ts',
  'test/e2e/prepaid-race.test.ts',
  'test/e2e/emergency-calls.test.ts',
  'test/e2e/inbound-calls.test.ts',
  'test/e2e/anchored-calls.test.ts',
  'test/e2e/fraud-caps.test.ts',
  'test/e2e/seat-security.test.ts', // the SHA-256 challenge lines through the real drachtio-server
  'test/e2e/hung-calls.test.ts', // 90 s session intervals there: about 3 minutes
  'test/e2e/session-timers.test.ts', // 400 calls' timers and 422 from trunks: about 3 minutes too
  'test/e2e/orphan-channels.test.ts', // issue 14: an originated channel killed by the reconciler, a live call untouched
  'test/e2e/webrtc-calls.test.ts', // issue 13: Chromium over ws (needs ws=HOST:PORT in DIALGATE_REAL_SERVERS), DTLS, RTP, recording
  'test/e2e/transfer-calls.test.ts', // issue 13: REFER from sipp seats; NOTIFYs and re-INVITEs through the real drachtio-server
];

const spec = process.env.DIALGATE_REAL_SERVERS ?? 'realstack';
const real = realServers(spec)!;
const up = await Promise.all([reachable(real.drachtio.host, real.drachtio.port), reachable(real.esl.host, real.esl.port)]);
if (!up.every(Boolean)) {
  console.log(`test:real skipped: no drachtio-server at ${real.drachtio.host}:${real.drachtio.port} or FreeSWITCH event socket at ${real.esl.host}:${real.esl.port} (start ../shared/realstack/up.sh, or set DIALGATE_REAL_SERVERS)`);
  process.exit(0);
}
console.log(`test:real against drachtio ${real.drachtio.host}:${real.drachtio.port} (SIP ${real.sip}), FreeSWITCH ESL ${real.esl.host}:${real.esl.port}`);
const files = process.argv.slice(2).length ? process.argv.slice(2) : SUITES;
const r = spawnSync('npx', ['vitest', 'run', '--config', 'test/vitest.config.ts', ...files], {
  stdio: 'inherit', env: { ...process.env, DIALGATE_REAL_SERVERS: spec },
});
process.exit(r.status ?? 1);
