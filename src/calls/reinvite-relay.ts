// A new offer in an answered call (hold, resume, a codec change) must reach what negotiates media
// with that leg (RFC 3261 §14, RFC 3264 §8); without this drachtio-srf answers a re-INVITE with
// the old SDP, and the phone believes it holds the call while nothing changed. With direct media
// the other leg answers (relayReInvites); with media anchored, the leg's FreeSWITCH endpoint does
// (relayOffers to the endpoint, which FreeSWITCH answers itself: recvonly to a sendonly hold). A
// session refresh (the same o= version again, RFC 4028) is answered on its own leg, not relayed.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';

/** The o= line's session id and version: unchanged means the same offer again. */
function originOf(sdp: string | undefined): string | undefined {
  const m = sdp ? /^o=\S+ (\S+) (\S+)/m.exec(sdp) : null;
  return m ? `${m[1]} ${m[2]}` : undefined;
}

type ModifyHandler = (req: Srf.SrfRequest, res: Srf.SrfResponse) => void;

/** What answers the offers of a leg: the other leg's dialog, or the leg's media endpoint. */
export interface OfferAnswerer { modify(sdp: string): unknown }

/** Offers `from`'s new SDP to `to` and answers `from` with what `to` answered. */
export function relayOffers(from: Srf.Dialog, to: OfferAnswerer, log: Logger, side: string): void {
  let lastOffer = originOf(from.remote.sdp);
  const onModify: ModifyHandler = (req, res) => {
    const origin = originOf(req.body);
    if (!req.body || (origin !== undefined && origin === lastOffer)) {
      res.send(200, { body: from.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
      return;
    }
    (Promise.resolve(to.modify(req.body)) as Promise<string>).then(
      (answer) => {
        // a refused offer is not the current one: its retry is relayed again
        lastOffer = origin;
        from.local.sdp = answer;
        res.send(200, { body: answer, headers: { 'Content-Type': 'application/sdp' } });
      },
      (err: { status?: number; message?: string }) => {
        log.info({ from: side, status: err?.status, err: err?.message }, 're-INVITE refused');
        // 491 when the other side is itself mid-offer; its refusal otherwise (488 if it gave none)
        res.send(err?.status && err.status >= 400 ? err.status : 488);
      },
    );
  };
  (from as unknown as { on(e: 'modify', h: ModifyHandler): void }).on('modify', onModify);
}

/** Direct media: each leg's new offers go to the other leg. */
export function relayReInvites(caller: Srf.Dialog, far: Srf.Dialog, log: Logger): void {
  relayOffers(caller, far, log, 'caller');
  relayOffers(far, caller, log, 'far end');
}
