// Seats' credentials as an attacker sees them (issue 16): a captured Authorization header places
// no call to another number and cannot be sent again; a stranger cannot lock an agent out; a
// flood from one address is banned and costs the real seats nothing. Attackers use their own
// tools (udp-sip.ts, from other 127.x addresses); the honest seat is sipp on 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, runSipp, type SippProcess } from '../bench/sipp.js';
import { readCdrs, SEATS, seatCalls, startBench, startTrunk, waitForCdrs, type Bench } from './harness.js';
import { REAL } from './real-servers.js';
import { injection, seatRegister } from './scenarios.js';
import { digestAnswer, headerValues, UdpSipClient, type SipResponse } from './udp-sip.js';

const IN_WINDOW = '2026-11-23T10:00:00+08:00';
const final = (rs: SipResponse[]) => rs.at(-1)?.status;

// Attackers on other loopback addresses need the bench's drachtio (the real one listens on 127.0.0.1 only too, but
// its source addresses would be shared with other lanes' traffic): bench lane only.
describe.skipIf(REAL !== null)('seat credentials under attack', () => {
  let bench: Bench;
  let ports: [number, number];
  let trunks: SippProcess[] = [];
  let target: { host: string; port: number };

  beforeAll(async () => {
    ports = [await freeUdpPort(), await freeUdpPort()];
    bench = await startBench({ trunkPorts: ports, at: IN_WINDOW, balance: 1_000_000, media: 'direct', withMedia: false });
    const [host = '127.0.0.1', port = '5060'] = bench.sipTarget.split(':');
    target = { host, port: Number(port) };
  });
  afterAll(async () => { await bench?.stop(); });
  afterEach(async () => {
    await Promise.all(trunks.map((t) => t.stop()));
    trunks = [];
  });

  it('a captured Authorization places no call to another number and cannot be sent again', async () => {
    trunks.push(await startTrunk(ports[0], { answer: 486 }), await startTrunk(ports[1], { answer: 486 }));
    const c = new UdpSipClient('127.0.0.5', target);
    await c.open();
    try {
      const uri = (n: string) => `sip:${n}@${target.host}:${target.port}`;
      const invite = (n: string, headers: Record<string, string> = {}, callId?: string, cseq = 1) =>
        c.request({ method: 'INVITE', uri: uri(n), from: '1001', to: n, headers, ...(callId ? { callId } : {}), cseq });
      const cdrs0 = readCdrs(bench).length;

      // The seat's own call: challenged, answered, reaches the trunks (486 there), one CDR.
      const first = await invite('13800000001', {}, 'call-1');
      expect(final(first)).toBe(407);
      const auth = digestAnswer(first.at(-1)!.headers.get('proxy-authenticate')!, { user: '1001', password: SEATS['1001'], method: 'INVITE', uri: uri('13800000001') });
      expect(final(await invite('13800000001', { 'Proxy-Authorization': auth }, 'call-1', 2))).toBe(486);
      expect((await waitForCdrs(bench, cdrs0 + 1)).length).toBe(cdrs0 + 1);

      // The same header again, on a new call to the same number: refused (a fresh challenge).
      const replay = await invite('13800000001', { 'Proxy-Authorization': auth }, 'call-2', 2);
      expect(final(replay)).toBe(407);
      expect(replay.at(-1)!.headers.get('proxy-authenticate')).toContain('stale=true');
      // ... and on a new call to another number: refused (the digest names another URI).
      expect(final(await invite('13812345678', { 'Proxy-Authorization': auth }, 'call-3', 2))).toBe(400);

      // A fresh, correct digest computed over one number and sent with an INVITE to another.
      const fresh = await invite('13812345678', {}, 'call-4');
      const other = digestAnswer(fresh.at(-1)!.headers.get('proxy-authenticate')!, { user: '1001', password: SEATS['1001'], method: 'INVITE', uri: uri('13800000001') });
      expect(final(await invite('13812345678', { 'Proxy-Authorization': other }, 'call-4', 2))).toBe(400);

      await new Promise((r) => setTimeout(r, 300));
      expect(readCdrs(bench).length).toBe(cdrs0 + 1); // only the seat's own call was a call
    } finally {
      c.close();
    }
  });

  it('an INVITE whose body is not SDP gets 415, one without audio 488: a CDR says so, no trunk is tried', async () => {
    const c = new UdpSipClient('127.0.0.7', target);
    await c.open();
    try {
      const uri = `sip:13812345678@${target.host}:${target.port}`;
      const cdrs0 = readCdrs(bench).length;
      const send = async (callId: string, body: { type: string; text: string }) => {
        const first = await c.request({ method: 'INVITE', uri, from: '1001', to: '13812345678', callId, body });
        const auth = digestAnswer(first.at(-1)!.headers.get('proxy-authenticate')!, { user: '1001', password: SEATS['1001'], method: 'INVITE', uri });
        return c.request({ method: 'INVITE', uri, from: '1001', to: '13812345678', callId, cseq: 2, body, headers: { 'Proxy-Authorization': auth } });
      };
      const text = await send('body-1', { type: 'text/plain', text: 'hello' });
      expect(final(text)).toBe(415);
      const video = await send('body-2', { type: 'application/sdp', text: 'v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n' });
      expect(final(video)).toBe(488);
      const cdrs = await waitForCdrs(bench, cdrs0 + 2);
      expect(cdrs.slice(cdrs0).map((x) => [x.denyReason, x.sipStatus, x.trunks.length])).toEqual([['unsupported-body', 415, 0], ['unusable-sdp', 488, 0]]);
    } finally {
      c.close();
    }
  });

  it('allowedSources: outside the call centre\'s networks the right password is refused', async () => {
    const tenants = join(bench.dir, 'tenants.yaml');
    const original = readFileSync(tenants, 'utf8');
    writeFileSync(tenants, original.replace('    recording:', '    allowedSources: ["127.0.0.1/32"]\n    recording:'));
    expect((await bench.store.reload('test')).ok).toBe(true);
    const c = new UdpSipClient('127.0.0.6', target);
    await c.open();
    try {
      const uri = `sip:${target.host}:${target.port}`;
      const first = await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'reg-1' });
      expect(final(first)).toBe(401);
      const auth = digestAnswer(first.at(-1)!.headers.get('www-authenticate')!, { user: '1002', password: SEATS['1002'], method: 'REGISTER', uri });
      expect(final(await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'reg-1', cseq: 2, headers: { Authorization: auth } }))).toBe(403);
      // From inside the network the same seat registers.
      const ok = await runSipp({ scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000,
        injectionFile: injection([['1002', SEATS['1002'], '']]), auth: { username: '1002', password: SEATS['1002'] } });
      expect(ok.exitCode, ok.errors).toBe(0);
    } finally {
      c.close();
      writeFileSync(tenants, original);
      expect((await bench.store.reload('test')).ok).toBe(true);
    }
  });

  it('5,000 wrong REGISTERs for seat 1001 from one address: that address is banned, the agent on its own phone registers and calls', async () => {
    const attacker = new UdpSipClient('127.0.0.3', target);
    await attacker.open();
    const rssBefore = process.memoryUsage().rss;
    const statuses = new Map<number | undefined, number>();
    try {
      const uri = `sip:${target.host}:${target.port}`;
      const bogus = 'Digest username="1001", realm="dialgate.test", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="' + uri + '", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="x"';
      for (let batch = 0; batch < 50; batch++) {
        const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => attacker.request(
          { method: 'REGISTER', uri, from: '1001', to: '1001', callId: `flood-${batch}-${i}`, headers: { Authorization: bogus } }, 2000)));
        for (const r of rs) statuses.set(final(r), (statuses.get(final(r)) ?? 0) + 1);
      }
    } finally {
      attacker.close();
    }
    // The test process holds the attacker, the stand-ins and the app: a figure, not a limit.
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    console.log(`REGISTER flood: answers ${JSON.stringify(Object.fromEntries(statuses))}, RSS +${grownMb.toFixed(1)} MB`);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(4500); // banned after its first burst
    // The agent, from its own address, is not locked out.
    const reg = await runSipp({ scenario: seatRegister(200), target: bench.sipTarget, calls: 1, timeoutMs: 10_000,
      injectionFile: injection([['1001', SEATS['1001'], '']]), auth: { username: '1001', password: SEATS['1001'] } });
    expect(reg.exitCode, reg.errors).toBe(0);
    trunks.push(await startTrunk(ports[0], { answer: 200 }));
    const call = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 300 });
    expect(call.exitCode, call.errors).toBe(0);
    expect(await bench.app.metrics.render({ liveCalls: 0 })).toMatch(/dialgate_sip_banned_sources [1-9]/);
  }, 60_000);

  it('10,000 unauthenticated INVITEs from one address: nothing bridged, no CDR, a seat\'s call during the flood connects', async () => {
    const trunk = await startTrunk(ports[0], { answer: 200 });
    const cdrs0 = readCdrs(bench).length;
    const attacker = new UdpSipClient('127.0.0.4', target);
    await attacker.open();
    let flooding = true;
    const flood = (async () => {
      for (let batch = 0; batch < 100 && flooding; batch++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => attacker.request(
          { method: 'INVITE', uri: `sip:13812345678@${target.host}:${target.port}`, from: 'x', to: '13812345678', callId: `inv-${batch}-${i}` }, 1000)));
      }
    })();
    try {
      const call = await seatCalls(bench, { callee: '13812345678', expect: 200, holdMs: 300 });
      expect(call.exitCode, call.errors).toBe(0);
      await flood;
    } finally {
      flooding = false;
      await flood;
      attacker.close();
    }
    const t = await trunk.stop();
    expect(t.successful).toBe(1); // the carrier saw the seat's call and nothing else
    const cdrs = await waitForCdrs(bench, cdrs0 + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(readCdrs(bench).length).toBe(cdrs0 + 1);
    expect(cdrs.at(-1)).toMatchObject({ sipStatus: 200, seat: '1001' });
  }, 90_000);
});

