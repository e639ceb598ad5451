// loadConfig: schema errors and cross-reference errors point at file, line and field.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { edit, exampleCopy, expectErrors, lineOf, load, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

describe('schema errors', () => {
  it('a typo in a field name names file, line, field and the closest known name', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['    maxConcurrent: 30', '    maxConcurent: 30']);
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1); // not also "missing maxConcurrent"
    expect(errors[0]).toMatchObject({
      file: 'tenants.yaml',
      line: await lineOf(dir, 'tenants.yaml', 'maxConcurent'),
      column: 5,
      field: 'tenants[0].maxConcurent',
      message: 'unknown field `maxConcurent`',
      hint: 'did you mean `maxConcurrent`?',
    });
  });

  it('"25:00" is rejected at its line', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['"08:00-19:30"', '"08:00-25:00"']);
    const [e, ...rest] = await expectErrors(dir);
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      file: 'tenants.yaml',
      line: await lineOf(dir, 'tenants.yaml', '25:00'),
      field: 'tenants[0].window.weekly.all[0]',
    });
    expect(e!.message).toContain('hour 25');
  });

  it('24:00 is a valid end; an inverted range suggests splitting at midnight', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['all: ["08:00-19:30"]', 'mon: ["08:00-24:00"]\n        tue: ["22:00-06:00"]']);
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'tenants[0].window.weekly.tue[0]', line: await lineOf(dir, 'tenants.yaml', '22:00') });
    expect(errors[0]!.hint).toContain('22:00-24:00 and 00:00-06:00');
  });

  it('overlapping ranges on a day are rejected, naming the other range', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['all: ["08:00-19:30"]', 'all: ["08:00-19:30"]\n        sat: ["18:00-20:00"]']);
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.line).toBe(await lineOf(dir, 'tenants.yaml', '18:00-20:00'));
    expect(errors[0]!.message).toMatch(/18:00-20:00 overlaps 08:00-19:30 \(tenants.yaml:\d+\) on sat/);
  });

  it('wrong types, enums and money give what was expected', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'trunks.yaml', ['maxConcurrent: 30', 'maxConcurrent: "30"']); // trunk-a
    await edit(dir, 'routes.yaml', ['media: anchored', 'media: anchord']);
    await edit(dir, 'tariffs.yaml', ['ratePerMinute: "0.13"', 'ratePerMinute: 0.13005']);
    const errors = await expectErrors(dir);
    const by = (f: string) => errors.find((e) => e.field === f);
    expect(by('trunks[0].maxConcurrent')).toMatchObject({ message: 'expected integer, got "30"', hint: 'remove the quotes' });
    expect(by('routes[0].media')).toMatchObject({ hint: 'did you mean `anchored`?' });
    expect(by('tariffs[0].rates[0].ratePerMinute')!.message).toContain('5 decimals');
    expect(errors).toHaveLength(3);
  });

  it('the orphan reconciler\'s settings: defaults, and a grace too short to cover an endpoint\'s set-up at its line', async () => {
    const plain = await exampleCopy();
    await edit(plain, 'dialgate.yaml', (t) => t.replace(/  reconcile:[^\n]*\n(    [^\n]*\n)+/, ''));
    const r = await load(plain);
    expect(r.ok && r.snapshot.server.freeswitch.reconcile).toEqual({ enabled: true, intervalSeconds: 60, graceSeconds: 30 });
    const dir = await exampleCopy();
    await edit(dir, 'dialgate.yaml', ['graceSeconds: 30', 'graceSeconds: 2']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.file, e.line, e.field, e.message])).toEqual([
      ['dialgate.yaml', await lineOf(dir, 'dialgate.yaml', 'graceSeconds: 2'), 'freeswitch.reconcile.graceSeconds', '2 is below the minimum 5'],
    ]);
  });

  it('wrapUpSeconds (issue 13): tenant default, seat override, 0 when absent; a bad value at its line', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['    maxConcurrent: 30', '    maxConcurrent: 30\n    wrapUpSeconds: 15']);
    await edit(dir, 'seats.yaml', ['    callerId: "01088886601"', '    callerId: "01088886601"\n    wrapUpSeconds: 5']);
    const r = await load(dir);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = r.snapshot.seats.get('1001')!.tenant;
    expect([r.snapshot.seats.get('1001')!.wrapUpSeconds, r.snapshot.seats.get('1002')!.wrapUpSeconds, r.snapshot.tenants.get(t)!.wrapUpSeconds])
      .toEqual([5, undefined, 15]);
    await edit(dir, 'seats.yaml', ['wrapUpSeconds: 5', 'wrapUpSeconds: -1']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.file, e.line, e.field, e.message])).toEqual([
      ['seats.yaml', await lineOf(dir, 'seats.yaml', 'wrapUpSeconds: -1'), 'seats[0].wrapUpSeconds', '-1 is below the minimum 0'],
    ]);
  });

  it('YAML syntax errors carry their line', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'trunks.yaml', ['    uri: sip:127.0.0.1:5091', '    uri: [sip:127.0.0.1:5091']);
    const errors = await expectErrors(dir);
    expect(errors[0]!.file).toBe('trunks.yaml');
    expect(errors[0]!.message).toMatch(/^YAML syntax/);
    expect(errors[0]!.line).toBeGreaterThan(0);
  });

  it('a missing dialgate.yaml is an error; an unknown yaml file a warning with a guess', async () => {
    const dir = await exampleCopy();
    await rm(join(dir, 'dialgate.yaml'));
    await writeFile(join(dir, 'tennants.yaml'), 'tenants: []\n');
    const r = await load(dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.file)).toEqual(['dialgate.yaml']);
    expect(r.warnings.find((w) => w.file === 'tennants.yaml')!.hint).toBe('did you mean `tenants.yaml`?');
  });
});

