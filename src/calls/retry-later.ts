// A ledger step that must happen once Redis is back (a settlement, a release): retried with
// backoff on unref'd timers until it succeeds. Each step is idempotent in the ledger, so a retry
// that races a success changes nothing. The backoff stays short (2 s) so a settlement lands well
// before crash recovery would take the reservation as orphaned.
import type { Logger } from 'pino';
import { isRedisUnavailable } from '../ledger/redis-errors.js';

const FIRST_MS = 250;
const MAX_MS = 2_000;
const GIVE_UP_MS = 4 * 3_600_000;

/** Pending retries, for /health and tests. */
let pending = 0;
export function pendingRetries(): number { return pending; }

/** Reservations ("account/id") whose settlement is pending here: crash recovery must leave them. */
const deferred = new Set<string>();
export function isDeferred(account: string, reservationId: string): boolean { return deferred.has(`${account}/${reservationId}`); }

export function retryLater(what: string, op: () => Promise<unknown>, log: Logger, key?: string): void {
  pending++;
  if (key) deferred.add(key);
  const done = (): void => { pending--; if (key) deferred.delete(key); };
  const giveUpAt = Date.now() + GIVE_UP_MS;
  const attempt = (delay: number): void => {
    setTimeout(() => {
      op().then(() => {
        done();
        log.info({ what }, 'deferred ledger step done');
      }, (err: unknown) => {
        if (!isRedisUnavailable(err) || Date.now() > giveUpAt) {
          done();
          log.error({ err, what }, 'deferred ledger step failed for good; crash recovery will settle it');
          return;
        }
        attempt(Math.min(delay * 2, MAX_MS));
      });
    }, delay).unref();
  };
  attempt(FIRST_MS);
}
