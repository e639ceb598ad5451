// Measures the event loop for overload control (sip/overload.ts): every window, how busy the loop
// was (Node's event-loop utilisation) and how late a short timer fired at most. Lag also shows a
// process that is ready to run but gets no CPU (neighbours on the same cores), which utilisation,
// counting that wait as idle, does not.
import { performance } from 'node:perf_hooks';
import type { LoopLoad } from '../sip/overload.js';

const TICK_MS = 25;

/** Calls `onWindow` every `windowMs` until the returned stop function is called. */
export function watchLoopLoad(onWindow: (load: LoopLoad) => void, windowMs = 250): () => void {
  let elu = performance.eventLoopUtilization();
  let windowStart = performance.now();
  let expected = windowStart + TICK_MS;
  let maxLag = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - expected);
    expected = now + TICK_MS;
    if (now - windowStart < windowMs) return;
    const next = performance.eventLoopUtilization();
    const load = { utilization: performance.eventLoopUtilization(next, elu).utilization, lagMs: maxLag };
    elu = next;
    windowStart = now;
    maxLag = 0;
    onWindow(load);
  }, TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
