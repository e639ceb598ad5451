// The FreeSWITCH stand-in in a process of its own, so a test can kill it (SIGKILL) mid-call the
// way a crashed FreeSWITCH goes: sockets reset, no BYE, no CHANNEL_HANGUP. Prints one JSON line
// with its event-socket port and password, then runs until killed.
import { startFreeSwitch } from '../bench/freeswitch/index.js';

const fs = await startFreeSwitch({ defaultPlaybackMs: 200 });
process.stdout.write(`${JSON.stringify({ eslPort: fs.eslPort, password: fs.password })}\n`);
process.on('SIGTERM', () => { void fs.stop().finally(() => process.exit(0)); });
