// FreeSWITCH down must not cost CPU: drachtio-modesl retried a never-connected socket every ~1 ms,
// one loop per connect attempt (hundreds of connect() calls a second, growing). With the guard,
// only MediaGateway's own backoff (1 s, 2 s, 4 s ...) tries again.
import net from 'node:net';
import Srf from 'drachtio-srf';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MediaGateway } from '../../src/media/media-gateway.js';
import { freeTcpPortRefusing } from '../helpers/ports.js';

afterEach(() => { vi.restoreAllMocks(); });

describe('media server down', () => {
  it('connect attempts to a refused event socket follow the gateway backoff, not a tight loop', async () => {
    const port = await freeTcpPortRefusing();
    const attempts: number[] = [];
    const original = net.createConnection;
    vi.spyOn(net, 'createConnection').mockImplementation(((...args: Parameters<typeof net.createConnection>) => {
      const o = args[0] as { port?: number };
      if (typeof o === 'object' && Number(o.port) === port) attempts.push(Date.now());
      return (original as (...a: unknown[]) => net.Socket)(...args);
    }) as typeof net.createConnection);
    const gw = new MediaGateway(new Srf(), pino({ level: 'silent' }));
    const settings = { address: '127.0.0.1', port, secret: 'ClueCon' };
    await expect(gw.connect(settings)).rejects.toThrow(/ECONNREFUSED/);
    gw.retryInBackground(settings);
    await new Promise((r) => setTimeout(r, 2500));
    gw.disconnect();
    // the first connect, then the gateway's retries at ~1 s and ~3 s: 2 or 3 within 2.5 s
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(3);
    expect(gw.available).toBe(false);
  });
});