describe('cross-references', () => {
  it('a route to a missing trunk', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'routes.yaml', ['trunks: [trunk-a, trunk-b]', 'trunks: [trunk-a, trunk-c]']);
    const errors = await expectErrors(dir);
    expect(errors).toEqual([{
      file: 'routes.yaml', line: await lineOf(dir, 'routes.yaml', 'trunk-c'), column: 23, field: 'routes[0].trunks[1]',
      message: 'trunk `trunk-c` is not defined', hint: 'did you mean `trunk-a`?',
    }]);
  });

  it('a duplicate seat id across files', async () => {
    const dir = await exampleCopy();
    await mkdir(join(dir, 'seats'));
    await writeFile(join(dir, 'seats', 'night-shift.yaml'), 'seats:\n  - id: "1004"\n    tenant: telesales\n    password: x\n  - id: 1002\n    tenant: telesales\n    password: y\n');
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'seats/night-shift.yaml', line: 5, field: 'seats[1].id' });
    expect(errors[0]!.message).toBe(`seat \`1002\` is defined twice; first at seats.yaml:${await lineOf(dir, 'seats.yaml', '"1002"')}`);
  });

  it('a seat in a missing tenant, a tenant with a missing tariff', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'seats.yaml', ['tenant: telesales\n    password: { env: DIALGATE_SEAT_1003_PASSWORD', 'tenant: telesale\n    password: { env: DIALGATE_SEAT_1003_PASSWORD']);
    await edit(dir, 'tenants.yaml', ['tariff: cn-domestic-013', 'tariff: cn-domestic-012']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.file, e.field, e.message, e.hint])).toEqual([
      ['seats.yaml', 'seats[2].tenant', 'tenant `telesale` is not defined', 'did you mean `telesales`?'],
      ['tenants.yaml', 'tenants[0].tariff', 'tariff `cn-domestic-012` is not defined', 'did you mean `cn-domestic-013`?'],
    ]);
  });

  it('a caller-id number owned by two tenants', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', (t) => `${t}
  - id: other
    maxConcurrent: 2
    tariff: cn-domestic-013
    window: { weekly: { weekdays: ["09:00-18:00"] } }
    callerIdPool: [01088886602]
`);
    const errors = await expectErrors(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'tenants.yaml', field: 'tenants[1].callerIdPool[0]', line: await lineOf(dir, 'tenants.yaml', '[01088886602]') });
    // Unquoted, the leading 0 is kept (YAML alone would read 1088886602).
    expect(errors[0]!.message).toContain('number 01088886602 is owned by tenant `telesales`');
  });

  it('an emergency number without a route is an error naming the tenant (a 110 call would get 404)', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'routes.yaml', ['classes: [emergency]', 'classes: [emergency]\n      prefixes: ["119"]']);
    const errors = await expectErrors(dir);
    expect(errors).toEqual([expect.objectContaining({
      file: 'tenants.yaml', field: 'tenants[0]', line: await lineOf(dir, 'tenants.yaml', '- id: telesales'),
      message: 'emergency numbers 110, 120, 122 have no route for tenant `telesales`: an emergency call would get 404',
    })]);
  });

  it('warns about unreachable routes and tenants without a window', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'routes.yaml', (t) => `${t}
  - id: everything
    priority: 5
    trunks: [trunk-b]
`);
    await edit(dir, 'tenants.yaml', (t) => t.replace(/    window:\n(      .*\n)+/, ''));
    const r = await load(dir);
    expect(r.ok).toBe(true);
    const routeWarning = r.warnings.find((w) => w.field === 'routes[0].priority')!;
    expect(routeWarning.message).toMatch(/route `domestic` is never used: `everything` \(routes.yaml:\d+, priority 5\) is a catch-all/);
    expect(r.warnings.some((w) => w.field === 'tenants[0]' && /no dialing window/.test(w.message))).toBe(true);
  });
});

describe('version', () => {
  it('is a content hash: same files same version, any edit (list files too) a new one', async () => {
    const a = await load(await exampleCopy());
    const dir = await exampleCopy();
    const b = await load(dir);
    await edit(dir, 'lists/dnc.txt', (t) => `${t}13700000001\n`);
    const c = await load(dir);
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (!a.ok || !b.ok || !c.ok) return;
    expect(a.snapshot.version).toMatch(/^[0-9a-f]{64}$/);
    expect(b.snapshot.version).toBe(a.snapshot.version);
    expect(c.snapshot.version).not.toBe(a.snapshot.version);
  });
});

describe('messages', () => {
  it('ranges, lists and URIs say what was expected', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'trunks.yaml', ['uri: sip:127.0.0.1:5091', 'uri: 127.0.0.1:5091']);
    await edit(dir, 'trunks.yaml', ['maxConcurrent: 30', 'maxConcurrent: 0']);
    await edit(dir, 'routes.yaml', ['classes: [mobile, landline]', 'classes: mobile']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.field, e.message, e.hint])).toEqual([
      ['routes[0].match.classes', 'expected array, got "mobile"', 'write it as a list: [mobile]'],
      ['trunks[0].maxConcurrent', '0 is below the minimum 1', undefined],
      ['trunks[1].uri', '"127.0.0.1:5091" is not a SIP URI', 'did you mean "sip:127.0.0.1:5091"?'],
    ]);
  });
});
