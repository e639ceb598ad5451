// The call bench's stand-ins (drachtio-server, FreeSWITCH) in a process of their own, so a
// benchmark measures the app without the stand-ins sharing its event loop. Prints one JSON line
// with the ports, then runs until SIGTERM.
import { startDrachtio } from '../bench/drachtio/standin.js';
import { startFreeSwitch } from '../bench/freeswitch/index.js';

const drachtio = await startDrachtio({ recordFrames: false });
const fs = await startFreeSwitch({ defaultPlaybackMs: 200 });
process.stdout.write(`${JSON.stringify({ adminPort: drachtio.adminPort, sipPort: drachtio.sipPort, eslPort: fs.eslPort, password: fs.password })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([drachtio.stop(), fs.stop()]).finally(() => process.exit(0));
});
