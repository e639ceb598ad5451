// Secrets from env/file, seat passwords hashed to HA1, and nothing secret in logs.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { redactSecrets, SECRET_LOG_PATHS } from '../../src/config/secrets.js';
import { createRedactingLogger } from '../../src/ops/log.js';
import { edit, exampleCopy, expectErrors, lineOf, load, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('secrets', () => {
  it('seat passwords come from env and are kept only as HA1', async () => {
    const dir = await exampleCopy();
    const r = await load(dir, { DIALGATE_SEAT_1001_PASSWORD: 's3cret-from-env' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const seat = r.snapshot.seats.get('1001')!;
    expect(seat.ha1).toBe(md5('1001:dialgate.local:s3cret-from-env'));
    expect(JSON.stringify(Object.fromEntries(r.snapshot.seats))).not.toContain('s3cret-from-env');
    expect('password' in seat).toBe(false);
    // 1002 and 1003 fell back to their demo defaults: one warning naming the variables.
    const w = r.warnings.find((x) => x.file === 'seats.yaml')!;
    expect(w.message).toContain('DIALGATE_SEAT_1002_PASSWORD, DIALGATE_SEAT_1003_PASSWORD');
  });

  it('a missing env variable without default is an error at its line', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'trunks.yaml', ['    # username: acct123\n    # password: { env: DIALGATE_TRUNK_B_PASSWORD }', '    username: acct123\n    password: { env: DIALGATE_TRUNK_B_PASSWORD }']);
    const errors = await expectErrors(dir);
    expect(errors).toEqual([{
      file: 'trunks.yaml', line: await lineOf(dir, 'trunks.yaml', 'DIALGATE_TRUNK_B_PASSWORD'), column: 15, field: 'trunks[1].password',
      message: 'environment variable DIALGATE_TRUNK_B_PASSWORD is not set', hint: 'export DIALGATE_TRUNK_B_PASSWORD=... before starting dialgate',
    }]);
    const r = await load(dir, { DIALGATE_TRUNK_B_PASSWORD: 'carrier-pw' });
    expect(r.ok && r.snapshot.trunks.get('trunk-b')!.password).toBe('carrier-pw');
  });

  it('file secrets are read relative to the config dir, one trailing newline dropped', async () => {
    const dir = await exampleCopy();
    await writeFile(join(dir, 'esl.secret'), 'esl-pw-from-file\n');
    await edit(dir, 'dialgate.yaml', ['secret: { env: DIALGATE_ESL_PASSWORD, default: ClueCon }', 'secret: { file: esl.secret }']);
    await edit(dir, 'seats.yaml', ['password: { env: DIALGATE_SEAT_1003_PASSWORD, default: demo-1003 }', 'ha1: { file: missing.ha1 }']);
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'seats[2].ha1', message: 'cannot read secret file missing.ha1 (ENOENT)' });
    await writeFile(join(dir, 'missing.ha1'), `${md5('1003:dialgate.local:pw')}\n`);
    const r = await load(dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.snapshot.server.freeswitch.secret).toBe('esl-pw-from-file');
    expect(r.snapshot.seats.get('1003')!.ha1).toBe(md5('1003:dialgate.local:pw'));
  });

  it('a misspelt secret object gets a hint and never echoes a value', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'seats.yaml', ['password: { env: DIALGATE_SEAT_1002_PASSWORD, default: demo-1002 }', 'password: { evn: DIALGATE_SEAT_1002_PASSWORD }']);
    await edit(dir, 'seats.yaml', ['password: { env: DIALGATE_SEAT_1003_PASSWORD, default: demo-1003 }', 'password: 12345']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.field, e.hint])).toEqual([
      ['seats[1].password', 'did you mean `env`?'],
      ['seats[2].password', 'put the value in quotes: YAML reads bare digits as a number'],
    ]);
    expect(JSON.stringify(errors)).not.toContain('12345');
  });

  it('redactSecrets and the pino redaction paths hide every secret of a snapshot', async () => {
    const r = await load(await exampleCopy(), { DIALGATE_DRACHTIO_SECRET: 'drachtio-xyz' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const red = redactSecrets({ server: r.snapshot.server, seats: r.snapshot.seats, url: 'redis://:pw123@10.0.0.1:6379/0' });
    const text = JSON.stringify(red);
    expect(text).not.toContain('drachtio-xyz');
    expect(text).not.toContain('ClueCon');
    expect(text).not.toContain('pw123');
    expect(text).not.toMatch(/[0-9a-f]{32}/);
    expect(red.url).toBe('redis://:[redacted]@10.0.0.1:6379/0');

    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const log = pino({ redact: [...SECRET_LOG_PATHS] }, sink);
    log.info({ server: r.snapshot.server, seat: r.snapshot.seats.get('1001'), trunk: { id: 't', password: 'tp' } }, 'x');
    expect(lines.join('')).not.toMatch(/drachtio-xyz|ClueCon|"tp"|[0-9a-f]{32}/);
  });
});

