// Agent state and the web phone's seat session end to end (issue 13): sipp as the carrier's
// caller and as the seats, through the call bench with real Redis; the ops API over real HTTP.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSipp, type SippProcess } from '../bench/sipp.js';
import { startAppHttp } from '../../src/ops/app-http.js';
import type { OpsHttp } from '../../src/ops/http.js';
import { readCdrs, seatCalls, waitForCdrs } from './harness.js';
import { carrierCalls, PACKAGE_ACCOUNT, SEAT_PASSWORDS, startInboundBench, startSeat, type InboundBench } from './inbound-harness.js';
import { injection, seatRegister } from './scenarios.js';

const MONDAY_10 = '2026-11-23T10:00:00+08:00';
const ADMIN = 'agents-admin-token-0123456789';
const PLANS = `plans400:
  - number: "4008050520"
    owner: telesales
    account: ${PACKAGE_ACCOUNT}
    package: { total: "6000", months: 12, ratePerMinute: "0.25", startDate: "2026-01-01" }
    group: all
    groups:
      - { id: all, strategy: ring-all, noAnswerSeconds: 10, members: [{ seat: "1001" }, { seat: "1002" }] }
`;

describe('agent state and the seat session', () => {
  let bench: InboundBench;
  let api: OpsHttp;
  let seats: SippProcess[] = [];
  const logged: string[] = [];

  const call = async (path: string, init: { method?: string; token?: string; body?: unknown } = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const login = (seat: string, password: string) => call('/phone/login', { method: 'POST', body: { seat, password } });

  beforeAll(async () => {
    bench = await startInboundBench({ at: MONDAY_10, balance: 1_000_000, packageBalance: 10_000_000, plans400: PLANS });
    const cfg = join(bench.dir, 'dialgate.yaml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('http: { host: 127.0.0.1, port: 18080 }', `http:
  host: 127.0.0.1
  port: 18080
  tokens:
    - { name: noc, role: admin, token: ${ADMIN} }`));
    const r = await bench.store.reload('agents test tokens');
    expect(r.ok, JSON.stringify(r)).toBe(true);
    // Every line the ops API logs, to check no password or token is in any of them.
    const sink = new Writable({ write(chunk, _enc, done) { logged.push(String(chunk)); done(); } });
    api = await startAppHttp(bench.app, bench.store, {
      host: '127.0.0.1', port: 0, cdrDir: join(bench.dir, 'cdr'), recordingsDir: join(bench.dir, 'rec'),
      log: pino({ level: 'info' }, sink), now: bench.clock.now,
    });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await bench?.stop();
  });
  afterEach(async () => {
    await Promise.all(seats.map((s) => s.stop()));
    seats = [];
    bench.clock.set(Date.parse(MONDAY_10));
  });

  it('a 400 call whose group has an away seat and an available one rings only the available one; /calls and /agents show the states', async () => {
    const away = await call('/agents/1001/state', { method: 'PUT', token: ADMIN, body: { state: 'away' } });
    expect(away).toMatchObject({ status: 200, body: { seat: '1001', state: 'away', registered: true } });
    for (const s of ['1001', '1002']) seats.push(await startSeat(bench, s, { answer: 200 }));
    const before = readCdrs(bench).length;
    const running = carrierCalls(bench, { from: '01062345678', to: '4008050520', expect: 200, holdMs: 2500 });
    // While 1002 talks: its live call shows it on-call.
    let live: Record<string, any>[] = [];
    for (let i = 0; i < 100 && !live.some((c) => c.seat === '1002'); i++) {
      live = (await call('/calls', { token: ADMIN })).body.calls;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(live.find((c) => c.seat === '1002')).toMatchObject({ agentState: 'on-call' });
    const r = await running;
    expect(r.exitCode, r.errors).toBe(0);
    const cdr = (await waitForCdrs(bench, before + 1)).at(-1)!;
    expect(cdr).toMatchObject({ direction: 'inbound', seat: '1002', sipStatus: 200 });
    // Ring-all rang 1002 alone: 1001's phone (which would have answered) got no INVITE.
    expect(cdr.trunks.map((t) => [t.trunk, t.sipStatus])).toEqual([['seat:1002', 200]]);
    expect(cdr.trace.find((t) => t.step === 'members')!.detail).toContain('skipped 1001 away');
    const agents = (await call('/agents', { token: ADMIN })).body.agents as Record<string, any>[];
    const by = (s: string) => agents.find((a) => a.seat === s);
    expect(by('1001')).toMatchObject({ state: 'away', tenant: 'telesales', registered: true });
    expect(by('1002')).toMatchObject({ state: 'available', since: cdr.endAt, registered: true });
    expect((await call('/agents/1001/state', { method: 'PUT', token: ADMIN, body: { state: 'available' } })).body.state).toBe('available');
    // Bad input: a state that follows calls cannot be set; an unknown seat is 404.
    expect((await call('/agents/1001/state', { method: 'PUT', token: ADMIN, body: { state: 'on-call' } })).status).toBe(400);
    expect((await call('/agents/9999/state', { method: 'PUT', token: ADMIN, body: { state: 'away' } })).status).toBe(404);
  });

  it('seat session: login, me, state; a seat sees only its own calls; seat tokens open no ops endpoint and ops tokens no seat one', async () => {
    // An outbound attempt of each seat (blacklisted callee: 403 at once) a minute after 1002's 400 call above.
    bench.clock.set(Date.parse(MONDAY_10) + 60_000);
    for (const seat of ['1001', '1002'] as const) {
      const out = await seatCalls(bench, { seat, callee: '13900001111', expect: 403 });
      expect(out.exitCode, out.errors).toBe(0);
    }
    await waitForCdrs(bench, 3);

    expect((await login('1002', 'not-the-password')).status).toBe(401);
    expect((await login('1002', '')).status).toBe(400);
    const ok = await login('1002', SEAT_PASSWORDS['1002']!);
    expect(ok).toMatchObject({ status: 200, body: { seat: '1002', tenant: 'telesales' } });
    // 8 hours from now (the app's clock).
    expect(ok.body.expiresAt - bench.clock.now()).toBeGreaterThan(8 * 3_600_000 - 5_000);
    expect(ok.body.expiresAt - bench.clock.now()).toBeLessThanOrEqual(8 * 3_600_000);
    const token = ok.body.token as string;
    expect((await call('/phone/me', { token })).body).toEqual({ seat: '1002', tenant: 'telesales', name: '1002', state: 'available', callerId: expect.any(String), registered: true });

    const mine = (await call('/phone/me/calls?limit=20&seat=1001', { token })).body.calls as Record<string, any>[];
    expect(mine.map((c) => [c.direction, c.status, c.number])).toEqual([
      ['outbound', 'denied', '13900001111'],
      ['inbound', 'answered', '01062345678'],
    ]);
    expect(mine[0]).toMatchObject({ reason: 'blacklisted', sipStatus: 403, billedSeconds: 0, cost: 0 });
    expect(mine[1]!.cost).toBeGreaterThan(0);
    const all = readCdrs(bench);
    expect(all.filter((c) => c.seat === '1001')).toHaveLength(1); // 1001's call exists, and is not in 1002's list
    expect(mine.map((c) => c.callId)).not.toContain(all.find((c) => c.seat === '1001')!.callId);
    expect((await call('/phone/me/calls?limit=1', { token })).body.calls).toHaveLength(1);

    expect((await call('/phone/me/state', { method: 'PUT', token, body: { state: 'away' } })).body).toEqual({ state: 'away' });
    expect((await call('/agents', { token: ADMIN })).body.agents.find((a: { seat: string }) => a.seat === '1002').state).toBe('away');
    expect((await call('/phone/me/state', { method: 'PUT', token, body: { state: 'wrap-up' } })).status).toBe(400);
    expect((await call('/phone/me/state', { method: 'PUT', token, body: { state: 'available' } })).body).toEqual({ state: 'available' });

    // A seat token opens nothing of the ops API, and an admin token none of the seat routes.
    for (const [path, method] of [['/calls', 'GET'], ['/cdrs', 'GET'], ['/agents', 'GET'], ['/tenants/telesales/cdrs', 'GET'], ['/health', 'GET'], ['/agents/1001/state', 'PUT']] as const) {
      const r = await call(path, { token, method, ...(method === 'PUT' ? { body: { state: 'away' } } : {}) });
      expect([path, r.status]).toEqual([path, 403]);
    }
    expect((await call('/phone/me', { token: ADMIN })).status).toBe(401);
    expect((await call('/phone/me')).status).toBe(401);
    // A token edited to name another seat fails its signature.
    const [prefix, body, sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), s: '1001' })).toString('base64url');
    expect((await call('/phone/me', { token: `${prefix}.${forged}.${sig}` })).status).toBe(401);
    // Expired after 8 h (the app's clock).
    bench.clock.set(ok.body.expiresAt - 1000);
    expect((await call('/phone/me', { token })).status).toBe(200);
    bench.clock.set(ok.body.expiresAt);
    expect((await call('/phone/me', { token })).status).toBe(401);
    // Nothing secret in the ops API's log: the password, the seat token, the admin token.
    const text = logged.join('');
    expect(text).toContain('seat 1002');
    for (const secret of [SEAT_PASSWORDS['1002']!, 'not-the-password', token, body!, ADMIN]) expect(text).not.toContain(secret);
  });

  it('lockout is shared with SIP digest: wrong HTTP logins and a wrong REGISTER together lock the seat; it lifts after 15 minutes', async () => {
    for (let i = 0; i < 4; i++) expect((await login('1003', `guess-${i}`)).status).toBe(401);
    const sip = await runSipp({
      scenario: seatRegister(403), target: bench.sipTarget, calls: 1, timeoutMs: 10_000,
      injectionFile: injection([['1003', 'wrong-password', '']]), auth: { username: '1003', password: 'wrong-password' },
    });
    expect(sip.exitCode, sip.errors).toBe(0);
    // The fifth failure (over SIP) locked 1003 from this address: the right password is refused too.
    expect((await login('1003', SEAT_PASSWORDS['1003']!)).status).toBe(401);
    bench.clock.set(Date.parse(MONDAY_10) + 15 * 60_000 + 1000);
    expect((await login('1003', SEAT_PASSWORDS['1003']!)).status).toBe(200);
  });
});
