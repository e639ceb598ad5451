// Behaviour of the drachtio stand-in beyond the recorded traces: what the server builds and fills
// in, what it answers on its own, robustness against garbage, several apps, proxying, and load.
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Srf from 'drachtio-srf';
import { startDrachtio, type DrachtioStandIn, type FrameRecord } from './drachtio/standin.js';
import { encodeFrame, FrameDecoder } from './drachtio/wire.js';
import { APP_SDP, verbs, connectSrf, disconnectSrf, sleep, startTraceApp, uacCall, type ConnectedApp } from './drachtio/harness.js';
import { runSipp, startSipp, type SippProcess } from './sipp.js';
import { parseMessage, header } from './sip/message.js';

let dr: DrachtioStandIn;
let app: ConnectedApp;
let trunk: SippProcess;
let failTrunk: SippProcess;
let rrTrunk: SippProcess;

beforeAll(async () => {
  dr = await startDrachtio();
  trunk = await startSipp({ scenario: 'trunk-uas', timeoutMs: 120_000 });
  failTrunk = await startSipp({ scenario: 'trunk-503', timeoutMs: 120_000 });
  rrTrunk = await startSipp({ scenario: 'trunk-uas-rr', timeoutMs: 120_000 });
  app = await startTraceApp(dr.adminPort, { trunk: trunk.address, failTrunk: failTrunk.address, rrTrunk: rrTrunk.address });
});

afterAll(async () => {
  await app?.close();
  await trunk?.stop();
  await failTrunk?.stop();
  await rrTrunk?.stop();
  await dr?.stop();
});

const caller = (scenario: string, service: string, extra: Partial<Parameters<typeof runSipp>[0]> = {}) =>
  runSipp({ scenario, service, target: `127.0.0.1:${dr.sipPort}`, calls: 1, timeoutMs: 15_000, ...extra });

const sipOf = (f: FrameRecord) => f.payload.slice(f.payload.indexOf('\r\n') + 2);
const fields = (f: FrameRecord) => f.payload.slice(0, f.payload.indexOf('\r\n') < 0 ? undefined : f.payload.indexOf('\r\n')).split('|');

