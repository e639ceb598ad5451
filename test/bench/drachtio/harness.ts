// A small drachtio-srf app that reproduces what the app did in each recorded trace flow, picked by
// the request-uri user (sip:answer@..., sip:b2b@...), plus helpers to connect it to the stand-in.
import Srf from 'drachtio-srf';

export const APP_SDP = [
  'v=0', 'o=app 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 30000 RTP/AVP 8',
  'a=rtpmap:8 PCMA/8000', '',
].join('\r\n');

export interface TraceAppConfig {
  /** `host:port` of a sipp trunk that answers (trunk-uas.xml). */
  trunk?: string;
  /** `host:port` of a sipp trunk that fails with 503 (trunk-503.xml). */
  failTrunk?: string;
  /** `host:port` of a trunk that echoes Record-Route (trunk-uas-rr.xml), for the proxy flow. */
  rrTrunk?: string;
}

export interface AppEvents {
  cancels: number;
  byes: number;
  registers: number;
  errors: string[];
  proxied: unknown[];
  dialogsDestroyed: number;
}

export interface ConnectedApp {
  srf: Srf;
  config: TraceAppConfig;
  events: AppEvents;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Handler = (req: Srf.SrfRequest, res: Srf.SrfResponse) => void;
/** srf has a method per SIP verb (srf.register, srf.options ...) that its bundled typings omit. */
export type SrfVerbs = Srf & { register(h: Handler): void; options(h: Handler): void; invite(h: Handler): void };
export const verbs = (srf: Srf): SrfVerbs => srf as SrfVerbs;
/** Dialog#destroy returns a promise at runtime although the typings say void. */
const settle = (p: unknown): Promise<unknown> => Promise.resolve(p);

/** Connects an srf app and resolves once it has authenticated. */
export async function connectSrf(adminPort: number, secret = 'cymru', setup?: (srf: Srf) => void,
  existing?: Srf): Promise<Srf> {
  const srf = existing ?? new Srf();
  // handlers first: srf sends its routes in one batch right after authenticating, as in connect.txt
  setup?.(srf);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('srf did not connect')), 5000);
    srf.on('connect', (err: Error | null) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
    srf.on('error', () => { /* reconnect noise after stop() */ });
    srf.connect({ host: '127.0.0.1', port: adminPort, secret });
  });
  return srf;
}

export async function disconnectSrf(srf: Srf): Promise<void> {
  try {
    srf.disconnect();
  } catch {
    /* already gone */
  }
  await sleep(20);
}

/** The trace app: route register, options, invite (in that order, as in connect.txt). */
export async function startTraceApp(adminPort: number, config: TraceAppConfig): Promise<ConnectedApp> {
  const events: AppEvents = { cancels: 0, byes: 0, registers: 0, errors: [], proxied: [], dialogsDestroyed: 0 };
  const srf = new Srf();
  const fail = (what: string) => (err: unknown) => {
    events.errors.push(`${what}: ${(err as Error)?.message ?? String(err)}`);
  };

  verbs(srf).register((req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    events.registers++;
    if (!req.has('Authorization')) {
      res.send(401, { headers: { 'WWW-Authenticate': 'Digest realm="trace", nonce="abc123", algorithm=MD5, qop="auth"' } });
      return;
    }
    res.send(200, { headers: { contact: req.get('Contact'), expires: '300' } });
  });

  verbs(srf).options((_req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    res.send(200);
  });

  srf.invite((req: Srf.SrfRequest, res: Srf.SrfResponse) => {
    const user = /^sips?:([^@]+)@/.exec(req.uri)?.[1] ?? '';
    const anyRes = res as unknown as { send: (...a: unknown[]) => void };
    switch (user) {
      case 'answer':
      case 'appbye': {
        anyRes.send(180);
        srf.createUAS(req, res, { localSdp: APP_SDP })
          .then((dlg) => {
            dlg.on('destroy', () => {
              events.byes++;
              events.dialogsDestroyed++;
            });
            if (user === 'appbye') {
              setTimeout(() => {
                settle(dlg.destroy()).then(() => events.dialogsDestroyed++).catch(fail('destroy'));
              }, 1000);
            }
          })
          .catch(fail('createUAS'));
        return;
      }
      case 'refer': {
        // In-dialog REFER (RFC 3515): 202, then a sipfrag NOTIFY sent inside the same dialog.
        srf.createUAS(req, res, { localSdp: APP_SDP })
          .then((dlg) => {
            dlg.on('refer', (_r: Srf.SrfRequest, rr: Srf.SrfResponse) => {
              rr.send(202);
              const send = dlg.request as unknown as (o: { method: string; headers: Record<string, string>; body: string }) => Promise<unknown>;
              settle(send.call(dlg, {
                method: 'NOTIFY', body: 'SIP/2.0 100 Trying\r\n',
                headers: { Event: 'refer', 'Subscription-State': 'terminated;reason=noresource', 'Content-Type': 'message/sipfrag;version=2.0' },
              })).catch(fail('notify'));
            });
            dlg.on('destroy', () => { events.byes++; });
          })
          .catch(fail('createUAS'));
        return;
      }
      case 'reject':
        anyRes.send(486);
        return;
      case 'reason':
        anyRes.send(403, { headers: { reason: 'SIP;cause=403;text="outside dialing window"' } });
        return;
      case 'early':
        anyRes.send(183, { body: APP_SDP, headers: { 'content-type': 'application/sdp' } });
        setTimeout(() => anyRes.send(480), 800);
        return;
      case 'cancel':
        req.on('cancel', () => {
          events.cancels++;
        });
        anyRes.send(180);
        return;
      case 'b2b':
      case 'b2bfail': {
        const target = user === 'b2b' ? `sip:trunk@${config.trunk}` : `sip:fail@${config.failTrunk}`;
        srf.createB2BUA(req, res, target, { headers: { 'X-Trace': 'b2b' } } as Srf.CreateB2BUAOptions)
          .then(({ uas, uac }) => {
            uas.on('destroy', () => {
              events.byes++;
              settle(uac.destroy()).catch(fail('uac.destroy'));
            });
            uac.on('destroy', () => {
              settle(uas.destroy()).catch(fail('uas.destroy'));
            });
          })
          .catch((err: { status?: number }) => {
            if (!err?.status) fail('createB2BUA')(err);
          });
        return;
      }
      case 'proxy':
        settle(srf.proxyRequest(req, [`sip:trunk@${config.rrTrunk ?? config.trunk}`], { recordRoute: true } as Srf.ProxyRequestOptions))
          .then((r: unknown) => events.proxied.push(r))
          .catch(fail('proxy'));
        return;
      default:
        anyRes.send(404);
    }
  });

  await connectSrf(adminPort, 'cymru', undefined, srf);
  return {
    srf, config, events,
    close: () => disconnectSrf(srf),
  };
}

/** createUAC to the trunk, ACK (srf does it), BYE after `holdMs` — the uac.txt flow. */
export async function uacCall(srf: Srf, trunk: string, holdMs = 1000): Promise<void> {
  const dlg = await srf.createUAC(`sip:uac@${trunk}`, { localSdp: APP_SDP, headers: { 'X-Trace': 'uac' } } as Srf.CreateUACOptions);
  await sleep(holdMs);
  await settle(dlg.destroy());
}

export { sleep };
