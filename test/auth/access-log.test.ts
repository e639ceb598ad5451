import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAccessLog, type AccessEvent } from '../../src/auth/access-log.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

let server: RedisInstance;
let redis: Redis;
let lines: string[];
const logger = () => pino({ level: 'debug' }, { write: (s: string) => { lines.push(s); } });

beforeAll(async () => {
  server = await startRedis();
  redis = server.client();
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  await redis.flushall();
  lines = [];
});

const AT = Date.UTC(2025, 2, 1, 16, 30, 0); // 2025-03-02 00:30 Beijing

describe('access log', () => {
  it('writes who, when and from where to pino and the stream', async () => {
    const log = createAccessLog(redis, logger());
    await log.record({
      at: AT, method: 'REGISTER', user: '1001', tenant: 'acme', ip: '198.51.100.4', port: 5062,
      transport: 'udp', outcome: 'accepted', callId: 'abc@phone', userAgent: 'Yealink T46U',
    });
    const entries = await redis.xrange('dialgate:access', '-', '+');
    expect(entries).toHaveLength(1);
    const fields = Object.fromEntries(chunk(entries[0]![1]));
    expect(fields).toEqual({
      at: String(AT), time: '2025-03-02T00:30:00.000+08:00', method: 'REGISTER', user: '1001',
      ip: '198.51.100.4', outcome: 'accepted', tenant: 'acme', port: '5062', transport: 'udp',
      callId: 'abc@phone', userAgent: 'Yealink T46U',
    });
    // routine outcomes are debug lines (the stream is the audit record); refusals are warnings
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; access: Record<string, unknown> };
    expect(line.level).toBe(20);
    expect(line.access).toMatchObject({ user: '1001', ip: '198.51.100.4', outcome: 'accepted' });
    await log.record({ at: AT, method: 'INVITE', user: '1001', ip: '203.0.113.9', outcome: 'rejected', reason: 'bad-response' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 40, access: { outcome: 'rejected', reason: 'bad-response' } });
  });

  it('never carries credentials, even when handed a whole request by mistake', async () => {
    const log = createAccessLog(redis, logger());
    const secretHeader = 'Digest username="1001", realm="r", nonce="SECRETNONCE", response="deadbeefdeadbeefdeadbeefdeadbeef"';
    const sloppy = {
      at: AT, method: 'INVITE', user: '1001', ip: '10.0.0.1', outcome: 'rejected', reason: secretHeader,
      authorization: secretHeader, ha1: 'c0ffeec0ffeec0ffeec0ffeec0ffeec0', password: 'hunter2',
    } as AccessEvent;
    await log.record(sloppy);
    await log.record({ ...sloppy, reason: 'bad-response' });
    const dump = JSON.stringify(await redis.xrange('dialgate:access', '-', '+')) + lines.join('');
    for (const s of ['SECRETNONCE', 'deadbeef', 'c0ffee', 'hunter2', 'Digest', 'authorization', 'ha1']) {
      expect(dump).not.toContain(s);
    }
    expect(dump).toContain('bad-response');
    expect(JSON.parse(lines[0]!).level).toBe(40); // rejections are warnings
  });

  it('neutralises control characters and caps peer-supplied text', async () => {
    const log = createAccessLog(redis, logger());
    await log.record({ at: AT, method: 'REGISTER', user: 'a\r\nFAKE LINE', ip: '10.0.0.1', outcome: 'rejected', userAgent: 'x'.repeat(1000) });
    const [entry] = await redis.xrange('dialgate:access', '-', '+');
    const f = Object.fromEntries(chunk(entry![1]));
    expect(f.user).toBe('a??FAKE LINE');
    expect(f.userAgent).toHaveLength(128);
  });

  it('caps the stream and survives a Redis failure', async () => {
    const log = createAccessLog(redis, logger(), { maxLen: 10 });
    for (let i = 0; i < 600; i++) await log.record({ at: AT + i, method: 'REGISTER', user: 'u', ip: '10.0.0.1', outcome: 'challenged' });
    expect(await redis.xlen('dialgate:access')).toBeLessThan(300);

    const dead = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    const broken = createAccessLog(dead, logger());
    lines = [];
    await expect(broken.record({ at: AT, method: 'REGISTER', user: 'u', ip: '10.0.0.1', outcome: 'accepted' })).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes('stream write failed'))).toBe(true);
    dead.disconnect();
  });
});

function chunk(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
