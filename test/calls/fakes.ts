// Fakes for drachtio-srf (dialogs, UAC/UAS) and drachtio-fsmrf (endpoints) shared by the call edge
// case tests: each step can be held (Deferred gates) so races are staged deterministically.
import { EventEmitter } from 'node:events';

export interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
}
export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

export class FakeDialog extends EventEmitter {
  destroyed = 0;
  failDestroy = false;
  /** As srf's Dialog: false once either side ended it. */
  connected = true;
  constructor(readonly remote = { sdp: 'v=0 remote' }) { super(); }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // srf marks the dialog down before it emits 'destroy' for the far end's BYE.
    if (event === 'destroy') this.connected = false;
    return super.emit(event, ...args);
  }
  destroy(): Promise<void> {
    this.destroyed++;
    this.connected = false;
    return this.failDestroy ? Promise.reject(new Error('dialog already gone')) : Promise.resolve();
  }
}

export class FakeEndpoint extends EventEmitter {
  static n = 0;
  uuid = `ep-${++FakeEndpoint.n}`;
  local = { sdp: `v=0 ${this.uuid}` };
  destroyed = 0;
  bridgeGate: Deferred<void> | null = null;
  /** play / play_and_get_digits wait here until released (uuid_break or the test). */
  playGate: Deferred<void> | null = null;
  digits = '';
  failExecute = false;
  apis: string[] = [];
  /** The SDP each modify() gave (the far end's answer, for an offering endpoint). */
  modified: string[] = [];
  bridgedTo: FakeEndpoint | null = null;
  async modify(sdp: string): Promise<void> { this.modified.push(sdp); }
  async bridge(other: FakeEndpoint): Promise<void> {
    this.bridgedTo = other;
    if (this.bridgeGate) await this.bridgeGate.promise;
  }
  async execute(app: string): Promise<{ getHeader(h: string): string }> {
    if (this.failExecute) throw new Error('media server connection lost');
    if (app === 'play_and_get_digits' && this.playGate) await this.playGate.promise;
    const digits = this.digits;
    return { getHeader: (h: string) => (h === 'variable_dg_pin' ? digits : '') };
  }
  async api(cmd: string, args: string): Promise<void> {
    this.apis.push(`${cmd} ${args}`);
    if (cmd === 'uuid_break' && this.playGate) { this.digits = ''; this.playGate.resolve(); }
  }
  async play(): Promise<void> { if (this.playGate) await this.playGate.promise; }
  async destroy(): Promise<void> { this.destroyed++; }
}

export class FakeMedia {
  available = true;
  eps: FakeEndpoint[] = [];
  gate: Deferred<void> | null = null;
  pinDigits = '';
  playGate: (() => Deferred<void> | null) = () => null;
  failExecute = false;
  async endpointFor(): Promise<FakeEndpoint> { return this.make(); }
  async offeringEndpoint(): Promise<FakeEndpoint> { return this.make(); }
  /** WebRTC callers answered through the media server (fsmrf connectCaller): the 200's headers each got. */
  webrtcAnswers: Array<Record<string, string> | undefined> = [];
  /** The caller dialogs those answers made (the browser's leg). */
  webrtcDialogs: FakeDialog[] = [];
  async answerWebRtcCaller(_req: unknown, _res: unknown, headers?: Record<string, string>): Promise<{ endpoint: FakeEndpoint; dialog: FakeDialog }> {
    this.webrtcAnswers.push(headers);
    const dialog = new FakeDialog();
    this.webrtcDialogs.push(dialog);
    return { endpoint: await this.make(), dialog };
  }
  /** Browser offers answered (late offer): the offer each got; the answer sent is 'fs-answer'. */
  lateOffers: string[] = [];
  async answerLateOffer(offer: string, sendAnswer: (sdp: string) => Promise<unknown>): Promise<FakeEndpoint> {
    this.lateOffers.push(offer);
    await sendAnswer('fs-answer');
    return this.make();
  }
  private async make(): Promise<FakeEndpoint> {
    const e = new FakeEndpoint();
    e.digits = this.pinDigits;
    e.playGate = this.playGate();
    e.failExecute = this.failExecute;
    this.eps.push(e);
    if (this.gate) await this.gate.promise;
    return e;
  }
}

export interface UacCall { uri: string; opts: { localSdp?: string; noAck?: boolean }; result: Deferred<FakeDialog>; cancels: number; requestSent: boolean }

/**
 * A callee's answer to an INVITE without SDP as srf's createUAC gives it (3pcc): its offer, and
 * the ACK still to send with our answer (`acked` holds it), or destroy() to ACK and BYE.
 */
export class UnackedAnswer {
  acked: string | null = null;
  destroyed = 0;
  readonly dialog: FakeDialog;
  constructor(readonly sdp: string) { this.dialog = new FakeDialog({ sdp }); }
  async ack(answer: string): Promise<FakeDialog> { this.acked = answer; return this.dialog; }
  async destroy(): Promise<void> { this.destroyed++; }
}

export class FakeSrf {
  uacs: UacCall[] = [];
  uas: Deferred<FakeDialog>[] = [];
  cancelAnswers487 = true;
  /** A provisional response each INVITE gets right after it is sent (null: none). */
  provisional: number | null = null;
  createUAC(uri: string, opts: { localSdp?: string; noAck?: boolean }, cbs: { cbRequest(err: unknown, req: unknown): void; cbProvisional?(res: unknown): void }): Promise<FakeDialog> {
    const c: UacCall = { uri, opts, result: deferred<FakeDialog>(), cancels: 0, requestSent: false };
    this.uacs.push(c);
    const req = {
      cancel: (cb?: () => void) => {
        c.cancels++;
        cb?.();
        if (this.cancelAnswers487) c.result.reject(Object.assign(new Error('Request Terminated'), { status: 487 }));
      },
    };
    queueMicrotask(() => {
      c.requestSent = true;
      cbs.cbRequest(null, req);
      if (this.provisional !== null) cbs.cbProvisional?.({ status: this.provisional });
    });
    return c.result.promise;
  }
  createUAS(): Promise<FakeDialog> {
    const d = deferred<FakeDialog>();
    this.uas.push(d);
    return d.promise;
  }
}

export class FakeRes {
  finalResponseSent = false;
  sent: number[] = [];
  headers: Record<string, string>[] = [];
  send(status: number, opts?: { headers?: Record<string, string> }): void {
    this.sent.push(status);
    this.headers.push(opts?.headers ?? {});
    if (status >= 200) this.finalResponseSent = true;
  }
}
