// POSTs alerts to a configured URL: low-balance (003 §2.2, the default type) and others that say
// their own `type` (spend-cap; tenant-suspended, late-fee, tenant-closed: 001 §6). Best effort with a timeout: the alert
// is already durable on the dialgate:alerts stream, so a failed POST is reported, not retried here.
import type { ArrearsAlert, LowBalanceAlert } from './types.js';

export interface WebhookOptions {
  url: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export type WebhookResult = { ok: true; status: number } | { ok: false; status?: number; error: string };

/** A low-balance alert, an arrears step, or any other alert that names its type. */
export type WebhookAlert = LowBalanceAlert | ArrearsAlert | { type: string; [field: string]: unknown };

export function createAlertWebhook(opts: WebhookOptions): (alert: WebhookAlert) => Promise<WebhookResult> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return async (alert) => {
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify({ type: 'low-balance', ...alert }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined); // free the socket
      return res.ok ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error;
      return { ok: false, error: err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : err.message };
    }
  };
}
