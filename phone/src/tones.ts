// Call-progress tones the page makes itself (Web Audio; no sound files): the ring of an incoming
// 400 call, so an agent hears it with the tab in the background, and ringback while an outbound
// call rings without early media. China's tones (YDN 065, GB/T 15279): 450 Hz, ring 1 s on 4 s off.
// An AudioContext may only start after a user gesture: unlock() is called from the sign-in click.

export type Tone = 'ring' | 'ringback' | null;

const CADENCE: Record<Exclude<Tone, null>, { hz: number; onMs: number; offMs: number; gain: number }> = {
  ring: { hz: 450, onMs: 1000, offMs: 4000, gain: 0.25 },
  ringback: { hz: 450, onMs: 1000, offMs: 4000, gain: 0.12 },
};

export class Tones {
  private ctx: AudioContext | null = null;
  private playing: Tone = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private osc: OscillatorNode | null = null;

  /** Called from a click: creates (or resumes) the audio context while a gesture allows it. */
  unlock(): void {
    try {
      this.ctx ??= new AudioContext();
      void this.ctx.resume().catch(() => undefined);
    } catch {
      this.ctx = null; // no Web Audio: the page still shows the state
    }
  }

  get current(): Tone { return this.playing; }

  /** Plays `tone` in its cadence until another tone or null; the same tone again changes nothing. */
  play(tone: Tone): void {
    if (tone === this.playing) return;
    this.stopBurst();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.playing = tone;
    if (tone) this.burst(tone);
  }

  private burst(tone: Exclude<Tone, null>): void {
    if (this.playing !== tone) return;
    const c = CADENCE[tone];
    const ctx = this.ctx;
    if (ctx) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = c.hz;
      gain.gain.value = c.gain;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + c.onMs / 1000);
      this.osc = osc;
    }
    this.timer = setTimeout(() => this.burst(tone), c.onMs + c.offMs);
  }

  private stopBurst(): void {
    try {
      this.osc?.stop();
    } catch {
      // already stopped at the end of its burst
    }
    this.osc = null;
  }
}