// Runs on the real drachtio-server too: it must pass both challenge lines on as they are.
describe('digest algorithms', () => {
  let bench: Bench;
  let target: { host: string; port: number };

  beforeAll(async () => {
    bench = await startBench({ trunkPorts: [await freeUdpPort(), await freeUdpPort()], at: IN_WINDOW, balance: 0, media: 'direct', withMedia: false });
    const [host = '127.0.0.1', port = '5060'] = bench.sipTarget.split(':');
    target = { host, port: Number(port) };
  });
  afterAll(async () => { await bench?.stop(); });

  it('SHA-256 offered before MD5 when configured: two challenge lines, a SHA-256 answer registers', async () => {
    const server = join(bench.dir, 'dialgate.yaml');
    const original = readFileSync(server, 'utf8');
    writeFileSync(server, `${original}security: { digestAlgorithms: [SHA-256, MD5] }\n`);
    expect((await bench.store.reload('test')).ok).toBe(true);
    const c = new UdpSipClient('127.0.0.8', target);
    await c.open();
    try {
      const uri = `sip:${target.host}:${target.port}`;
      const first = await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'sha-1' });
      expect(final(first)).toBe(401);
      const challenges = headerValues(first.at(-1)!.raw, 'WWW-Authenticate');
      expect(challenges.map((x) => /algorithm=([A-Z0-9-]+)/.exec(x)?.[1])).toEqual(['SHA-256', 'MD5']);
      const auth = digestAnswer(challenges[0]!, { user: '1002', password: SEATS['1002'], method: 'REGISTER', uri });
      expect(auth).toContain('algorithm=SHA-256');
      expect(final(await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'sha-1', cseq: 2, headers: { Authorization: auth } }))).toBe(200);
      // A wrong SHA-256 password is refused like a wrong MD5 one.
      const again = await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'sha-2' });
      const bad = digestAnswer(headerValues(again.at(-1)!.raw, 'WWW-Authenticate')[0]!, { user: '1002', password: 'wrong', method: 'REGISTER', uri });
      expect(final(await c.request({ method: 'REGISTER', uri, from: '1002', to: '1002', callId: 'sha-2', cseq: 2, headers: { Authorization: bad } }))).toBe(403);
    } finally {
      c.close();
      writeFileSync(server, original);
      expect((await bench.store.reload('test')).ok).toBe(true);
    }
  });

});
