// SIP over WebSocket (RFC 7118) on the drachtio stand-in, as drachtio-server does it for browser
// phones: the `sip` subprotocol, one message per text frame; a request's source reported to the
// app as `tcp` (SipMsgData_t: a ws tport is a tcp tport); a 200 to a REGISTER that came over a
// connection caches the Contact's user@host → that connection (cacheTportForSubscription), so an
// app's INVITE to that (unresolvable .invalid) contact goes down it, with a WS Via and a
// transport=ws Contact, and the dialog's ACK and BYE follow on the same connection. A browser
// phone is played here by a raw `ws` client writing SIP by hand.
// wss is the same over TLS (a `wss` contact with its key and cert): a Via SIP/2.0/WSS and a
// transport=wss Contact towards the phone, and the app still told `tcp` (sofia's wss tport has no
// pri_has_tls, so drachtio's SipMsgData_t calls it tcp). The certificate is made at test time.
import Srf from 'drachtio-srf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { selfSignedCert, type TestCert } from '../helpers/self-signed-cert.js';
import { startDrachtio, type DrachtioStandIn } from './drachtio/standin.js';
import { APP_SDP, connectSrf, disconnectSrf, verbs } from './drachtio/harness.js';
import { header, parseMessage, type SipMessage } from './sip/message.js';

let dr: DrachtioStandIn;
let srf: Srf;
let tls: TestCert;
const registers: Array<{ protocol: string; via: string; contact: string }> = [];
const invites: Array<{ protocol: string; via: string }> = [];

beforeAll(async () => {
  tls = await selfSignedCert();
  dr = await startDrachtio({ wsPort: 0, wssPort: 0, tls: { key: tls.key, cert: tls.cert }, recordFrames: true });
  srf = await connectSrf(dr.adminPort, 'cymru', (s) => {
    verbs(s).register((req, res) => {
      registers.push({ protocol: req.protocol, via: req.get('Via'), contact: req.get('Contact') });
      const expires = /expires=(\d+)/.exec(req.get('Contact'))?.[1] ?? '300';
      res.send(200, { headers: { Contact: `${req.get('Contact').replace(/;expires=\d+/, '')};expires=${expires}` } });
    });
    // a call from a browser phone: answered by the app as a UAS
    verbs(s).invite((req, res) => {
      invites.push({ protocol: req.protocol, via: req.get('Via') });
      void srf.createUAS(req, res, { localSdp: APP_SDP }).catch(() => undefined);
    });
  });
});

afterAll(async () => {
  if (srf) await disconnectSrf(srf);
  await dr?.stop();
});

