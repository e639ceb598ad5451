// Media operations end on time even when FreeSWITCH does not: a prompt to a silent leg, a bridged
// channel that never runs its queued hangup, a media server that stopped answering.
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  MediaDeadlineError, PROMPT_MARGIN_MS, promptDeadlineMs, promptDurationMs, RELEASE_TIMEOUT_MS, UNKNOWN_PROMPT_MS, withDeadline,
} from '../../src/media/deadlines.js';
import { playBounded, releaseEndpoint, type MediaEndpoint } from '../../src/media/media-gateway.js';

const SOUNDS = { localDir: fileURLToPath(new URL('../../freeswitch/sounds', import.meta.url)) };
const log = pino({ level: 'silent' });
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/** An endpoint as FreeSWITCH leaves it: commands recorded, the given operations never finish. */
class StuckEndpoint extends EventEmitter implements MediaEndpoint {
  uuid = 'ep-1';
  apis: string[] = [];
  byes = 0;
  /** What uuid_kill does: by default FreeSWITCH hangs up and the destroy completes. */
  killWorks = true;
  private destroyed: (() => void) | null = null;
  dialog = { destroy: async () => { this.byes++; } };
  play(): Promise<unknown> { return never(); }
  execute(): Promise<unknown> { return never(); }
  async api(command: string, args?: string | string[]): Promise<unknown> {
    this.apis.push(`${command} ${String(args)}`);
    if (command === 'uuid_kill' && this.killWorks) this.destroyed?.();
    if (command === 'uuid_kill' && !this.killWorks) return never();
    return '+OK\n';
  }
  destroy(): Promise<unknown> {
    // fsmrf queues `execute hangup`, which a bridged channel never runs: only a kill ends it.
    return new Promise<void>((resolve) => { this.destroyed = resolve; });
  }
}

describe('prompt lengths', () => {
  it('reads the shipped WAV prompts and tone streams; unknown files get the long bound', () => {
    const ms = promptDurationMs('dialgate/window-closed.wav', SOUNDS)!;
    expect(ms).toBeGreaterThan(1_000);
    expect(ms).toBeLessThan(15_000);
    expect(promptDurationMs('/usr/local/freeswitch/sounds/dialgate/window-closed.wav', SOUNDS)).toBe(ms);
    expect(promptDeadlineMs('dialgate/window-closed.wav', SOUNDS)).toBe(ms + PROMPT_MARGIN_MS);
    expect(promptDurationMs('tone_stream://%(400,200,800);loops=3')).toBe(1_800);
    expect(promptDurationMs('silence_stream://250')).toBe(250);
    expect(promptDurationMs('tone_stream://%(400,200,800);loops=-1')).toBeNull();
    expect(promptDeadlineMs('dialgate/missing.wav', SOUNDS)).toBe(UNKNOWN_PROMPT_MS);
    expect(promptDeadlineMs('dialgate/../../etc/passwd', SOUNDS)).toBe(UNKNOWN_PROMPT_MS);
  });
});

describe('bounded media operations', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('an endpoint (or dialog) that arrives after its deadline is handed to onLate to be let go; one in time is not', async () => {
    const late: string[] = [];
    let resolveSlow!: (v: string) => void;
    const slow = withDeadline(new Promise<string>((r) => { resolveSlow = r; }), 1000, 'media endpoint', (v) => late.push(v));
    const caught = slow.catch((e: unknown) => e);
    const quick = withDeadline(Promise.resolve('in-time'), 1000, 'media endpoint', (v) => late.push(v));
    expect(await quick).toBe('in-time');
    await vi.advanceTimersByTimeAsync(1001);
    expect(await caught).toBeInstanceOf(MediaDeadlineError);
    resolveSlow('ep-late');
    await vi.advanceTimersByTimeAsync(0);
    expect(late).toEqual(['ep-late']);
  });

  it('a prompt that never finishes is broken off at its length + margin', async () => {
    const ep = new StuckEndpoint();
    let result: boolean | undefined;
    void playBounded(ep, 'dialgate/window-closed.wav', log, SOUNDS).then((r) => { result = r; });
    const deadline = promptDeadlineMs('dialgate/window-closed.wav', SOUNDS);
    await vi.advanceTimersByTimeAsync(deadline - 10);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20);
    expect(result).toBe(false);
    expect(ep.apis).toEqual(['uuid_break ep-1 all']);
  });

  it('a bridged endpoint is released by uuid_kill, not left waiting for its queued hangup', async () => {
    const ep = new StuckEndpoint();
    let done = false;
    void releaseEndpoint(ep, log).then(() => { done = true; });
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(ep.apis).toEqual(['uuid_kill ep-1']);
    expect(ep.byes).toBe(0);
  });

  it('a media server that answers nothing: release gives up after the bound and sends our own BYE', async () => {
    const ep = new StuckEndpoint();
    ep.killWorks = false;
    let done = false;
    void releaseEndpoint(ep, log).then(() => { done = true; });
    await vi.advanceTimersByTimeAsync(RELEASE_TIMEOUT_MS - 10);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(20);
    expect(done).toBe(true);
    expect(ep.byes).toBe(1);
  });
});
