// Every SIP message srf sends is its own write(2) on the drachtio socket: a 407, a 200, an ACK,
// an INVITE each. Under load drachtio-server delivers several messages in one read and srf handles
// them in one turn, so corking the socket for that turn (ledger/coalesce-writes.ts) sends their
// answers in one writev; the framing is srf's own, so nothing on the wire changes but the packets.
// srf does not expose its sockets: they are the keys of its agent's server map (drachtio-srf 5,
// lib/drachtio-agent.js mapServer). If that shape changes, writes simply stay uncorked.
import type { Socket } from 'node:net';
import type Srf from 'drachtio-srf';
import { corkPerTick } from '../ledger/coalesce-writes.js';

export function coalesceDrachtioWrites(srf: Srf): void {
  const patch = (): void => {
    const agent = (srf as unknown as { _app?: { client?: { mapServer?: Map<unknown, unknown> } } })._app?.client;
    const sockets = agent?.mapServer;
    if (!(sockets instanceof Map)) return;
    for (const s of sockets.keys()) {
      if (s && typeof (s as Socket).cork === 'function') corkPerTick(s as Socket);
    }
  };
  // A new socket on every (re)connect; srf emits 'connect' once it has authenticated on it.
  srf.on('connect', (err: Error | null) => { if (!err) patch(); });
}