/** A browser-like SIP client on one WebSocket: sends text, collects what comes back. */
class WsPhone {
  readonly got: SipMessage[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      expect(binary).toBe(false);
      this.got.push(parseMessage(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static async open(protocols: string[] = ['sip'], url = `ws://127.0.0.1:${dr.wsPort}`, opts: ClientOptions = {}): Promise<WsPhone> {
    const ws = new WebSocket(url, protocols, opts);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    return new WsPhone(ws);
  }
  send(lines: string[], body = ''): void {
    this.ws.send(`${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  async next(pred: (m: SipMessage) => boolean, ms = 3000): Promise<SipMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.got.findIndex(pred);
      if (i >= 0) return this.got.splice(i, 1)[0]!;
      if (Date.now() > end) throw new Error(`no matching message; got ${this.got.map((m) => m.method ?? m.status).join(',')}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
  /** A response to `req` echoing its dialog headers. */
  reply(req: SipMessage, status: string, extra: string[] = [], body = ''): void {
    const to = header(req, 'to')!;
    this.send([`SIP/2.0 ${status}`, ...(req.headers.get('via') ?? []).map((v) => `Via: ${v}`),
      `From: ${header(req, 'from')}`, `To: ${/;tag=/.test(to) ? to : `${to};tag=ph1`}`, `Call-ID: ${header(req, 'call-id')}`,
      `CSeq: ${header(req, 'cseq')}`, ...extra], body);
  }
  async register(user: string, host: string, transport: 'ws' | 'wss' = 'ws'): Promise<SipMessage> {
    this.send([`REGISTER sip:dialgate.test SIP/2.0`, `Via: SIP/2.0/${transport.toUpperCase()} ${host};branch=z9hG4bK${user}r1`, 'Max-Forwards: 70',
      `From: <sip:${user}@dialgate.test>;tag=r${user}`, `To: <sip:${user}@dialgate.test>`, `Call-ID: reg-${user}`, 'CSeq: 1 REGISTER',
      `Contact: <sip:${user}@${host};transport=${transport}>;expires=300`]);
    return this.next((m) => m.status !== undefined && /REGISTER/.test(header(m, 'cseq') ?? ''));
  }
  close(): Promise<void> {
    return new Promise((resolve) => { this.ws.once('close', () => resolve()); this.ws.close(); });
  }
}

describe('drachtio stand-in: SIP over WebSocket', () => {
  it('refuses a WebSocket without the sip subprotocol', async () => {
    await expect(WsPhone.open(['chat'])).rejects.toThrow();
  });

  it('a REGISTER over ws reaches the app as tcp with its Via stamped; the 200 goes back over the connection', async () => {
    const phone = await WsPhone.open();
    const ok = await phone.register('alice', 'df7jal23ls0d.invalid');
    expect(ok.status).toBe(200);
    const r = registers.at(-1)!;
    expect(r.protocol).toBe('tcp');
    expect(r.via).toMatch(/^SIP\/2\.0\/WS df7jal23ls0d\.invalid;branch=\S+;rport=\d+;received=127\.0\.0\.1/);
    await phone.close();
  });

  it('an INVITE to the ws-registered contact goes down that connection; ACK and BYE follow it', async () => {
    const phone = await WsPhone.open();
    expect((await phone.register('bob', 'k2m9x.invalid')).status).toBe(200);
    const uac = srf.createUAC('sip:bob@k2m9x.invalid;transport=ws', { localSdp: APP_SDP } as Srf.CreateUACOptions);
    const invite = await phone.next((m) => m.method === 'INVITE');
    expect(header(invite, 'via')).toMatch(new RegExp(`^SIP/2\\.0/WS 127\\.0\\.0\\.1:${dr.wsPort};rport;branch=z9hG4bK`));
    expect(header(invite, 'contact')).toBe(`<sip:127.0.0.1:${dr.wsPort};transport=ws>`);
    phone.reply(invite, '180 Ringing');
    phone.reply(invite, '200 OK', ['Contact: <sip:bob@k2m9x.invalid;transport=ws>', 'Content-Type: application/sdp'], APP_SDP);
    const dlg = await uac;
    const ack = await phone.next((m) => m.method === 'ACK');
    expect(ack.uri).toBe('sip:bob@k2m9x.invalid;transport=ws');
    // no UDP retransmission of the INVITE on a reliable transport
    expect(phone.got.filter((m) => m.method === 'INVITE')).toHaveLength(0);
    const bye = dlg.destroy() as unknown as Promise<unknown>;
    const byeReq = await phone.next((m) => m.method === 'BYE');
    phone.reply(byeReq, '200 OK');
    await bye;
    await phone.close();
  });

  it('a contact never registered over ws, or whose connection closed, cannot be reached', async () => {
    await expect(srf.createUAC('sip:nobody@zz.invalid;transport=ws', { localSdp: APP_SDP } as Srf.CreateUACOptions))
      .rejects.toThrow(/transport not available/);
    const phone = await WsPhone.open();
    expect((await phone.register('carol', 'q1.invalid')).status).toBe(200);
    await phone.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(srf.createUAC('sip:carol@q1.invalid;transport=ws', { localSdp: APP_SDP } as Srf.CreateUACOptions))
      .rejects.toThrow(/transport not available/);
  });
});

describe('drachtio stand-in: SIP over secure WebSocket (wss)', () => {
  const wssUrl = () => `wss://127.0.0.1:${dr.wssPort}`;
  /** A browser on wss trusting the test's certificate, as a browser trusts a real one. */
  const openWss = () => WsPhone.open(['sip'], wssUrl(), { ca: tls.cert });

  it('a wss listener without a key and certificate is refused at start, saying what is missing', async () => {
    await expect(startDrachtio({ wssPort: 0 })).rejects.toThrow(/wssPort needs tls \{ key, cert \}/);
  });

  it('a REGISTER over wss reaches the app as tcp (as drachtio reports a wss tport) with its WSS Via stamped', async () => {
    expect(dr.wssPort).toBeGreaterThan(0);
    expect(dr.wssPort).not.toBe(dr.wsPort);
    const phone = await openWss();
    const ok = await phone.register('dave', 'h8w2e.invalid', 'wss');
    expect(ok.status).toBe(200);
    expect(header(ok, 'via')).toMatch(/^SIP\/2\.0\/WSS h8w2e\.invalid;branch=z9hG4bKdaver1;rport=\d+;received=127\.0\.0\.1/);
    const r = registers.at(-1)!;
    expect(r.protocol).toBe('tcp');
    expect(r.via).toMatch(/^SIP\/2\.0\/WSS h8w2e\.invalid;branch=\S+;rport=\d+;received=127\.0\.0\.1/);
    expect(r.contact).toContain(';transport=wss');
    await phone.close();
  });

  it('an INVITE to the wss-registered contact goes down that TLS connection with a WSS Via and a transport=wss Contact; ACK and BYE follow it', async () => {
    const phone = await openWss();
    // a ws phone registered alongside must not get the wss phone's calls
    const other = await WsPhone.open();
    expect((await other.register('erin', 'p5.invalid')).status).toBe(200);
    expect((await phone.register('frank', 'r7t.invalid', 'wss')).status).toBe(200);
    const uac = srf.createUAC('sip:frank@r7t.invalid;transport=wss', { localSdp: APP_SDP } as Srf.CreateUACOptions);
    const invite = await phone.next((m) => m.method === 'INVITE');
    expect(invite.uri).toBe('sip:frank@r7t.invalid;transport=wss');
    expect(header(invite, 'via')).toMatch(new RegExp(`^SIP/2\\.0/WSS 127\\.0\\.0\\.1:${dr.wssPort};rport;branch=z9hG4bK`));
    expect(header(invite, 'contact')).toBe(`<sip:127.0.0.1:${dr.wssPort};transport=wss>`);
    phone.reply(invite, '180 Ringing');
    phone.reply(invite, '200 OK', ['Contact: <sip:frank@r7t.invalid;transport=wss>', 'Content-Type: application/sdp'], APP_SDP);
    const dlg = await uac;
    const ack = await phone.next((m) => m.method === 'ACK');
    expect(ack.uri).toBe('sip:frank@r7t.invalid;transport=wss');
    expect(header(ack, 'via')).toMatch(/^SIP\/2\.0\/WSS /);
    expect(phone.got.filter((m) => m.method === 'INVITE')).toHaveLength(0); // reliable: no retransmission
    const bye = dlg.destroy() as unknown as Promise<unknown>;
    const byeReq = await phone.next((m) => m.method === 'BYE');
    expect(header(byeReq, 'via')).toMatch(new RegExp(`^SIP/2\\.0/WSS 127\\.0\\.0\\.1:${dr.wssPort};`));
    phone.reply(byeReq, '200 OK');
    await bye;
    expect(other.got).toEqual([]);
    await phone.close();
    await other.close();
  });

  it('an INVITE from a wss phone reaches the app as tcp; the 200 carries a transport=wss Contact and the dialog\'s BYE is answered over the connection', async () => {
    const phone = await openWss();
    const to = '<sip:13812345678@dialgate.test>';
    const inv = ['INVITE sip:13812345678@dialgate.test SIP/2.0', 'Via: SIP/2.0/WSS g4.invalid;branch=z9hG4bKwssinv1', 'Max-Forwards: 70',
      'From: <sip:1001@dialgate.test>;tag=wp1', `To: ${to}`, 'Call-ID: wss-call-1', 'CSeq: 1 INVITE',
      'Contact: <sip:1001@g4.invalid;transport=ws;ob>', 'Content-Type: application/sdp'];
    phone.send(inv, APP_SDP);
    const ok = await phone.next((m) => m.status === 200 && /INVITE/.test(header(m, 'cseq') ?? ''));
    expect(invites.at(-1)).toMatchObject({ protocol: 'tcp', via: expect.stringMatching(/^SIP\/2\.0\/WSS g4\.invalid;branch=z9hG4bKwssinv1;rport=\d+;received=127\.0\.0\.1/) });
    expect(header(ok, 'contact')).toBe(`<sip:127.0.0.1:${dr.wssPort};transport=wss>`);
    const toTag = header(ok, 'to')!;
    phone.send(['ACK sip:127.0.0.1:' + dr.wssPort + ';transport=wss SIP/2.0', 'Via: SIP/2.0/WSS g4.invalid;branch=z9hG4bKwssack1', 'Max-Forwards: 70',
      'From: <sip:1001@dialgate.test>;tag=wp1', `To: ${toTag}`, 'Call-ID: wss-call-1', 'CSeq: 1 ACK']);
    phone.send(['BYE sip:127.0.0.1:' + dr.wssPort + ';transport=wss SIP/2.0', 'Via: SIP/2.0/WSS g4.invalid;branch=z9hG4bKwssbye1', 'Max-Forwards: 70',
      'From: <sip:1001@dialgate.test>;tag=wp1', `To: ${toTag}`, 'Call-ID: wss-call-1', 'CSeq: 2 BYE']);
    const byeOk = await phone.next((m) => m.status !== undefined && /BYE/.test(header(m, 'cseq') ?? ''));
    expect(byeOk.status).toBe(200);
    await phone.close();
  });

  it('plain ws cannot talk to the wss port, wss cannot talk to the ws port, and an untrusted certificate is refused', async () => {
    await expect(WsPhone.open(['sip'], `ws://127.0.0.1:${dr.wssPort}`)).rejects.toThrow();
    await expect(WsPhone.open(['sip'], `wss://127.0.0.1:${dr.wsPort}`, { ca: tls.cert })).rejects.toThrow();
    // without the certificate trusted, the TLS handshake fails as a browser's would
    await expect(WsPhone.open(['sip'], wssUrl())).rejects.toThrow(/self[- ]signed/i);
    // and the sip subprotocol is required over wss too
    await expect(WsPhone.open(['chat'], wssUrl(), { ca: tls.cert })).rejects.toThrow();
  });
});