/** A raw UDP peer for hand-made datagrams. */
async function udpPeer(serverPort?: number) {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const inbox: string[] = [];
  sock.on('message', (m) => inbox.push(m.toString()));
  return {
    port: sock.address().port,
    inbox,
    send: (text: string) => new Promise<void>((r) => sock.send(Buffer.from(text), serverPort ?? dr.sipPort, '127.0.0.1', () => r())),
    async waitFor(pred: (m: string) => boolean, ms = 2000): Promise<string | undefined> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const hit = inbox.find(pred);
        if (hit) return hit;
        await sleep(10);
      }
      return undefined;
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

function request(method: string, port: number, opts: { uri?: string; toTag?: string; cseqMethod?: string; branch?: string } = {}): string {
  const branch = opts.branch ?? `z9hG4bK-${Math.random().toString(36).slice(2)}`;
  return [
    `${method} ${opts.uri ?? `sip:test@127.0.0.1:${dr.sipPort}`} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch}`,
    `From: <sip:1001@127.0.0.1>;tag=abc${Math.random().toString(36).slice(2, 8)}`,
    `To: <sip:test@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    `Call-ID: ${Math.random().toString(36).slice(2)}@127.0.0.1`,
    `CSeq: 1 ${opts.cseqMethod ?? method}`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

describe('admin protocol', () => {
  it('rejects a wrong secret the way the real server does', async () => {
    const sock = net.connect(dr.adminPort, '127.0.0.1');
    const dec = new FrameDecoder();
    const got: string[] = [];
    sock.on('data', (d) => got.push(...dec.push(d)));
    await new Promise((r) => sock.once('connect', r));
    sock.write(encodeFrame('11111111-2222-3333-4444-555555555555|authenticate|wrong|'));
    await new Promise((r) => sock.once('close', r));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^[0-9a-f-]{36}\|response\|11111111-2222-3333-4444-555555555555\|NO\|incorrect secret$/);
  });

  it('srf reports the failed authentication', async () => {
    await expect(connectSrf(dr.adminPort, 'not-the-secret')).rejects.toThrow();
  });

  it('answers ping with pong and survives a bad length specifier', async () => {
    const sock = net.connect(dr.adminPort, '127.0.0.1');
    const dec = new FrameDecoder();
    const got: string[] = [];
    sock.on('data', (d) => got.push(...dec.push(d)));
    await new Promise((r) => sock.once('connect', r));
    sock.write(encodeFrame('a1|authenticate|cymru|'));
    sock.write(encodeFrame('a2|ping'));
    await sleep(100);
    expect(got[0]).toMatch(/\|response\|a1\|OK\|udp\/127\.0\.0\.1:\d+\|1\.0\.0\|udp\/127\.0\.0\.1:\d+$/);
    expect(got[1]).toMatch(/\|response\|a2\|OK\|pong$/);
    sock.write('xyz#garbage');
    await new Promise((r) => sock.once('close', r));
    // the stand-in keeps serving others
    expect((await caller('call-expect-486', 'reject')).exitCode).toBe(0);
  });
});

describe('SIP behaviour', () => {
  it('answers a call: 100 Trying first, Contact and Via as the server writes them, BYE built from the dialog', async () => {
    const from = dr.frames.length;
    const r = await caller('call-recv-bye', 'appbye', { extraArgs: ['-trace_msg', '-message_file', '/dev/null'] });
    expect(r.exitCode, r.stdout + r.errors).toBe(0);
    const frames = dr.frames.slice(from);
    const ok = frames.find((f) => f.dir === 'SERVER ==> APP' && /\|response\|/.test(f.payload) && sipOf(f).startsWith('SIP/2.0 200'));
    expect(ok).toBeDefined();
    const res = parseMessage(sipOf(ok!));
    expect(header(res, 'contact')).toBe(`<sip:127.0.0.1:${dr.sipPort}>`);
    expect(header(res, 'to')).toMatch(/;tag=[A-Za-z0-9]{13}$/);
    const bye = frames.find((f) => f.dir === 'SERVER ==> APP' && sipOf(f).startsWith('BYE '));
    expect(bye).toBeDefined();
    const byeMsg = parseMessage(sipOf(bye!));
    expect(byeMsg.uri).toMatch(/^sip:1001@127\.0\.0\.1:\d+$/);
    expect(header(byeMsg, 'via')).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${dr.sipPort};rport;branch=z9hG4bK[A-Za-z0-9]{13}$`));
    expect(header(byeMsg, 'cseq')).toBe('2 BYE');
    expect(header(byeMsg, 'from')).toBe(header(res, 'to'));
  });

  it('relays an in-dialog REFER to the app with its dialog, and sends the app\'s NOTIFY from the dialog state (issue 13)', async () => {
    // drachtio-server (sip-dialog-controller.cpp processRequestInsideDialog, client-controller.cpp
    // route_request_inside_dialog): a REFER inside an INVITE dialog goes to the app owning the
    // dialog like INFO does; the app's NOTIFY is built from the dialog (doSendRequestInsideDialog):
    // next CSeq, From/To with the tags, no Contact added (only INVITE, SUBSCRIBE and REFER get one),
    // and a NOTIFY with Subscription-State terminated does not end an INVITE dialog.
    const from = dr.frames.length;
    const r = await caller('call-send-refer', 'refer');
    expect(r.exitCode, r.stdout + r.errors).toBe(0);
    await sleep(100);
    const frames = dr.frames.slice(from);
    const refer = frames.find((f) => f.dir === 'SERVER ==> APP' && sipOf(f).startsWith('REFER '));
    expect(refer).toBeDefined();
    const ok = frames.find((f) => f.dir === 'SERVER ==> APP' && /\|response\|/.test(f.payload) && sipOf(f).startsWith('SIP/2.0 200'));
    const dialogId = fields(ok!)[11]; // uuid|response|msgId|OK|meta(6)|txn|dialog
    expect(dialogId).toBeTruthy();
    expect(fields(refer!)[9]).toBe(dialogId); // uuid|sip|meta(6)|txn|dialog
    const notifyFrame = frames.find((f) => f.dir === 'SERVER ==> APP' && /\|response\|/.test(f.payload) && sipOf(f).startsWith('NOTIFY '));
    expect(notifyFrame).toBeDefined();
    const notify = parseMessage(sipOf(notifyFrame!));
    const answer = parseMessage(sipOf(ok!));
    expect(notify.uri).toMatch(/^sip:1001@127\.0\.0\.1:\d+$/);
    expect(header(notify, 'cseq')).toBe('2 NOTIFY');
    expect(header(notify, 'from')).toBe(header(answer, 'to'));
    expect(header(notify, 'contact')).toBeUndefined();
    expect(header(notify, 'event')).toBe('refer');
    // The dialog outlived the terminated subscription: the caller's BYE reached the app.
    expect(frames.some((f) => f.dir === 'SERVER ==> APP' && sipOf(f).startsWith('BYE '))).toBe(true);
  });

  it('sends 100 Trying to an INVITE before the app answers', async () => {
    const peer = await udpPeer();
    try {
      await peer.send(request('INVITE', peer.port, { uri: `sip:reject@127.0.0.1:${dr.sipPort}` }));
      const trying = await peer.waitFor((m) => m.startsWith('SIP/2.0 100'));
      expect(trying).toBeDefined();
      expect(header(parseMessage(trying!), 'to')).not.toMatch(/tag=/);
      const busy = await peer.waitFor((m) => m.startsWith('SIP/2.0 486'));
      expect(busy).toBeDefined();
      // the 486 is retransmitted until the ACK arrives
      await sleep(700);
      expect(peer.inbox.filter((m) => m.startsWith('SIP/2.0 486')).length).toBeGreaterThanOrEqual(2);
    } finally {
      await peer.close();
    }
  });

  it('CANCEL while ringing: the server sends 200 and 487, the app only hears of it', async () => {
    const before = app.events.cancels;
    const r = await caller('call-cancel', 'cancel');
    expect(r.exitCode, r.stdout + r.errors).toBe(0);
    await sleep(50);
    expect(app.events.cancels).toBe(before + 1);
  });

  it('answers a garbage datagram with 400 when it can, drops it otherwise, and keeps working', async () => {
    const peer = await udpPeer();
    try {
      await peer.send('\x00\x01\x02 this is not SIP at all \r\n\r\n');
      await peer.send(request('INVITE', peer.port, { cseqMethod: 'BYE' }));
      const bad = await peer.waitFor((m) => m.startsWith('SIP/2.0 400'));
      expect(bad).toBeDefined();
      await peer.send('INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\n\r\n');
      await peer.send('SIP/2.0 200 OK\r\n\r\n');
      await peer.send('INVITE sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 999\r\n');
      await sleep(100);
      expect(peer.inbox.filter((m) => m.startsWith('SIP/2.0 400'))).toHaveLength(1);
    } finally {
      await peer.close();
    }
    const m = await caller('malformed-request', 'x');
    expect(m.exitCode, m.stdout + m.errors).toBe(0);
    expect((await caller('call-basic', 'answer')).exitCode).toBe(0);
  });

  it('answers methods it cannot route with proper SIP errors', async () => {
    expect((await caller('unknown-method', 'x')).exitCode).toBe(0); // 501
    expect((await caller('bye-no-dialog', 'x')).exitCode).toBe(0); // 481
    const peer = await udpPeer();
    try {
      // MESSAGE is routable but no app asked for it: 503, as drachtio's processNewRequest
      await peer.send(request('MESSAGE', peer.port));
      const r = await peer.waitFor((m) => /^SIP\/2\.0 \d{3}/.test(m));
      expect(r).toMatch(/^SIP\/2\.0 503 Service Unavailable/);
      expect(header(parseMessage(r!), 'to')).toMatch(/;tag=/);
      // an INVITE with a To tag for a dialog we do not know: 481
      await peer.send(request('INVITE', peer.port, { toTag: 'nope' }));
      const r2 = await peer.waitFor((m) => /^SIP\/2\.0 481/.test(m));
      expect(r2).toBeDefined();
    } finally {
      await peer.close();
    }
    expect((await caller('options', 'ping')).exitCode).toBe(0); // routed to the app
  });

  it('B2BUA to a failing trunk: the server ACKs the 503 and the app gets NOK for its own ACK', async () => {
    const from = dr.frames.length;
    expect((await caller('call-expect-503', 'b2bfail')).exitCode).toBe(0);
    await sleep(100);
    const nok = dr.frames.slice(from).find((f) => /\|response\|[^|]+\|NOK\|/.test(f.payload));
    expect(nok?.payload).toMatch(/NOK\|Server error: ACK for non-success final response is automatically generated by server$/);
  });

  it('B2BUA to an answering trunk relays the BYE', async () => {
    const from = dr.frames.length;
    expect((await caller('call-basic', 'b2b')).exitCode).toBe(0);
    await sleep(200);
    const byes = dr.frames.slice(from).filter((f) => f.dir === 'SERVER ==> APP' && /\|response\|/.test(f.payload) && sipOf(f).startsWith('BYE '));
    expect(byes).toHaveLength(1);
    expect(sipOf(byes[0]!)).toMatch(/^BYE sip:trunk@127\.0\.0\.1:\d+ SIP\/2\.0/);
  });

  it('createUAC to the trunk then app BYE', async () => {
    const from = dr.frames.length;
    await uacCall(app.srf, trunk.address, 200);
    await sleep(100);
    const sent = dr.frames.slice(from).filter((f) => f.dir === 'SERVER ==> APP' && /\|response\|/.test(f.payload));
    const invite = parseMessage(sipOf(sent.find((f) => sipOf(f).startsWith('INVITE '))!));
    expect(header(invite, 'from')).toMatch(new RegExp(`^<sip:127\\.0\\.0\\.1:${dr.sipPort}>;tag=[A-Za-z0-9]{13}$`));
    expect(header(invite, 'contact')).toBe(`<sip:127.0.0.1:${dr.sipPort}>`);
    expect(header(invite, 'content-type')).toBe('application/sdp');
    const ack = parseMessage(sipOf(sent.find((f) => sipOf(f).startsWith('ACK '))!));
    expect(ack.uri).toMatch(/^sip:trunk@127\.0\.0\.1:\d+$/); // remote target from the trunk's Contact
    expect(header(ack, 'cseq')).toBe(`${header(invite, 'cseq')!.split(' ')[0]} ACK`);
  });

  it('srf.proxyRequest with record-route: relayed call, ACK and BYE through the stand-in', async () => {
    const before = app.events.proxied.length;
    const r = await caller('call-basic', 'proxy');
    expect(r.exitCode, r.stdout + r.errors).toBe(0);
    await sleep(100);
    expect(app.events.proxied.length).toBe(before + 1);
    const result = app.events.proxied[before] as { connected: boolean; finalStatus: number };
    expect(result.connected).toBe(true);
    expect(result.finalStatus).toBe(200);
  });

  it('REGISTER digest challenge through sipp', async () => {
    const r = await runSipp({
      scenario: 'register-digest', target: `127.0.0.1:${dr.sipPort}`, calls: 3, timeoutMs: 10_000,
      vars: { user: '1002' }, auth: { username: '1002', password: 'pw' },
    });
    expect(r.exitCode, r.stdout + r.errors).toBe(0);
    expect(r.successful).toBe(3);
  });
});

