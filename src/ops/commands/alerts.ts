// Alerts raised by admin commands (a charge that puts an account into arrears, a late fee, a
// closure: 001 §6; low balance: 003 §2.2). The ledger has already put each on the dialgate:alerts
// stream, once; here they are also POSTed to the config's alerts.webhook, like the server does,
// and the command waits for the POSTs before it exits.
import { createAlertWebhook, type WebhookAlert, type WebhookResult } from '../../ledger/alert-webhook.js';
import type { LedgerOptions } from '../../ledger/ledger.js';
import type { ConfigSnapshot } from '../../config/types.js';

export interface CliAlerts {
  /** Ledger options that route the ledger's alerts here. */
  ledger: Pick<LedgerOptions, 'onAlert' | 'onArrears'>;
  /** Alerts raised so far. */
  raised: WebhookAlert[];
  /** Waits for the POSTs; returns the failures (the alerts stay on the stream either way). */
  flush(): Promise<Array<{ alert: WebhookAlert; result: WebhookResult }>>;
}

export function cliAlerts(cfg: ConfigSnapshot): CliAlerts {
  const { webhook, timeoutMs } = cfg.server.alerts ?? { timeoutMs: 5000 };
  const post = webhook ? createAlertWebhook({ url: webhook, timeoutMs }) : null;
  const raised: WebhookAlert[] = [];
  const pending: Array<Promise<{ alert: WebhookAlert; result: WebhookResult }>> = [];
  const on = (alert: WebhookAlert): void => {
    raised.push(alert);
    if (post) pending.push(post(alert).then((result) => ({ alert, result })));
  };
  return {
    ledger: { onAlert: on, onArrears: on },
    raised,
    async flush() {
      return (await Promise.all(pending)).filter((p) => !p.result.ok);
    },
  };
}

/** One line per failed POST, for stderr. */
export function reportFailedAlerts(failed: Array<{ alert: WebhookAlert; result: WebhookResult }>): void {
  for (const f of failed) {
    const err = f.result.ok ? '' : f.result.error;
    process.stderr.write(`dialgate: alert webhook failed (${err}); the ${'type' in f.alert ? String(f.alert.type) : 'low-balance'} alert is on the dialgate:alerts stream\n`);
  }
}
