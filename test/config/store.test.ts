// ConfigStore: atomic swap with diff, invalid changes rejected with lastError, watch and SIGHUP.
import { EventEmitter, once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigLoadError, ConfigStore, reloadOnSighup, type ConfigLogger } from '../../src/config/store.js';
import { edit, exampleCopy, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

function memoryLogger(): ConfigLogger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

const withTimeout = <T>(p: Promise<T>, ms = 5000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms))]);

describe('ConfigStore', () => {
  it('swaps a valid change in; readers holding the old snapshot keep it', async () => {
    const dir = await exampleCopy();
    const logger = memoryLogger();
    const store = await ConfigStore.open(dir, { env: {}, logger });
    const during = store.current(); // a call in progress
    const event = once(store, 'reloaded');
    await edit(dir, 'tenants.yaml', ['all: ["08:00-19:30"]', 'all: ["09:00-18:00"]']);
    await edit(dir, 'seats.yaml', (t) => `${t}\n  - id: "1004"\n    tenant: telesales\n    password: pw\n`);
    const r = await store.reload('test');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.diff).toEqual([
      { kind: 'tenants', added: [], removed: [], changed: ['telesales'] },
      { kind: 'seats', added: ['1004'], removed: [], changed: [] },
    ]);
    const [ev] = await event;
    expect(ev.version).toBe(r.version);
    expect(ev.previousVersion).toBe(during.version);
    expect(store.current().version).toBe(r.version);
    expect(store.current().tenants.get('telesales')!.window!.weekly.mon).toEqual([{ start: '09:00', end: '18:00' }]);
    expect(during.tenants.get('telesales')!.window!.weekly.mon).toEqual([{ start: '08:00', end: '19:30' }]);
    expect(Object.isFrozen(during.tenants.get('telesales'))).toBe(true);
    const log = logger.lines.find((l) => l.msg?.startsWith('config reloaded'))!;
    expect(log.msg).toBe('config reloaded: tenants ~telesales; seats +1004');
    expect(log.obj).toMatchObject({ version: r.version.slice(0, 12), reason: 'test' });
  });

  it('rejects an invalid change, keeps running the old config and records lastError', async () => {
    const dir = await exampleCopy();
    const logger = memoryLogger();
    const store = await ConfigStore.open(dir, { env: {}, logger });
    const before = store.current();
    const rejected = once(store, 'rejected');
    await edit(dir, 'tenants.yaml', ['all: ["08:00-19:30"]', 'all: ["08:00-25:00"]']);
    const r = await store.reload('edit');
    expect(r.ok).toBe(false);
    expect(store.current()).toBe(before);
    expect(store.lastError).toMatchObject({ reason: 'edit', errors: [{ file: 'tenants.yaml', field: 'tenants[0].window.weekly.all[0]' }] });
    expect(store.status()).toMatchObject({ version: before.version, lastError: { reason: 'edit' } });
    const [ev] = await rejected;
    expect(ev.keptVersion).toBe(before.version);
    expect(logger.lines.some((l) => l.level === 'error' && /tenants\.yaml:\d+:\d+/.test(l.msg ?? ''))).toBe(true);

    await edit(dir, 'tenants.yaml', ['all: ["08:00-25:00"]', 'all: ["08:00-19:00"]']);
    expect((await store.reload()).ok).toBe(true);
    expect(store.lastError).toBeNull();
  });

  it('refuses to open an invalid directory', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'routes.yaml', ['trunk-b]', 'trunk-x]']);
    await expect(ConfigStore.open(dir, { env: {} })).rejects.toBeInstanceOf(ConfigLoadError);
  });

  it('reuses built blacklists when their files did not change', async () => {
    const dir = await exampleCopy();
    const store = await ConfigStore.open(dir, { env: {} });
    const set = store.current().blacklist.exact;
    await edit(dir, 'tenants.yaml', ['maxConcurrent: 30', 'maxConcurrent: 20']);
    await store.reload();
    expect(store.current().blacklist.exact).toBe(set);
    await edit(dir, 'lists/global.txt', (t) => `${t}13800138009\n`);
    const r = await store.reload();
    expect(store.current().blacklist.exact).not.toBe(set);
    expect(r.ok && r.diff).toEqual([{ kind: 'blacklist', added: [], removed: [], changed: ['4→5 numbers'] }]);
  });

  it('watches the directory and lists/, debounced', async () => {
    const dir = await exampleCopy();
    const store = await ConfigStore.open(dir, { env: {}, debounceMs: 50 });
    await store.watch();
    try {
      const reloaded = once(store, 'reloaded');
      await writeFile(join(dir, 'lists', 'dnc.txt'), '13700001234\n13700005678\n13700007777\n');
      const [ev] = await withTimeout(reloaded);
      expect(ev.reason).toBe('file change: lists/dnc.txt');
      expect(store.current().tenants.get('telesales')!.blacklist.exact.has('13700007777')).toBe(true);

      const again = once(store, 'reloaded');
      await edit(dir, 'trunks.yaml', ['timeoutSeconds: 30', 'timeoutSeconds: 20']);
      const [ev2] = await withTimeout(again);
      expect(ev2.diff).toEqual([{ kind: 'trunks', added: [], removed: [], changed: ['trunk-a'] }]);
    } finally {
      store.close();
    }
  });

  it('reloads on SIGHUP through the hook the server installs', async () => {
    const dir = await exampleCopy();
    const store = await ConfigStore.open(dir, { env: {} });
    const proc = new EventEmitter();
    const unhook = reloadOnSighup(store, proc);
    await edit(dir, 'tenants.yaml', ['maxConcurrent: 30', 'maxConcurrent: 10']);
    const reloaded = once(store, 'reloaded');
    proc.emit('SIGHUP');
    const [ev] = await withTimeout(reloaded);
    expect(ev.reason).toBe('SIGHUP');
    expect(store.current().tenants.get('telesales')!.maxConcurrent).toBe(10);
    unhook();
    expect(proc.listenerCount('SIGHUP')).toBe(0);
  });

  it('overlapping reload requests run one after another and end on the latest files', async () => {
    const dir = await exampleCopy();
    const store = await ConfigStore.open(dir, { env: {} });
    await edit(dir, 'tenants.yaml', ['maxConcurrent: 30', 'maxConcurrent: 11']);
    const first = store.reload('a');
    const second = store.reload('b');
    const third = store.reload('c');
    expect(second).not.toBe(first);
    expect(third).toBe(second); // queued requests share one follow-up reload
    await Promise.all([first, second, third]);
    expect(store.current().tenants.get('telesales')!.maxConcurrent).toBe(11);
  });
});