describe('ops API tokens (http.tokens)', () => {
  const VIEWER = 'viewer-0123456789abcdef-viewer';
  const ADMIN = 'admin-0123456789abcdef-admin';
  const withTokens = (tokens: string) => ['http:                            # ops API (health, metrics, status)\n  host: 127.0.0.1\n  port: 8080',
    `http:\n  host: 127.0.0.1\n  port: 8080\n  tokens:\n${tokens}`] as [string, string];

  it('come from env and files, with roles; logs and redaction never show them', async () => {
    const dir = await exampleCopy();
    await writeFile(join(dir, 'viewer.token'), `${VIEWER}\n`);
    await edit(dir, 'dialgate.yaml', withTokens(`    - { name: noc, role: admin, token: { env: DIALGATE_ADMIN_TOKEN } }
    - { name: portal, role: tenant-viewer, tenant: telesales, token: { file: viewer.token } }
  metricsOpen: true`));
    const r = await load(dir, { DIALGATE_ADMIN_TOKEN: ADMIN });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.snapshot.server.http).toMatchObject({ metricsOpen: true, tokens: [
      { name: 'noc', role: 'admin', token: ADMIN }, { name: 'portal', role: 'tenant-viewer', tenant: 'telesales', token: VIEWER },
    ] });
    expect(JSON.stringify(redactSecrets(r.snapshot.server))).not.toMatch(/admin-0123|viewer-0123/);
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    for (const log of [pino({ redact: [...SECRET_LOG_PATHS] }, sink), createRedactingLogger({}, sink)]) {
      log.info({ server: r.snapshot.server }, 'x');
      log.info({ http: r.snapshot.server.http }, 'z');
    }
    expect(lines).toHaveLength(4);
    expect(lines.join('')).not.toMatch(/admin-0123|viewer-0123/);
  });

  it('are refused with file, line and field: a viewer without or with an unknown tenant, a short or shared token, a tenant on an admin', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', withTokens(`    - name: a
      role: tenant-viewer
      token: ${VIEWER}
    - name: b
      role: tenant-viewer
      tenant: telesale
      token: short-secret
    - name: c
      role: admin
      tenant: telesales
      token: ${VIEWER}`));
    const errors = await expectErrors(dir);
    const at = async (needle: string, nth = 1) => ({ file: 'dialgate.yaml', line: await lineOf(dir, 'dialgate.yaml', needle, nth) });
    expect(errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ ...(await at('role: tenant-viewer')), field: 'http.tokens[0].role', message: expect.stringContaining('needs `tenant`') }),
      expect.objectContaining({ ...(await at('token: short-secret')), field: 'http.tokens[1].token', message: expect.stringContaining('too short (12 characters') }),
      expect.objectContaining({ ...(await at('tenant: telesales', 1)), field: 'http.tokens[2].tenant', message: expect.stringContaining('only for role tenant-viewer') }),
      expect.objectContaining({ ...(await at(`token: ${VIEWER}`, 2)), field: 'http.tokens[2].token', message: expect.stringContaining('same value as http.tokens[0] (a)') }),
    ]));
    expect(JSON.stringify(errors)).not.toMatch(/viewer-0123|short-secret/);
    // The unknown tenant is found once the rest is right.
    await edit(dir, 'dialgate.yaml', (t) => t.replace('      role: tenant-viewer\n      token', '      role: tenant-viewer\n      tenant: telesales\n      token')
      .replace('short-secret', 'long-enough-0123456789').replace(`    - name: c\n      role: admin\n      tenant: telesales\n      token: ${VIEWER}\n`, ''));
    const [e, ...rest] = await expectErrors(dir);
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ ...(await at('tenant: telesale\n'.trim(), 2)), field: 'http.tokens[1].tenant', message: 'tenant `telesale` is not defined', hint: expect.stringContaining('telesales') });
  });
});
