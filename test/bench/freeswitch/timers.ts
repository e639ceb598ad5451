// Every timer the stand-in starts goes through here so stop() can cancel them all.

export class Timers {
  private readonly live = new Set<NodeJS.Timeout>();
  private stopped = false;

  set(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const t = setTimeout(() => {
      this.live.delete(t);
      fn();
    }, Math.max(0, ms));
    this.live.add(t);
    return t;
  }

  every(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const t = setInterval(fn, ms);
    this.live.add(t);
    return t;
  }

  clear(t: unknown): void {
    if (t === undefined || t === null) return;
    clearTimeout(t as NodeJS.Timeout);
    this.live.delete(t as NodeJS.Timeout);
  }

  clearAll(): void {
    this.stopped = true;
    for (const t of this.live) clearTimeout(t);
    this.live.clear();
  }
}