describe('timers', () => {
  it('no ACK for a 2xx: retransmits, then BYEs the caller and hands the app an unsolicited BYE', async () => {
    const fast = await startDrachtio({ t1Ms: 20, recordFrames: true });
    const fastApp = await startTraceApp(fast.adminPort, {});
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const inbox: string[] = [];
    peer.on('message', (m) => inbox.push(m.toString()));
    try {
      const port = peer.address().port;
      const invite = [
        `INVITE sip:answer@127.0.0.1:${fast.sipPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKnoack1`,
        'From: <sip:1001@127.0.0.1>;tag=noack', 'To: <sip:answer@127.0.0.1>', 'Call-ID: noack-1@127.0.0.1', 'CSeq: 1 INVITE',
        `Contact: <sip:1001@127.0.0.1:${port}>`, 'Max-Forwards: 70', 'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(APP_SDP)}`, '', APP_SDP,
      ].join('\r\n');
      peer.send(Buffer.from(invite), fast.sipPort, '127.0.0.1');
      await sleep(2000);
      expect(inbox.filter((m) => m.startsWith('SIP/2.0 200')).length).toBeGreaterThan(2);
      const bye = inbox.find((m) => m.startsWith('BYE '));
      expect(bye).toMatch(/Reason: SIP ;cause=200 ;text="ACK timeout"/);
      expect(fast.frames.some((f) => /\|sip\|application\|\d+\|udp\|[^|]+\|\d+\|[^|]+\|unsolicited\|/.test(f.payload))).toBe(true);
      expect(fastApp.events.dialogsDestroyed).toBe(1);
    } finally {
      peer.close();
      await fastApp.close();
      await fast.stop();
    }
  });
});

