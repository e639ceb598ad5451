import { describe, expect, it } from 'vitest';
import { startRedis } from './redis.js';

describe('redis test helper', () => {
  it('starts a real redis-server on a free loopback port and stops it', async () => {
    const r = await startRedis();
    const c = r.client();
    await c.set('k', '1');
    expect(await c.get('k')).toBe('1');
    c.disconnect();
    await r.stop();
    const again = r.client();
    again.on('error', () => {});
    await expect(again.connect().then(() => again.ping())).rejects.toBeDefined();
    again.disconnect();
  });
});
