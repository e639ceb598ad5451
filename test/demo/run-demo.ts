// `npm run demo`: dialgate on the CALL BENCH (test/demo stand-ins for drachtio-server and
// FreeSWITCH; never a production path) with a local redis-server and sipp as seat and carriers.
// It uses the shipped example config (config/, telesales contract 004) and prints each decision
// and CDR.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { shiftedClock } from '../../src/calls/clock.js';
import { ConfigStore, formatYuan } from '../../src/config/index.js';
import { startApp } from '../../src/ops/app.js';
import { startDrachtio } from '../bench/drachtio/standin.js';
import { startFreeSwitch } from '../bench/freeswitch/index.js';
import { runSipp, startSipp, type SippProcess } from '../bench/sipp.js';
import { startRedis } from '../helpers/redis.js';
import { injection, seatCall, seatRegister, trunkUas } from '../e2e/scenarios.js';
import { missingPrerequisites } from './prerequisites.js';
import { readCdrsIn } from './read-cdrs.js';

const CONFIG = resolve(import.meta.dirname ?? '.', '../../config');
const MORNING = Date.parse('2026-11-23T10:00:00+08:00');
const EVENING = Date.parse('2026-11-23T20:00:00+08:00');

function line(text = ''): void {
  process.stdout.write(`${text}\n`);
}

async function main(): Promise<void> {
  const missing = missingPrerequisites();
  if (missing) {
    process.stderr.write(`${missing}\n`);
    process.exit(1);
  }
  line('dialgate demo — on the call bench (test stand-ins for drachtio-server and FreeSWITCH; not a production path)');
  const work = mkdtempSync(join(tmpdir(), 'dialgate-demo-'));
  const redis = await startRedis();
  const drachtio = await startDrachtio({ recordFrames: false });
  const fs = await startFreeSwitch({ defaultPlaybackMs: 300 });
  const store = await ConfigStore.open(CONFIG);
  const cfg = store.current();
  const trunkPorts = [...cfg.trunks.values()].map((t) => Number(/:(\d+)$/.exec(t.uri)?.[1] ?? 0));
  const clock = shiftedClock(MORNING);
  const app = await startApp({
    config: () => store.current(),
    redisUrl: redis.url,
    drachtio: { host: '127.0.0.1', port: drachtio.adminPort, secret: 'cymru' },
    freeswitch: { host: '127.0.0.1', port: fs.eslPort, secret: fs.password },
    cdrDir: join(work, 'cdr'),
    recordingsDir: join(work, 'recordings'),
    clock,
    logger: pino({ level: process.env.DEMO_LOG ?? 'silent' }),
  });
  const target = `127.0.0.1:${drachtio.sipPort}`;
  const seat = '1001';
  const password = process.env.DIALGATE_SEAT_1001_PASSWORD ?? 'demo-1001';
  const tenant = cfg.tenants.get('telesales')!;
  await app.ledger.createAccount(tenant.account, { tenant: tenant.id, prepaidTotal: 100 * 10_000 });
  await app.ledger.topUp(tenant.account, 'demo-deposit', 100 * 10_000, 'deposit, 004 §10.2 (≥ 100 yuan)');
  line(`config ${cfg.version.slice(0, 12)} from ${CONFIG}; account ${tenant.account} topped up with 100 yuan`);

  const trunks: SippProcess[] = [];
  const place = async (title: string, callee: string, expect: number, at: number, trunkAnswers: number[]) => {
    clock.set(at);
    for (const [i, answer] of trunkAnswers.entries()) {
      trunks.push(await startSipp({ scenario: trunkUas({ answer }), localPort: trunkPorts[i]!, timeoutMs: 60_000 }));
    }
    const r = await runSipp({
      scenario: seatCall({ expect, holdMs: 2000 }), target, calls: 1, timeoutMs: 20_000,
      injectionFile: injection([[seat, password, callee]]), auth: { username: seat, password, uri: `${callee}@${target}` },
    });
    await Promise.all(trunks.splice(0).map((t) => t.stop()));
    await new Promise((res) => setTimeout(res, 200));
    const cdr = readCdrsIn(join(work, 'cdr')).at(-1);
    line();
    line(`■ ${title}: seat ${seat} dials ${callee} at ${new Date(at + 8 * 3600_000).toISOString().slice(11, 16)} Beijing`);
    line(`  sipp seat got ${expect}: ${r.exitCode === 0 ? 'as expected' : `UNEXPECTED (sipp exit ${r.exitCode})`}`);
    if (cdr) {
      line(`  decision ${cdr.decision}${cdr.denyReason ? ` (${cdr.denyReason})` : ''}, SIP ${cdr.sipStatus}, trunks ${cdr.trunks.map((t) => `${t.trunk}:${t.sipStatus}`).join(' → ') || '-'}`);
      line(`  trace ${cdr.trace.map((t) => `${t.step}:${t.outcome}`).join(' ')}`);
      line(`  CDR ${JSON.stringify({ callee: cdr.calleeNormalised, class: cdr.numberClass, region: cdr.region, callerId: cdr.callerPresented, billable: cdr.billableSeconds, billed: cdr.billedSeconds, cost: `${formatYuan(cdr.cost)} yuan`, balanceAfter: cdr.balanceAfter === null ? null : `${formatYuan(cdr.balanceAfter)} yuan`, recording: cdr.recordingPath })}`);
    }
  };

  try {
    const reg = await runSipp({ scenario: seatRegister(200), target, calls: 1, timeoutMs: 10_000,
      injectionFile: injection([[seat, password, '']]), auth: { username: seat, password } });
    line(`seat ${seat} REGISTER (digest, 401 then 200): ${reg.exitCode === 0 ? 'registered' : 'FAILED'}`);
    await place('allowed call, bridged through FreeSWITCH and recorded', '13812345678', 200, MORNING, [200]);
    await place('outside the dialing window (004 §3.2: 08:00-19:30)', '13812345678', 403, EVENING, []);
    await place('callee on the tenant do-not-call list', '13900001111', 403, MORNING, []);
    await place('premium-rate number (004 §6.3 scope)', '16012345678', 403, MORNING, []);
    await place('trunk-a answers 503: failover to trunk-b (004 §2.6)', '02088886666', 200, MORNING, [503, 200]);
    const acct = await app.ledger.getAccount(tenant.account);
    line();
    line(`balance now ${formatYuan(acct!.balance)} yuan (reserved ${formatYuan(acct!.reserved)})`);
  } finally {
    await Promise.all(trunks.map((t) => t.stop()));
    await app.stop();
    store.close();
    await fs.stop();
    await drachtio.stop();
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