describe('several apps', () => {
  it('spreads new requests over the apps that routed the method, round robin', async () => {
    const dr2 = await startDrachtio({ recordFrames: false });
    const counts = [0, 0];
    const apps: Srf[] = [];
    try {
      for (const i of [0, 1]) {
        apps.push(await connectSrf(dr2.adminPort, 'cymru', (srf) => {
          verbs(srf).options((_req: Srf.SrfRequest, res: Srf.SrfResponse) => {
            counts[i]!++;
            res.send(200);
          });
        }));
      }
      const r = await runSipp({ scenario: 'options', service: 'ping', target: `127.0.0.1:${dr2.sipPort}`, calls: 10, rate: 50, timeoutMs: 10_000 });
      expect(r.exitCode, r.stdout + r.errors).toBe(0);
      expect(counts).toEqual([5, 5]);
    } finally {
      for (const a of apps) await disconnectSrf(a);
      await dr2.stop();
    }
  });

  // Recorded on drachtio-server 0.9.10-1 with two srf apps and hand-made UDP requests: after app A's
  // remove_route|invite, OPTIONS, INVITE and REGISTER all went to B; with A alone, each got 503.
  it('remove_route withdraws the app from every method, as the real server does; alone, requests get 503', async () => {
    const dr2 = await startDrachtio({ recordFrames: false });
    const seen: string[][] = [[], []];
    const apps: Srf[] = [];
    try {
      for (const i of [0, 1]) {
        apps.push(await connectSrf(dr2.adminPort, 'cymru', (srf) => {
          verbs(srf).options((_req: Srf.SrfRequest, res: Srf.SrfResponse) => { seen[i]!.push('OPTIONS'); res.send(200); });
          srf.invite((_req: Srf.SrfRequest, res: Srf.SrfResponse) => { seen[i]!.push('INVITE'); res.send(486); });
        }));
      }
      (apps[0] as unknown as { unregisterForMessages(v: string): void }).unregisterForMessages('invite');
      await sleep(100);
      const r = await runSipp({ scenario: 'options', service: 'ping', target: `127.0.0.1:${dr2.sipPort}`, calls: 4, rate: 50, timeoutMs: 10_000 });
      expect(r.exitCode, r.stdout + r.errors).toBe(0);
      expect(seen).toEqual([[], ['OPTIONS', 'OPTIONS', 'OPTIONS', 'OPTIONS']]);
      (apps[1] as unknown as { unregisterForMessages(v: string): void }).unregisterForMessages('invite');
      await sleep(100);
      const peer = await udpPeer(dr2.sipPort);
      await peer.send(`OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-rr1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: rr-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`);
      expect(await peer.waitFor((m) => m.startsWith('SIP/2.0 503'))).toBeDefined();
      await peer.close();
      expect(seen[1]).toHaveLength(4);
    } finally {
      for (const a of apps) await disconnectSrf(a);
      await dr2.stop();
    }
  });
});

