import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertWebhook } from '../../src/ledger/alert-webhook.js';
import type { LowBalanceAlert } from '../../src/ledger/types.js';

let server: Server;
let base: string;
const received: Array<{ path: string; headers: IncomingMessage['headers']; body: unknown }> = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(body) });
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 500); return; }
      res.statusCode = req.url === '/fail' ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const alert: LowBalanceAlert = { account: 'a1', balance: 900, prepaidTotal: 10_000, monthlyFees: 0, reason: 'BELOW_10_PERCENT', time: 1 };

describe('low-balance webhook', () => {
  it('POSTs the alert as JSON', async () => {
    const post = createAlertWebhook({ url: `${base}/hook`, headers: { authorization: 'Bearer x' } });
    expect(await post(alert)).toEqual({ ok: true, status: 204 });
    expect(received.at(-1)).toMatchObject({ path: '/hook', body: { type: 'low-balance', ...alert } });
    expect(received.at(-1)!.headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer x' });
  });

  it('reports HTTP errors, timeouts and refused connections without throwing', async () => {
    expect(await createAlertWebhook({ url: `${base}/fail` })(alert)).toEqual({ ok: false, status: 500, error: 'HTTP 500' });
    expect(await createAlertWebhook({ url: `${base}/slow`, timeoutMs: 100 })(alert)).toEqual({ ok: false, error: 'timeout after 100 ms' });
    const r = await createAlertWebhook({ url: 'http://127.0.0.1:1/x', timeoutMs: 1000 })(alert);
    expect(r.ok).toBe(false);
  });
});
