// What a call session is given: its dependencies (shared by both directions), its settings, what
// a flow tells it, and the live-call entry the registry keeps.
import type Srf from 'drachtio-srf';
import type { CallDirection, CdrInput, HangupBy } from '../cdr/model.js';
import type { ConcurrencySlots } from '../ledger/concurrency.js';
import type { Ledger } from '../ledger/ledger.js';
import type { MediaFarm } from '../media/media-farm.js';
import type { RecordDeps } from './call-record.js';
import type { Clock } from './clock.js';
import type { Settled } from './reservation.js';
import type { SessionTimerSettings } from './session-timer.js';
import type { FraudCounters, SpendCapCrossed } from '../fraud/counters.js';
import type { RegistrarStore } from '../registrar/store.js';
import type { AgentEvents } from '../agents/agent-store.js';

export interface SessionSettings {
  /** Seconds of talk time reserved per extension; small chunks share one balance fairly. */
  chunkSeconds: number;
  /** Heartbeat to the ledger (crash recovery) and slot refresh. */
  heartbeatMs: number;
  recordingsDir: string;
  /** Played `warningSeconds` before the cut-off when no tenant prompt is configured. */
  defaultWarning: string;
  /** Our SIP host for From headers. */
  sipDomain: string;
  /** Overrides dialgate.yaml sessionTimers (tests run short intervals below the 90 s floor). */
  sessionTimers?: SessionTimerSettings;
}

export interface SessionDeps extends RecordDeps {
  srf: Srf;
  /** FreeSWITCH: one server or a farm (a call's endpoints all on one server). */
  media: Pick<MediaFarm, 'available' | 'prompts' | 'endpointFor' | 'offeringEndpoint' | 'answerWebRtcCaller' | 'answerLateOffer'>;
  ledger: Ledger;
  slots: ConcurrencySlots;
  clock: Clock;
  settings: SessionSettings;
  /** Calls in progress on this instance, for status and graceful shutdown. */
  live: Map<string, LiveCall>;
  /** Seats' registrations: where a transfer to a seat rings (absent: REFER is answered 501). */
  registrar?: RegistrarStore;
  /** Agent state (issue 13): a seat's call start and end, one Redis round trip each; absent: not kept. */
  agents?: AgentEvents;
  /** Toll-fraud counters (issue 16); absent: tenant caps are not applied. */
  fraud?: FraudCounters;
  /** A tenant's spend cap was crossed by a settlement (once per crossing, across instances). */
  onSpendCap?: (crossed: SpendCapCrossed) => void;
  /** A call meant to go through FreeSWITCH (anchored or recorded) did not: why. */
  onMediaDegraded?: (note: string) => void;
  /** Both legs are up (metrics: setup latency, post-dial delay). */
  onAnswered?: (call: AnsweredCall) => void;
}

/** What a session tells onAnswered: enough for the setup figures, nothing to act on. */
export interface AnsweredCall {
  readonly spec: Pick<SessionSpec, 'direction' | 'inviteAt'>;
  readonly attempts: readonly { target: string; at: number }[];
  readonly ringAt: number | null;
  readonly answerAt: number | null;
}

export interface LiveCall {
  callId: string;
  tenant: string;
  seat: string;
  callee: string;
  answeredAt: number | null;
  /** uuids of the FreeSWITCH channels (endpoints) the call holds now; the reconciler leaves them be. */
  mediaUuids(): string[];
  /** Ends the call now (shutdown, admin). */
  hangup(cause: string): void;
}

/** What a flow tells its session. */
export interface SessionSpec {
  callId: string;
  direction: CallDirection;
  tenant: string | null;
  seat: string;
  callee: string;
  inviteAt: number;
  /** Time zone of the recording folders (the configured one). */
  timeZone: string;
  warningSeconds: number;
  warningPrompt: string;
  /** Answered calls end here (tenant maxCallSeconds); null: no limit. */
  maxCallSeconds: number | null;
  /** RFC 4028 session timers for both legs; null: off. */
  sessionTimers: SessionTimerSettings | null;
  /** The flow's own CDR fields (who, what, decision, trace). */
  cdrBase(): CdrInput;
  /** Stops what runs before the answer (dialler, member legs, prompts); the flow then abandons. */
  onStop(by: HangupBy, cause: string): void;
  /** An answered call's leg sent REFER (blind transfer, issue 13); absent: answered 501. */
  onRefer?(leg: 'caller' | 'far', req: Srf.SrfRequest, res: Srf.SrfResponse): void;
  /** After every reservation is settled, before the CDR: flow money and state (missed calls). */
  afterSettle?(endAt: number, settled: Settled[]): Promise<Partial<CdrInput>>;
}