describe('load', () => {
  it('carries hundreds of calls per second', async () => {
    const t0 = Date.now();
    const [rejects, answers] = await Promise.all([
      runSipp({ scenario: 'call-expect-486', service: 'reject', target: `127.0.0.1:${dr.sipPort}`, calls: 400, rate: 200, concurrency: 400, timeoutMs: 20_000 }),
      runSipp({ scenario: 'call-basic', service: 'answer', target: `127.0.0.1:${dr.sipPort}`, calls: 200, rate: 200, concurrency: 400, timeoutMs: 20_000 }),
    ]);
    expect(rejects.exitCode, rejects.stdout.slice(-2000) + rejects.errors.slice(0, 2000)).toBe(0);
    expect(answers.exitCode, answers.stdout.slice(-2000) + answers.errors.slice(0, 2000)).toBe(0);
    expect(rejects.successful).toBe(400);
    expect(answers.successful).toBe(200);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(app.events.errors).toEqual([]);
  }, 30_000);
});

describe('frames', () => {
  it('records frames with direction, time and connection', () => {
    const f = dr.frames[0]!;
    expect(f.dir).toBe('APP ==> SERVER');
    expect(fields(f)[1]).toBe('authenticate');
    expect(typeof f.at).toBe('number');
    expect(f.client).toBe(1);
  });
});
