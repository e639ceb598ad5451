// drachtio-modesl 4.1.2 retries a connection that never connected in a tight loop: its retry
// delay is only initialised after a first successful connect, so a refused connect schedules the
// next attempt after NaN ms (≈1 ms), forever, and every Mrf.connect attempt leaves one such loop
// behind. With FreeSWITCH down that is hundreds to thousands of connect() calls a second per
// attempt, all CPU taken from calls. MediaGateway retries with its own backoff, so a connection
// that never connected must simply stop: this guard makes it so. Connections that did connect
// keep the library's own reconnect behaviour.
import { createRequire } from 'node:module';

interface EslConnectionProto {
  _onConnectionGone(this: EslConnectionLike): void;
  __dialgateGuarded?: boolean;
}
interface EslConnectionLike {
  reconnectVars: { retryDelay?: number; retryTimer?: unknown };
  closing?: boolean;
}

let installed = false;

/** Installs the guard on the drachtio-modesl that drachtio-fsmrf uses. Idempotent. */
export function guardEslReconnects(): void {
  if (installed) return;
  installed = true;
  const fromFsmrf = createRequire(createRequire(import.meta.url).resolve('drachtio-fsmrf'));
  const esl = fromFsmrf('drachtio-modesl') as { Connection: { prototype: EslConnectionProto } };
  const proto = esl.Connection.prototype;
  if (proto.__dialgateGuarded) return;
  const original = proto._onConnectionGone;
  proto._onConnectionGone = function guarded(this: EslConnectionLike) {
    if (this.reconnectVars?.retryDelay === undefined) {
      this.closing = true; // never connected: the caller's own backoff takes it from here
      return;
    }
    original.call(this);
  };
  proto.__dialgateGuarded = true;
}
