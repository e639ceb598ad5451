// How FreeSWITCH's media reads behave on a leg, which paces everything that reads the channel:
// playback, record, and the bridge loop that runs queued sendmsg applications.
//
// With the project's profile (no rtp-timer-name) the RTP session has no timer, so a read blocks in
// poll() until a packet arrives, a private event wakes it (SIG_BREAK pings the socket), or the
// 5 s poll timeout (switch_rtp.c rtp_common_read, poll_sec) returns a CNG frame. A peer that sends
// no RTP therefore gets one 20 ms frame of a playback every 5 s. Seen on 1.10.12, see
// test/traces/freeswitch/README.md; `rtp-timer-name soft` in the profile makes reads return every 20 ms.
import type { RtpPort } from './rtp.js';

export const FRAME_MS = 20;
/** switch_ivr_bridge.c DEFAULT_LEAD_FRAMES: the bridge loop parses a queued event after more frames than this. */
export const LEAD_FRAMES = 10;
/** A peer counts as sending RTP when a packet came this recently (it sends one every 20 ms). */
const FLOW_WINDOW_MS = 200;

/** A channel's place in a uuid_bridge audio loop. */
export interface BridgeLoop {
  startedAt: number;
  packetsAtStart: number;
}

export class MediaModel {
  constructor(readonly stalls: boolean, readonly pollMs: number) {}

  /** Reads return at the packet rate (true) or only on wake-ups and the poll timeout (false). */
  flowing(rtp: RtpPort | undefined): boolean {
    return !this.stalls || (rtp !== undefined && Date.now() - rtp.lastPacketAt <= FLOW_WINDOW_MS);
  }

  /**
   * Whether a channel in the bridge loop has read enough frames to run a queued application.
   * Real FreeSWITCH held an `execute hangup` 75 s on a silent bridged leg; it ran within 20 ms
   * of being sent once the leg's peer sent RTP.
   */
  leadFramesRead(loop: BridgeLoop, rtp: RtpPort | undefined): boolean {
    if (!this.stalls) return Date.now() - loop.startedAt > LEAD_FRAMES * FRAME_MS;
    return rtp !== undefined && rtp.packets - loop.packetsAtStart > LEAD_FRAMES;
  }
}
