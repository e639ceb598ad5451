// The orphan-channel reconciler (src/media/channel-reconciler.ts) against the call bench's FreeSWITCH
// stand-in through the watcher's real event socket; its interval and grace run on an injected clock.
// Channels are made the ways a running system gets them: `originate null/… &park` (no owner), and
// SIP channels with X-esl-outbound naming a listener that stands for a dialgate instance.
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelReconciler, type ReconcileSettings } from '../../src/media/channel-reconciler.js';
import { FreeSwitchWatcher } from '../../src/media/freeswitch-watcher.js';
import { outboundListener } from '../bench/freeswitch/esl-reader.js';
import { startFreeSwitch, type FreeSwitchStandIn } from '../bench/freeswitch/index.js';
import { SipTestClient } from '../bench/freeswitch/sip-client.js';
import { manualClock, type ManualClock } from '../helpers/manual-clock.js';
import { until as untilCond } from '../calls/fakes.js';

const T0 = Date.parse('2026-11-23T10:00:00+08:00');
const EVERY = 60_000;
const GRACE = 30_000;

type Line = Record<string, unknown> & { msg: string; level: number };

/** test/calls/fakes.ts's until, named first and with a 5 s default. */
const until = (what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> => untilCond(pred, what, timeoutMs);

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Rig {
  fs: FreeSwitchStandIn;
  watcher: FreeSwitchWatcher;
  clock: ManualClock;
  lines: Line[];
  /** What this instance's calls hold; `heldNow` may replace it (a call taking a channel mid-round). */
  held: Set<string>;
  heldNow?: () => ReadonlySet<string>;
  settings: ReconcileSettings;
  reconciler: ChannelReconciler;
  /** Moves the clock on by `ms` and waits for the round the timer started there to finish. */
  tick(ms?: number): Promise<void>;
  /** A parked null channel, once the watcher has seen its CHANNEL_CREATE. */
  originate(name: string): Promise<string>;
}

async function rig(self: () => string | null = () => null): Promise<Rig> {
  const fs = await startFreeSwitch({ heartbeatMs: 60_000, enable3pcc: true });
  cleanup.push(() => fs.stop());
  const clock = manualClock(T0);
  const lines: Line[] = [];
  const log: Logger = pino({ level: 'debug' }, { write: (s: string) => { lines.push(JSON.parse(s) as Line); } });
  const watcher = new FreeSwitchWatcher({ host: '127.0.0.1', port: fs.eslPort, password: fs.password }, { clock, log });
  cleanup.push(() => watcher.stop());
  watcher.start();
  await until('the watcher', () => watcher.connected);
  const settings: ReconcileSettings = { enabled: true, intervalMs: EVERY, graceMs: GRACE };
  const r = {} as Rig;
  const reconciler = new ChannelReconciler({ watcher, held: () => r.heldNow?.() ?? r.held, self, settings: () => settings, clock, log });
  cleanup.push(() => reconciler.stop());
  reconciler.start();
  return Object.assign(r, {
    fs, watcher, clock, lines, held: new Set<string>(), settings, reconciler,
    async tick(ms = EVERY) {
      const before = reconciler.lastReport;
      clock.advance(ms);
      await until('the round', () => reconciler.lastReport !== before && clock.pending().length > 0);
    },
    async originate(name: string) {
      const uuid = /^\+OK (\S+)/.exec(fs.api(`originate null/${name} &park`))![1]!;
      await until('CHANNEL_CREATE', () => watcher.firstSeen(uuid) !== undefined);
      return uuid;
    },
  });
}

const kills = (lines: Line[]) => lines.filter((l) => l.msg.startsWith('orphan FreeSWITCH channel killed'));

describe('orphan-channel reconciler', () => {
  it('kills a channel no call holds at the first round past the grace period; a held one is untouched', async () => {
    const r = await rig();
    const live = await r.originate('live-call-leg');
    r.held.add(live);
    r.clock.advance(20_000);
    const orphan = await r.originate('lost-teardown');

    // T0+60 s: the orphan was first seen 40 s ago, past the 30 s grace: killed; the held one stays.
    await r.tick(40_000);
    expect(r.reconciler.lastReport).toMatchObject({ at: T0 + EVERY, channels: 2, held: 1, killed: 1, leftToOwner: 0 });
    await until('the orphan gone', () => r.fs.channel(orphan) === undefined);
    expect(r.fs.channel(live)).toBeDefined();
    expect(r.reconciler.killed).toBe(1);
    const [line] = kills(r.lines);
    expect(line).toMatchObject({ level: 40, uuid: orphan, channel: 'null/lost-teardown', application: 'park', owner: null, why: 'no-owner', ageSeconds: 40 });
    const destroyed = await r.fs.waitForEvent((e) => e.name === 'CHANNEL_DESTROY' && e.uuid === orphan);
    expect(destroyed.event.get('Hangup-Cause')).toBe('NORMAL_CLEARING');

    // The next rounds find nothing more to do.
    await r.tick();
    expect(r.reconciler.lastReport).toMatchObject({ channels: 1, held: 1, killed: 0 });
    expect(r.reconciler.killed).toBe(1);
  });

  it('a channel younger than the grace period is left alone: it may be a call being set up', async () => {
    const r = await rig();
    r.clock.advance(EVERY - 10_000);
    const young = await r.originate('being-set-up');
    await r.tick(10_000);
    expect(r.reconciler.lastReport).toMatchObject({ channels: 1, held: 0, killed: 0 });
    expect(r.fs.channel(young)).toBeDefined();
    // Still unheld a round later (70 s old): it was an orphan after all.
    await r.tick();
    expect(r.reconciler.lastReport).toMatchObject({ killed: 1 });
  });

  it('does not kill a channel a call takes while the round is asking about it', async () => {
    const r = await rig();
    const uuid = await r.originate('taken-mid-round');
    // Unheld when the round lists the channels; held by the time it would kill (the check right before).
    let asked = 0;
    r.heldNow = () => (++asked > 1 ? new Set([uuid]) : new Set());
    await r.tick();
    expect(asked).toBe(2);
    expect(r.reconciler.lastReport).toMatchObject({ channels: 1, killed: 0 });
    expect(r.fs.channel(uuid)).toBeDefined();
  });

  it('another dialgate\'s channels are left to it while it is up, and killed two rounds after it is gone', async () => {
    const other = await outboundListener();
    cleanup.push(() => other.close());
    const r = await rig(() => '127.0.0.1:1');
    const sip = await SipTestClient.start();
    cleanup.push(() => sip.close());
    // Two legs of the other instance's call, bridged (the socket app ends: a crash leaves them up).
    await sip.invite(r.fs.sipPort, { esl: `127.0.0.1:${other.port}` });
    await sip.invite(r.fs.sipPort, { esl: `127.0.0.1:${other.port}` });
    await until('two channels', () => r.fs.channels().length === 2);
    const [x, y] = r.fs.channels();
    expect(r.fs.api(`uuid_bridge ${x!.uuid} ${y!.uuid}`)).toBe(`+OK ${y!.uuid}\n`);
    await r.fs.waitForEvent((e) => e.name === 'CHANNEL_BRIDGE');

    await r.tick();
    expect(r.reconciler.lastReport).toMatchObject({ channels: 2, held: 0, killed: 0, leftToOwner: 2 });
    // The other instance dies: its listener and connections go.
    other.close();
    await new Promise((res) => setTimeout(res, 100));
    expect(r.fs.channels()).toHaveLength(2);
    await r.tick();
    expect(r.reconciler.lastReport, 'one refused connection may be a blip').toMatchObject({ killed: 0, leftToOwner: 2 });
    await r.tick();
    expect(r.reconciler.lastReport).toMatchObject({ killed: 2, leftToOwner: 0 });
    await until('both legs gone', () => r.fs.channels().length === 0);
    expect(kills(r.lines).map((l) => [l.why, l.owner])).toEqual([
      ['owner-gone', `127.0.0.1:${other.port}`], ['owner-gone', `127.0.0.1:${other.port}`],
    ]);
  });

  it('this instance\'s own channel that no call holds is an orphan (a release whose kill and BYE were lost)', async () => {
    const us = await outboundListener();
    cleanup.push(() => us.close());
    const self = `127.0.0.1:${us.port}`;
    const r = await rig(() => self);
    const sip = await SipTestClient.start();
    cleanup.push(() => sip.close());
    await sip.invite(r.fs.sipPort, { esl: self });
    await until('the channel', () => r.fs.channels().length === 1);
    await r.tick();
    expect(r.reconciler.lastReport).toMatchObject({ killed: 1 });
    expect(kills(r.lines)[0]).toMatchObject({ why: 'own', owner: self });
  });

  it('runs no round while disabled or while the watcher is away, and picks the interval up from the settings', async () => {
    const r = await rig();
    await r.originate('left-behind');
    r.settings.enabled = false;
    r.clock.advance(EVERY * 3);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.reconciler.lastReport).toBeNull();
    expect(r.fs.channels()).toHaveLength(1);
    // A reload to every 10 s applies from the round after the one already waiting.
    r.settings.enabled = true;
    r.settings.intervalMs = 10_000;
    await r.tick(EVERY);
    expect(r.reconciler.lastReport).toMatchObject({ killed: 1 });
    expect(r.clock.pending()).toEqual([10_000]);
  });
});
