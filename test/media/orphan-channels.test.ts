// Which FreeSWITCH channels are orphans (src/media/orphan-channels.ts): held and young channels are
// kept; unowned and own ones are orphans; another instance's are left to it until its listener has
// been gone two rounds in a row.
import { describe, expect, it } from 'vitest';
import { OWNER_GONE_ROUNDS, orphanCandidates, ownerOf, verdict } from '../../src/media/orphan-channels.js';

const T = 1_800_000_000_000;

describe('orphan candidates', () => {
  const channels = [
    { uuid: 'held', firstSeenAt: T - 600_000 },
    { uuid: 'old', firstSeenAt: T - 30_000 },
    { uuid: 'young', firstSeenAt: T - 29_999 },
  ];

  it('are the channels no call holds that were first seen at least the grace period ago', () => {
    expect(orphanCandidates(channels, new Set(['held']), T, 30_000).map((c) => c.uuid)).toEqual(['old']);
  });

  it('a channel being set up (younger than the grace) is never one, however many calls are live', () => {
    expect(orphanCandidates(channels, new Set(), T, 30_000).map((c) => c.uuid)).toEqual(['held', 'old']);
    expect(orphanCandidates(channels, new Set(), T, 600_001)).toEqual([]);
  });
});

describe('a candidate\'s verdict from its owner (X-esl-outbound)', () => {
  const self = '10.0.0.5:41000';
  const never = () => 0;

  it('no owner (made outside dialgate, e.g. originate) and this instance\'s own are orphans', () => {
    expect(verdict(ownerOf(null, self, never))).toEqual({ orphan: true, why: 'no-owner' });
    expect(verdict(ownerOf(self, self, never))).toEqual({ orphan: true, why: 'own' });
  });

  it('another instance\'s channel is left to it while its listener answers', () => {
    expect(verdict(ownerOf('10.0.0.6:41000', self, never))).toEqual({ orphan: false, why: 'owner-up' });
  });

  it('becomes an orphan once the owner\'s listener has been gone two rounds in a row, not after one', () => {
    expect(OWNER_GONE_ROUNDS).toBe(2);
    expect(verdict(ownerOf('10.0.0.6:41000', self, () => 1)).orphan).toBe(false);
    expect(verdict(ownerOf('10.0.0.6:41000', self, () => 2))).toEqual({ orphan: true, why: 'owner-gone' });
  });

  it('before our own address is known (media server reconnecting) an owned channel is treated as another\'s', () => {
    expect(ownerOf(self, null, never)).toEqual({ other: self, goneRounds: 0 });
  });
});
