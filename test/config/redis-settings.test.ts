// dialgate.yaml `redis`: one URL, Cluster seed nodes or Sentinel; passwords through the secret
// mechanism, never in a log line; a clash or a bad node is an error at its file, line and field.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { describeTarget, redisTargetFromEnv } from '../../src/config/redis-target.js';
import { createRedactingLogger } from '../../src/ops/log.js';
import { edit, exampleCopy, expectErrors, lineOf, load, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

const URL_LINE = 'url: redis://127.0.0.1:6379   # or { env: DIALGATE_REDIS_URL } when it carries a password';

describe('redis settings', () => {
  it('a single URL stays the default, with one stream shard', async () => {
    const r = await load(await exampleCopy());
    expect(r.ok && r.snapshot.server.redis).toEqual({ kind: 'url', url: 'redis://127.0.0.1:6379', streamShards: 1 });
  });

  it('cluster seed nodes with a password from env, and stream shards', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', [URL_LINE, 'cluster:\n    nodes: ["10.0.0.5:7000", "10.0.0.6:7000", "[fd00::7]:7001"]\n    password: { env: DIALGATE_REDIS_PASSWORD }\n  streamShards: 8']);
    const r = await load(dir, { DIALGATE_REDIS_PASSWORD: 'cluster-pw-9' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.snapshot.server.redis).toEqual({
      kind: 'cluster', password: 'cluster-pw-9', streamShards: 8,
      nodes: [{ host: '10.0.0.5', port: 7000 }, { host: '10.0.0.6', port: 7000 }, { host: 'fd00::7', port: 7001 }],
    });
    expect(describeTarget(r.snapshot.server.redis)).toBe('cluster 10.0.0.5:7000,10.0.0.6:7000,[fd00::7]:7001');
    // A log line of the settings shows neither password.
    const lines: string[] = [];
    const log = createRedactingLogger({}, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    log.info({ server: r.snapshot.server }, 'settings');
    expect(lines.join('')).not.toContain('cluster-pw-9');
  });

  it('sentinel with both passwords from files; neither reaches a log line', async () => {
    const dir = await exampleCopy();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${dir}/redis.pw`, 'master-pw-1\n');
    await writeFile(`${dir}/sentinel.pw`, 'sentinel-pw-2\n');
    await edit(dir, 'dialgate.yaml', [URL_LINE, 'sentinel:\n    name: ledger\n    sentinels: ["127.0.0.1:26379", "127.0.0.1:26380"]\n    password: { file: redis.pw }\n    sentinelPassword: { file: sentinel.pw }']);
    const r = await load(dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.snapshot.server.redis).toMatchObject({ kind: 'sentinel', name: 'ledger', password: 'master-pw-1', sentinelPassword: 'sentinel-pw-2' });
    const lines: string[] = [];
    const log = createRedactingLogger({}, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    log.info({ redis: r.snapshot.server.redis }, 'redis');
    log.info({ server: r.snapshot.server }, 'settings');
    expect(lines.join('')).not.toMatch(/master-pw-1|sentinel-pw-2/);
  });

  it('url and cluster together is an error at the second one; a bad node at its line', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', [URL_LINE, `${URL_LINE}\n  cluster: { nodes: ["10.0.0.5:7000"] }`]);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.file, e.line, e.field])).toEqual([['dialgate.yaml', await lineOf(dir, 'dialgate.yaml', 'cluster: { nodes'), 'redis.cluster']]);
    expect(errors[0]!.message).toContain('redis has both `url` and `cluster`: give exactly one');

    const bad = await exampleCopy();
    await edit(bad, 'dialgate.yaml', [URL_LINE, 'cluster:\n    nodes: ["10.0.0.5:7000", "10.0.0.6"]']);
    const e2 = await expectErrors(bad);
    expect(e2.map((e) => [e.file, e.line, e.field])).toEqual([['dialgate.yaml', await lineOf(bad, 'dialgate.yaml', '"10.0.0.6"'), 'redis.cluster.nodes[1]']]);
    expect(e2[0]!.message).toContain('host:port');
  });

  it('DIALGATE_REDIS_CLUSTER and DIALGATE_REDIS_URL override the file; both at once is refused', () => {
    const configured = { kind: 'cluster' as const, nodes: [{ host: 'a', port: 1 }], password: 'pw-from-file' };
    expect(redisTargetFromEnv({ DIALGATE_REDIS_CLUSTER: '127.0.0.1:7000, 127.0.0.1:7001' }, configured)).toEqual({
      kind: 'cluster', password: 'pw-from-file', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }],
    });
    expect(redisTargetFromEnv({ DIALGATE_REDIS_URL: 'redis://r:6379' }, configured)).toEqual({ kind: 'url', url: 'redis://r:6379' });
    expect(redisTargetFromEnv({}, configured)).toBe(configured);
    expect(() => redisTargetFromEnv({ DIALGATE_REDIS_CLUSTER: '127.0.0.1:7000,oops' }, configured)).toThrow('"oops" is not host:port');
    expect(() => redisTargetFromEnv({ DIALGATE_REDIS_CLUSTER: '127.0.0.1:7000', DIALGATE_REDIS_URL: 'redis://x' }, configured)).toThrow('not both');
  });
});
