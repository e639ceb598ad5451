// The FreeSWITCH watcher (src/media/freeswitch-watcher.ts) over a real event socket: the call bench's
// FreeSWITCH stand-in, which answers as 1.10.12 did (freeswitch-watcher-realism.test.ts). Backoff and
// channel ages run on an injected clock; the sockets are real.
import net from 'node:net';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FreeSwitchWatcher } from '../../src/media/freeswitch-watcher.js';
import { startFreeSwitch, type FreeSwitchOptions, type FreeSwitchStandIn } from '../bench/freeswitch/index.js';
import { manualClock } from '../helpers/manual-clock.js';
import { until as untilCond } from '../calls/fakes.js';

const T0 = Date.parse('2026-11-23T10:00:00+08:00');

type Line = Record<string, unknown> & { msg: string; level: number };

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  return { lines, log: pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Line); } }) };
}

/** test/calls/fakes.ts's until, named first and with a 5 s default. */
const until = (what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> => untilCond(pred, what, timeoutMs);

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function standIn(o: FreeSwitchOptions = {}): Promise<FreeSwitchStandIn> {
  const fs = await startFreeSwitch({ heartbeatMs: 60_000, ...o });
  cleanup.push(() => fs.stop());
  return fs;
}

function watch(port: number, o: { password?: string; connectTimeoutMs?: number; commandTimeoutMs?: number } = {}) {
  const clock = manualClock(T0);
  const { log, lines } = capture();
  const w = new FreeSwitchWatcher({ host: '127.0.0.1', port, password: o.password ?? 'ClueCon' }, { clock, log, ...o });
  cleanup.push(() => w.stop());
  w.start();
  return { w, clock, lines };
}

describe('FreeSWITCH watcher', () => {
  it('reports FreeSWITCH\'s status at connect and follows channels through CHANNEL_CREATE / CHANNEL_DESTROY', async () => {
    const fs = await standIn();
    fs.api('originate null/before-us &park');
    const { w, clock } = watch(fs.eslPort);
    expect(w.connected).toBe(false);
    await until('connected', () => w.connected);
    // One channel was up before we came: the first listing found it, first seen now.
    expect(w.health()).toMatchObject({ connected: true, sessions: 1, maxSessions: 1000, sessionsPerSecond: 0, idleCpu: 97.9, version: '1.10.12-release', reportedAt: T0, disconnects: 0 });
    const [early] = fs.channels();
    expect(w.firstSeen(early!.uuid)).toBe(T0);

    clock.advance(90_000);
    // Uptime counts on between reports (no HEARTBEAT in these 90 s of our clock).
    expect(w.health().uptimeSeconds).toBeGreaterThanOrEqual(90);
    const uuid = /^\+OK (\S+)/.exec(fs.api('originate null/after-us &park'))![1]!;
    await until('CHANNEL_CREATE', () => w.health().sessions === 2);
    expect(w.firstSeen(uuid)).toBe(T0 + 90_000);
    fs.kill(uuid);
    fs.kill(early!.uuid);
    await until('CHANNEL_DESTROY', () => w.health().sessions === 0);
    expect(w.firstSeen(uuid)).toBeUndefined();
    // Whatever the events said, a listing agrees.
    expect(await w.channels()).toEqual([]);
  });

  it('takes load figures from HEARTBEAT: sessions per second as FreeSWITCH counted them', async () => {
    const fs = await standIn({ heartbeatMs: 200, sessionsPerSecond: 100 });
    const { w } = watch(fs.eslPort);
    await until('connected', () => w.connected);
    for (let i = 0; i < 3; i++) fs.api(`originate null/burst-${i} &park`);
    // The stand-in, like switch_time.c, rolls its per-second count once a second; the next HEARTBEAT carries it.
    await until('a HEARTBEAT with the burst', () => w.health().sessionsPerSecondPeak5m === 3, 5000);
    expect(w.health()).toMatchObject({ connected: true, sessions: 3, maxSessions: 1000, idleCpu: 97.9 });
    expect(w.health().version).toBe('1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit');
  });

  it('reconnects with backoff (1 s, 2 s, 4 s …) when FreeSWITCH goes away, and re-synchronises its channels', async () => {
    const first = await startFreeSwitch({ heartbeatMs: 60_000 });
    const port = first.eslPort;
    first.api('originate null/gone-with-it &park');
    const { w, clock, lines } = watch(port);
    await until('connected', () => w.connected);
    expect(w.health().sessions).toBe(1);

    await first.stop();
    await until('the loss noticed', () => !w.connected);
    expect(w.health()).toMatchObject({ connected: false, disconnects: 1 });
    expect(lines.some((l) => l.level === 50 && /lost the event socket/.test(l.msg))).toBe(true);
    await expect(w.api('status')).rejects.toThrow(/not connected/);
    expect(clock.pending()).toEqual([1000]);
    // Nothing listens: each attempt fails and the next waits twice as long.
    for (const delay of [1000, 2000, 4000]) {
      const tried = lines.length;
      clock.advance(delay);
      await until('the attempt to fail', () => clock.pending().length === 1 && lines.length > tried);
    }
    expect(lines.filter((l) => l.msg === 'FreeSWITCH event socket unavailable').map((l) => l.retryInMs)).toEqual([1000, 2000, 4000, 8000]);

    // FreeSWITCH is back on the same port, with a channel of its own.
    const second = await standIn({ eslPort: port });
    second.api('originate null/already-there &park');
    clock.advance(8000);
    await until('reconnected', () => w.connected);
    expect(w.health()).toMatchObject({ connected: true, sessions: 1, disconnects: 1 });
    expect(w.firstSeen(second.channels()[0]!.uuid)).toBe(clock.now());
    // The backoff starts again from 1 s.
    await second.stop();
    await until('lost again', () => !w.connected);
    expect(clock.pending()).toEqual([1000]);
  });

  it('gives up on a server that accepts but never greets, and retries', async () => {
    const silent = net.createServer(() => { /* accepts, says nothing */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => silent.close(r)));
    const { w, clock, lines } = watch((silent.address() as net.AddressInfo).port, { connectTimeoutMs: 200 });
    await until('the retry scheduled', () => clock.pending().length === 1, 3000);
    expect(w.connected).toBe(false);
    expect(lines.some((l) => l.msg === 'FreeSWITCH event socket unavailable')).toBe(true);
  });

  it('a wrong password is an error line that does not contain it; the process carries on retrying', async () => {
    const fs = await standIn({ password: 'right-one' });
    const { w, clock, lines } = watch(fs.eslPort, { password: 'wrong-secret-xyz' });
    await until('refused', () => lines.some((l) => /refused the password/.test(l.msg)));
    await until('the retry scheduled', () => clock.pending().length === 1);
    expect(w.connected).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('wrong-secret-xyz');
  });

  it('an api command left unanswered is given up on and the connection dropped (a hung event socket)', async () => {
    const fs = await standIn();
    // A relay that can stop forwarding, like a FreeSWITCH that stopped reading its socket.
    let frozen = false;
    const relay = net.createServer((client) => {
      const up = net.connect(fs.eslPort, '127.0.0.1');
      client.on('data', (d) => { if (!frozen) up.write(d); });
      up.on('data', (d) => client.write(d));
      const end = () => { client.destroy(); up.destroy(); };
      client.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => { relay.close(r); }));
    const { w, clock, lines } = watch((relay.address() as net.AddressInfo).port, { commandTimeoutMs: 300 });
    await until('connected', () => w.connected);
    frozen = true;
    const started = Date.now();
    await expect(w.api('show', 'channels as json')).rejects.toThrow(/no reply within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    await until('dropped', () => !w.connected && clock.pending().length === 1);
    expect(lines.some((l) => /did not answer: reconnecting/.test(l.msg))).toBe(true);
  });
});
