// The one state of a call, instead of a handful of booleans. Moves are checked: a call never goes
// back to ringing once answered, and nothing happens after it ended.
//
//   setup ──► ivr ──► dialling ──► answered ──► ending ──► ended
//     │        ▲ │        │ ▲                     ▲
//     │        │ └────────┼─┘ (an announcement     │
//     │        └──────────┘    after ringing)      │
//     └──────────────── any earlier phase ─────────┘
export type CallPhase = 'setup' | 'ivr' | 'dialling' | 'answered' | 'ending' | 'ended';

const NEXT: Readonly<Record<CallPhase, readonly CallPhase[]>> = {
  setup: ['ivr', 'dialling', 'ending'],
  ivr: ['dialling', 'ending'],
  dialling: ['ivr', 'answered', 'ending'],
  answered: ['ending'],
  ending: ['ended'],
  ended: [],
};

export class IllegalTransition extends Error {
  constructor(readonly from: CallPhase, readonly to: CallPhase) {
    super(`illegal call phase change ${from} → ${to}`);
    this.name = 'IllegalTransition';
  }
}

/** The phase after `from → to`; throws IllegalTransition for a move the diagram does not allow. */
export function transition(from: CallPhase, to: CallPhase): CallPhase {
  if (from === to) return to;
  if (!NEXT[from].includes(to)) throw new IllegalTransition(from, to);
  return to;
}

/** Before the answer: a stop request is taken at the flow's next step rather than by tearing down. */
export function beforeAnswer(p: CallPhase): boolean {
  return p === 'setup' || p === 'ivr' || p === 'dialling';
}
