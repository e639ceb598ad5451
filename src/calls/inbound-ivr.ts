// What a 400 call plays through FreeSWITCH before (or instead of) ringing anyone: early-media
// announcements, answering the caller for prompts, the PIN (002 §1.3 密码保护) and voicemail.
// Every media step is bounded (src/media/deadlines.ts) and checks whether the call was abandoned.
import { PROMPT_MARGIN_MS, promptDeadlineMs } from '../media/deadlines.js';
import { executeBounded, playBounded, releaseEndpoint, type Endpoint } from '../media/media-gateway.js';
import type { InboundConnect, InboundTraceEntry, InboundVoicemail } from '../policy/inbound/types.js';
import type { CallSession } from './call-session.js';

export class InboundIvr {
  /** Endpoint of an early-media announcement in progress (broken off on CANCEL / shutdown). */
  announcing: Endpoint | undefined;

  constructor(private readonly s: CallSession, private readonly trace: InboundTraceEntry[]) {}

  /** Plays a file as early media (183 from a FreeSWITCH endpoint), then returns. */
  async earlyMedia(file: string): Promise<void> {
    const { s } = this;
    const { media } = s.deps;
    if (!media.available || !s.req.body || s.aborted) return;
    let ep: Endpoint | undefined = s.epA;
    const own = !ep;
    try {
      ep ??= await media.endpointFor(s.req.body);
      if (s.aborted) return;
      this.announcing = ep;
      if (!s.res.finalResponseSent) s.res.send(183, { body: ep.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
      await playBounded(ep, file, s.log, media.prompts);
    } catch (err) {
      s.log.warn({ err, file }, 'announcement failed');
    } finally {
      this.announcing = undefined;
      if (own) await releaseEndpoint(ep, s.log);
    }
  }

  /** Plays a prompt to the answered caller; a failure is logged, never thrown. */
  async play(file: string, what: string): Promise<void> {
    const { s } = this;
    if (!s.epA || s.aborted) return;
    await playBounded(s.epA, file, s.log, s.deps.media.prompts).catch((err: unknown) => s.log.warn({ err }, `${what} failed`));
  }

  /** Answers the caller through FreeSWITCH (for prompts, PIN, voicemail); false when the caller left first. */
  async answerCaller(): Promise<boolean> {
    const { s } = this;
    s.epA ??= await s.deps.media.endpointFor(s.req.body);
    if (s.aborted) return false;
    s.to('ivr');
    try {
      await s.answerCaller(s.epA.local.sdp);
    } catch (err) {
      if (s.cancelled) return false;
      throw err;
    }
    // Shutdown while the 200 OK was being sent: the stop had no dialog to end yet.
    return !s.aborted;
  }

  /** Up to maxAttempts tries; 'gone' when the call was abandoned meanwhile. */
  async collectPin(pin: NonNullable<InboundConnect['pin']>): Promise<'ok' | 'failed' | 'gone'> {
    const { s } = this;
    for (let attempt = 1; attempt <= pin.maxAttempts; attempt++) {
      if (s.aborted) break;
      const len = pin.digits.length;
      // min max tries timeout terminators file invalid_file var_name regexp digit_timeout
      const args = [len, len, 1, 8000, '#', attempt === 1 || !pin.invalidPrompt ? pin.prompt : pin.invalidPrompt, 'silence_stream://250', 'dg_pin', '\\d+', 4000];
      // Deadline: the prompt, the first-digit timeout and one inter-digit timeout per digit.
      const ms = promptDeadlineMs(String(args[5]), s.deps.media.prompts) + 8000 + 4000 * len;
      const evt = await executeBounded<{ getHeader(h: string): string | undefined }>(s.epA!, 'play_and_get_digits', args.join(' '), ms, s.log);
      if (s.aborted) break;
      if (evt.getHeader('variable_dg_pin') === pin.digits) {
        this.trace.push({ step: 'pin', outcome: 'pass', detail: `PIN correct on attempt ${attempt}` });
        return 'ok';
      }
      s.log.info({ attempt }, 'wrong PIN');
    }
    if (s.aborted) {
      this.trace.push({ step: 'pin', outcome: 'skip', detail: `abandoned during the PIN (${s.stop?.by ?? 'system'} ${s.stop?.cause ?? ''})`.trim() });
      return 'gone';
    }
    this.trace.push({ step: 'pin', outcome: 'deny', detail: `wrong PIN ${pin.maxAttempts} times: hung up` });
    return 'failed';
  }

  /** Outside service hours with voicemail: the prompt, then a recording of the caller. */
  async voicemail(d: InboundVoicemail): Promise<void> {
    const { s } = this;
    if (!s.deps.media.available || !s.req.body) {
      s.sendFinal(480, 'Outside service hours');
      return s.finish(480, { decision: 'deny', denyReason: 'closed' });
    }
    if (!(await this.answerCaller())) return s.abandon();
    const path = s.recordingFile(d.owner, 'vm-');
    try {
      if (d.action.prompt && !s.aborted) await playBounded(s.epA!, d.action.prompt, s.log, s.deps.media.prompts);
      if (!s.aborted) {
        s.recordingPath = path;
        await executeBounded(s.epA!, 'record', `${path} ${d.action.maxSeconds}`, d.action.maxSeconds * 1000 + PROMPT_MARGIN_MS, s.log);
      }
    } catch (err) {
      s.log.warn({ err }, 'voicemail failed');
    }
    if (s.aborted && s.stop?.by !== 'caller') return s.abandon();
    if (s.stop?.by === 'caller') s.note('caller', 'voicemail');
    else {
      s.note('system', 'voicemail-done');
      s.hangupCaller();
    }
    await s.releaseMedia();
    await s.finish(200);
  }
}
