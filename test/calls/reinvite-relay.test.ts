// Direct media re-INVITEs (calls/reinvite-relay.ts): a new offer from one leg goes to the other and
// its answer comes back; the same offer again (a session refresh) is answered on its own leg; a
// refusal by the other leg is passed back. The dialogs are drachtio-srf's shape as far as the relay
// uses it (remote/local sdp, modify, the 'modify' event).
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { relayOffers, relayReInvites } from '../../src/calls/reinvite-relay.js';

const sdp = (version: number, dir = 'sendrecv') => `v=0\r\no=- 42 ${version} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=${dir}\r\n`;

class FakeDialog extends EventEmitter {
  offers: string[] = [];
  constructor(public remote: { sdp: string }, public local: { sdp: string }, private readonly answer: (offer: string) => Promise<string>) { super(); }
  modify(offer: string): Promise<string> {
    this.offers.push(offer);
    return this.answer(offer);
  }
  /** The peer sends a re-INVITE; resolves with what we answered. */
  reinvite(body: string): Promise<{ status: number; body?: string }> {
    return new Promise((resolve) => {
      this.emit('modify', { body }, { send: (status: number, o?: { body?: string }) => resolve({ status, ...(o?.body ? { body: o.body } : {}) }) });
    });
  }
}

const log = pino({ level: 'silent' });

describe('re-INVITE relay (direct media)', () => {
  it('hold from the caller reaches the far end and its answer comes back; resume likewise', async () => {
    const caller = new FakeDialog({ sdp: sdp(2) }, { sdp: sdp(7) }, async () => { throw new Error('caller not asked'); });
    const far = new FakeDialog({ sdp: sdp(7) }, { sdp: sdp(2) }, async (offer) => sdp(8, /sendonly/.test(offer) ? 'recvonly' : 'sendrecv'));
    relayReInvites(caller as never, far as never, log);
    const held = await caller.reinvite(sdp(3, 'sendonly'));
    expect(far.offers).toEqual([sdp(3, 'sendonly')]);
    expect(held).toEqual({ status: 200, body: sdp(8, 'recvonly') });
    const resumed = await caller.reinvite(sdp(4));
    expect(far.offers).toHaveLength(2);
    expect(resumed.body).toContain('a=sendrecv');
  });

  it('a session refresh (same o= version) is answered on its leg with the current answer, not relayed', async () => {
    const caller = new FakeDialog({ sdp: sdp(2) }, { sdp: sdp(7) }, async () => sdp(1));
    const far = new FakeDialog({ sdp: sdp(7) }, { sdp: sdp(2) }, async () => sdp(9));
    relayReInvites(caller as never, far as never, log);
    expect(await caller.reinvite(sdp(2))).toEqual({ status: 200, body: sdp(7) });
    expect(far.offers).toHaveLength(0);
    expect(await far.reinvite(sdp(7))).toEqual({ status: 200, body: sdp(2) });
    expect(caller.offers).toHaveLength(0);
  });

  it('the other leg\'s refusal is passed back (488 when it gave no status)', async () => {
    const caller = new FakeDialog({ sdp: sdp(2) }, { sdp: sdp(7) }, async () => sdp(1));
    let status: number | undefined = 491;
    const far = new FakeDialog({ sdp: sdp(7) }, { sdp: sdp(2) }, async () => { throw Object.assign(new Error('no'), { status }); });
    relayReInvites(caller as never, far as never, log);
    expect((await caller.reinvite(sdp(3, 'sendonly'))).status).toBe(491);
    status = undefined;
    expect((await caller.reinvite(sdp(3, 'sendonly'))).status).toBe(488); // the retry is offered again
    expect(far.offers).toHaveLength(2);
  });

  it('media anchored: the leg\'s offer is answered by its media endpoint (FreeSWITCH), not the other leg', async () => {
    const caller = new FakeDialog({ sdp: sdp(2) }, { sdp: sdp(7) }, async () => sdp(1));
    const endpoint = { offers: [] as string[], modify(offer: string) { this.offers.push(offer); return Promise.resolve(sdp(11, 'recvonly')); } };
    relayOffers(caller as never, endpoint, log, 'caller');
    expect(await caller.reinvite(sdp(3, 'sendonly'))).toEqual({ status: 200, body: sdp(11, 'recvonly') });
    expect(endpoint.offers).toEqual([sdp(3, 'sendonly')]);
  });
});
