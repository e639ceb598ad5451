// The call bench's FreeSWITCH stand-in: event socket (inbound and outbound) plus a SIP UAS on loopback,
// behaving like FreeSWITCH 1.10 with drachtio's fsmrf configuration (profile drachtio_mrf, context mrf,
// `socket ${sip_h_X-esl-outbound} async full`). See traces/freeswitch/ for the recorded real thing, and
// test/traces/freeswitch/ for what the project's own profile does: no-SDP INVITEs need enable-3pcc,
// and on a leg whose peer sends no RTP playback stalls and a bridged channel holds queued applications.
import { FreeSwitchCore, type ChannelInfo, type FreeSwitchOptions, type LoggedEvent } from './switch.js';

export type { ChannelInfo, FreeSwitchOptions, LoggedEvent };
export { FsEvent, urlEncode } from './event.js';

export interface FreeSwitchStandIn {
  /** Inbound event socket (what `new Mrf(srf).connect({address, port, secret})` dials). */
  eslPort: number;
  eslAddress: string;
  /** SIP port of the drachtio_mrf profile. */
  sipPort: number;
  /** `127.0.0.1:<sipPort>`, as `sofia status` reports it. */
  sipAddress: string;
  password: string;
  /** Live channels (an endpoint in fsmrf terms). */
  channels(): ChannelInfo[];
  channel(uuid: string): ChannelInfo | undefined;
  /** The caller pressed these keys: DTMF events, and input for play_and_get_digits / terminators. */
  sendDtmf(uuid: string, digits: string): void;
  /** Playback length for files whose path equals / contains `pattern` (or matches the RegExp). */
  setPlaybackDuration(pattern: string | RegExp, ms: number): void;
  /** Hang a channel up from the switch side (like `uuid_kill`, whose default cause is NORMAL_CLEARING). */
  kill(uuid: string, cause?: string): void;
  /** Run an API command as the event socket would. */
  api(command: string): string;
  /** Every event fired, oldest first (bounded). */
  readonly events: LoggedEvent[];
  /** Resolves when an event matching the predicate is (or already was) fired. */
  waitForEvent(pred: (e: LoggedEvent) => boolean, timeoutMs?: number): Promise<LoggedEvent>;
  stop(): Promise<void>;
}

export async function startFreeSwitch(opts: FreeSwitchOptions = {}): Promise<FreeSwitchStandIn> {
  const core = new FreeSwitchCore(opts);
  await core.start();
  const host = opts.host ?? '127.0.0.1';
  return {
    eslPort: core.eslPort,
    eslAddress: host,
    sipPort: core.sip.port,
    sipAddress: `${host}:${core.sip.port}`,
    password: core.password,
    channels: () => [...core.channels.values()].filter((c) => !c.tornDown).map((c) => core.info(c)),
    channel: (uuid) => {
      const ch = core.channel(uuid);
      return ch ? core.info(ch) : undefined;
    },
    sendDtmf(uuid, digits) {
      const ch = core.channel(uuid);
      if (!ch) throw new Error(`no such channel ${uuid}`);
      for (const d of digits) core.dtmf(ch, d.toUpperCase());
    },
    setPlaybackDuration(pattern, ms) {
      core.durationRules.push({ pattern, ms });
    },
    kill(uuid, cause = 'NORMAL_CLEARING') {
      const ch = core.channel(uuid);
      if (ch) core.hangup(ch, cause);
    },
    api(command) {
      const i = command.indexOf(' ');
      return i < 0 ? core.api(command, undefined) : core.api(command.slice(0, i), command.slice(i + 1));
    },
    events: core.events,
    waitForEvent(pred, timeoutMs = 5000) {
      const found = core.events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const started = Date.now();
        let seen = core.events.length;
        const poll = setInterval(() => {
          for (; seen < core.events.length; seen++) {
            const e = core.events[seen];
            if (e && pred(e)) {
              clearInterval(poll);
              resolve(e);
              return;
            }
          }
          seen = Math.min(seen, core.events.length);
          if (Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error('timed out waiting for a FreeSWITCH event'));
          }
        }, 10);
      });
    },
    stop: () => core.stop(),
  };
}
