// Direct media (issue 13): the two ends negotiate media with each other, so a new offer from one
// leg (hold, resume, a codec change) is offered to the other leg and its answer returned (RFC 3261
// §14, RFC 3264 §8). Without this drachtio-srf answers a re-INVITE with the old SDP: the phone
// believes it holds the call while the far end keeps sending. A session refresh (the same SDP
// version again, RFC 4028) is answered on its own leg and not relayed.
import type Srf from 'drachtio-srf';
import type { Logger } from 'pino';

/** The o= line's session id and version: unchanged means the same offer again. */
function originOf(sdp: string | undefined): string | undefined {
  const m = sdp ? /^o=\S+ (\S+) (\S+)/m.exec(sdp) : null;
  return m ? `${m[1]} ${m[2]}` : undefined;
}

type ModifyHandler = (req: Srf.SrfRequest, res: Srf.SrfResponse) => void;

export function relayReInvites(caller: Srf.Dialog, far: Srf.Dialog, log: Logger): void {
  const relay = (from: Srf.Dialog, to: Srf.Dialog, side: 'caller' | 'far end'): void => {
    let lastOffer = originOf(from.remote.sdp);
    const onModify: ModifyHandler = (req, res) => {
      const origin = originOf(req.body);
      if (!req.body || (origin !== undefined && origin === lastOffer)) {
        res.send(200, { body: from.local.sdp, headers: { 'Content-Type': 'application/sdp' } });
        return;
      }
      (to.modify(req.body) as unknown as Promise<string>).then(
        (answer) => {
          // a refused offer is not the current one: its retry is relayed again
          lastOffer = origin;
          from.local.sdp = answer;
          res.send(200, { body: answer, headers: { 'Content-Type': 'application/sdp' } });
        },
        (err: { status?: number; message?: string }) => {
          log.info({ from: side, status: err?.status, err: err?.message }, 're-INVITE refused by the other leg');
          // 491 when the other leg is itself mid-offer; its refusal otherwise (488 if it gave none)
          res.send(err?.status && err.status >= 400 ? err.status : 488);
        },
      );
    };
    (from as unknown as { on(e: 'modify', h: ModifyHandler): void }).on('modify', onModify);
  };
  relay(caller, far, 'caller');
  relay(far, caller, 'far end');
}
