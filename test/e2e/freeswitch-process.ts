// The FreeSWITCH stand-in in a process of its own, so a test can kill it (SIGKILL) mid-call the
// way a crashed FreeSWITCH goes: sockets reset, no BYE, no CHANNEL_HANGUP. Prints one JSON line
// with its event-socket port and password, then runs until killed. Given a port, listens there.
import { startFreeSwitch } from '../bench/freeswitch/index.js';

// An event-socket port as the first argument: a restarted FreeSWITCH comes back where it was.
const eslPort = process.argv[2] ? Number(process.argv[2]) : undefined;
const fs = await startFreeSwitch({ defaultPlaybackMs: 200, ...(eslPort ? { eslPort } : {}) });
process.stdout.write(`${JSON.stringify({ eslPort: fs.eslPort, password: fs.password })}\n`);
process.on('SIGTERM', () => { void fs.stop().finally(() => process.exit(0)); });
