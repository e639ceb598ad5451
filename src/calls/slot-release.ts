// A finished call's concurrency slots are freed even when Redis is away at that moment: the
// release is retried with backoff until it succeeds, so a tenant's ports come back when Redis
// does, not when the slot's 4 h TTL runs out. Retries run on unref'd timers (never hold the
// process) and stop once the TTL would have freed the slot anyway.
import type { Logger } from 'pino';
import type { ConcurrencySlots } from '../ledger/concurrency.js';

export interface HeldSlot { key: string; member: string }

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;
const GIVE_UP_AFTER_MS = 4 * 60 * 60 * 1000;

/**
 * Starts releasing; resolves after the first try (later tries run in the background). Several
 * slots go in one round trip first; if that fails, each is retried on its own.
 */
export async function releaseSlotsOnce(slots: ConcurrencySlots, held: readonly HeldSlot[], log: Logger): Promise<void> {
  if (held.length > 1) {
    try {
      await slots.releaseMany(held);
      return;
    } catch {
      // retried one by one below (ZREM of a slot already gone is a no-op), with the logging
    }
  }
  await Promise.all(held.map((s) => releaseWithRetry(slots, s, log, FIRST_RETRY_MS, Date.now() + GIVE_UP_AFTER_MS)));
}

async function releaseWithRetry(slots: ConcurrencySlots, s: HeldSlot, log: Logger, delayMs: number, giveUpAt: number): Promise<void> {
  try {
    await slots.release(s.key, s.member);
  } catch (err) {
    if (Date.now() + delayMs > giveUpAt) {
      log.error({ err, slot: s.key }, 'slot release failed; left to expire');
      return;
    }
    log.warn({ err, slot: s.key, retryInMs: delayMs }, 'slot release failed; retrying');
    setTimeout(() => void releaseWithRetry(slots, s, log, Math.min(delayMs * 2, MAX_RETRY_MS), giveUpAt), delayMs).unref();
  }
}
