export { Ledger, type LedgerOptions } from './ledger.js';
export { recoverOrphans, billableMsOf, type RateFn, type RecoverOptions, type RecoveryOutcome } from './recovery.js';
export { ConcurrencySlots, slotKey, type SlotResult } from './concurrency.js';
export { createAlertWebhook, type WebhookOptions, type WebhookResult } from './alert-webhook.js';
export { accountKeys, beijingMonth, LIVE_INDEX_KEY, ALERT_STREAM_KEY } from './keys.js';
export * from './types.js';
