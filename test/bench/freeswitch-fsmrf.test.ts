// The fsmrf path end to end, as the app will run it: sipp caller → drachtio stand-in → an srf app using
// drachtio-fsmrf 4.1.2 → FreeSWITCH stand-in (SIP via drachtio, outbound event socket back to the app).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import Srf from 'drachtio-srf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrachtio, type DrachtioStandIn } from './drachtio/standin.js';
import { connectSrf, disconnectSrf } from './drachtio/harness.js';
import { startFreeSwitch, type FreeSwitchStandIn } from './freeswitch/index.js';
import { startRtpStream, type RtpStream } from './freeswitch/rtp-peer.js';
import { runSipp } from './sipp.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-fsmrf ships no types */
const require = createRequire(import.meta.url);
const Mrf = require('drachtio-fsmrf') as new (srf: Srf) => { connect(o: { address: string; port: number; secret: string; listenAddress?: string }): Promise<any> };

let drachtio: DrachtioStandIn;
let fsw: FreeSwitchStandIn;
let srf: Srf;
let ms: any;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fsmrf-'));

interface CallLog {
  steps: string[];
  play?: { playbackSeconds?: string; playbackMilliseconds?: string };
  playMs?: number;
  uuids: string[];
  error?: string;
  ended?: Promise<void>;
}
const calls: CallLog[] = [];
const streams: RtpStream[] = [];

beforeAll(async () => {
  drachtio = await startDrachtio();
  fsw = await startFreeSwitch({ enable3pcc: true });
  srf = await connectSrf(drachtio.adminPort, 'cymru', (s) => {
    s.invite((req: any, res: any) => {
      const log: CallLog = { steps: [], uuids: [] };
      calls.push(log);
      let done: () => void = () => undefined;
      log.ended = new Promise((r) => { done = r; });
      void (async () => {
        try {
          const { endpoint, dialog } = await ms.connectCaller(req, res);
          // The caller talks: sipp sends no RTP here, and on a silent leg the playback would stall
          // as on the real server (freeswitch-realism.test.ts covers that).
          streams.push(startRtpStream(fsw.channel(endpoint.uuid)!.rtpPort));
          log.uuids.push(endpoint.uuid);
          log.steps.push('connected');
          const eps = [endpoint];
          dialog.on('destroy', async () => {
            log.steps.push('caller-bye');
            await Promise.all(eps.map((e: any) => e.destroy()));
            log.steps.push('endpoints-destroyed');
            done();
          });
          const t0 = Date.now();
          log.play = await endpoint.play('silence_stream://500');
          log.playMs = Date.now() - t0;
          log.steps.push('played');
          await endpoint.execute('record_session', path.join(tmp, `${endpoint.uuid}.wav`));
          log.steps.push('recording');
          const ep2 = await ms.createEndpoint();
          eps.push(ep2);
          log.uuids.push(ep2.uuid);
          log.steps.push('second-endpoint');
          await endpoint.bridge(ep2);
          log.steps.push('bridged');
        } catch (err) {
          log.error = String(err);
          done();
        }
      })();
    });
  });
  ms = await new Mrf(srf).connect({ address: '127.0.0.1', port: fsw.eslPort, secret: 'ClueCon', listenAddress: '127.0.0.1' });
}, 20_000);

afterAll(async () => {
  for (const s of streams) s.stop();
  ms?.disconnect();
  if (srf) await disconnectSrf(srf);
  await fsw?.stop();
  await drachtio?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('drachtio-fsmrf against the FreeSWITCH stand-in', () => {
  it('MediaServer becomes ready: sofia status gives the drachtio_mrf SIP address', () => {
    expect(ms.sip.ipv4.udp.address).toBe(fsw.sipAddress);
    expect(ms.connected()).toBe(true);
  });

  it('caller → connectCaller, play, record_session, createEndpoint + bridge; caller BYE → endpoints gone', async () => {
    const result = await runSipp({
      scenario: 'call-basic', target: `127.0.0.1:${drachtio.sipPort}`, service: 'fsmrf', calls: 1, timeoutMs: 20_000,
    });
    expect(result.failed, result.stderr + result.errors).toBe(0);
    expect(result.successful).toBe(1);
    const log = calls[0];
    expect(log).toBeDefined();
    await log!.ended;
    expect(log!.error).toBeUndefined();
    expect(log!.steps).toEqual(['connected', 'played', 'recording', 'second-endpoint', 'bridged', 'caller-bye', 'endpoints-destroyed']);
    expect(log!.play?.playbackMilliseconds).toBe('500');
    expect(log!.playMs).toBeGreaterThanOrEqual(480);
    expect(fs.existsSync(path.join(tmp, `${log!.uuids[0]}.wav`))).toBe(true);
    const deadline = Date.now() + 3000;
    while (fsw.channels().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fsw.channels()).toEqual([]);
    for (const uuid of log!.uuids) await fsw.waitForEvent((e) => e.name === 'CHANNEL_DESTROY' && e.uuid === uuid);
    const hangups = fsw.events.filter((e) => e.name === 'CHANNEL_HANGUP_COMPLETE').map((e) => e.uuid);
    expect(hangups.sort()).toEqual([...log!.uuids].sort());
    // the recording grew when the channel ended
    expect(fs.statSync(path.join(tmp, `${log!.uuids[0]}.wav`)).size).toBeGreaterThan(44);
  }, 30_000);
});
