// plans400.yaml (contract 002): the shipped example loads; mistakes point at file, line and field.
import { afterAll, describe, expect, it } from 'vitest';
import { edit, exampleCopy, EXAMPLE_DIR, expectErrors, lineOf, load, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

describe('plans400.yaml', () => {
  it('the example loads: package terms in money units, rules, branches, groups', async () => {
    const r = await load(EXAMPLE_DIR);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const p = r.snapshot.plans400!.get('4008050508')!;
    expect(p).toMatchObject({ owner: 'telesales', account: 'telesales-400', status: 'active', recording: true });
    expect(p.package).toEqual({ total: 600_000_000, months: 120, startDate: '2026-01-01', rate: { ratePerMinute: 2500, initialIncrement: 60, subsequentIncrement: 60, connectFee: 0 } });
    expect(p.time!.rules.map((x) => [x.id, x.action])).toEqual([['holiday-duty', { kind: 'group', group: 'duty' }], ['office', { kind: 'route' }]]);
    expect(p.time!.otherwise).toEqual({ kind: 'voicemail', prompt: 'dialgate/ivr/400/leave-message.wav', maxSeconds: 60 });
    expect(p.region.branches.map((b) => b.id)).toEqual(['beijing', 'guangzhou']);
    expect(p.groups.find((g) => g.id === 'guangzhou')!.members).toEqual([
      { kind: 'seat', seat: '1003', weight: 1, noAnswerSeconds: 15 },
      { kind: 'number', number: '13800138000', weight: 1, noAnswerSeconds: 25 },
    ]);
    expect(p.tenantBlacklist.prefixes).toEqual(['0106000']);
    expect(p.blacklist.exact.has('13500001111')).toBe(true);
  });

  it('an absent file is an empty map', async () => {
    const dir = await exampleCopy();
    const { rm } = await import('node:fs/promises');
    await rm(`${dir}/plans400.yaml`);
    const r = await load(dir);
    expect(r.ok && r.snapshot.plans400!.size).toBe(0);
  });

  it('a misspelt field, a bad strategy and a bad member name line and field', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['strategy: round-robin', 'strategy: round-robbin']);
    await edit(dir, 'plans400.yaml', ['      months: 120', '      month: 120']);
    await edit(dir, 'plans400.yaml', ['{ number: "13800138000", noAnswerSeconds: 25 }', '{ number: "13800138000", noAnswer: 25 }']);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.line, e.field, e.message, e.hint])).toEqual([
      [await lineOf(dir, 'plans400.yaml', 'month: 12'), 'plans400[0].package.month', 'unknown field `month`', 'did you mean `months`?'],
      [await lineOf(dir, 'plans400.yaml', 'round-robbin'), 'plans400[0].groups[0].strategy', '"round-robbin" is not one of: sequential, round-robin, weighted, longest-idle, ring-all', 'did you mean `round-robin`?'],
      [await lineOf(dir, 'plans400.yaml', 'noAnswer: 25'), 'plans400[0].groups[1].members[1]', 'unknown field `noAnswer` in a number member', 'known fields: number, weight, noAnswerSeconds, trunks'],
    ]);
    expect(errors.every((e) => e.file === 'plans400.yaml')).toBe(true);
  });

  it('cross-references: owner tenant, seats of the owner, trunks, groups, overflow cycles', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'seats.yaml', (t) => `${t}
  - id: "2001"
    tenant: other
    password: x
`);
    await edit(dir, 'tenants.yaml', (t) => `${t}
  - id: other
    maxConcurrent: 2
    tariff: cn-domestic-013
    window: { weekly: { weekdays: ["09:00-18:00"] } }
`);
    await edit(dir, 'plans400.yaml', ['members: [{ seat: "1001" }, { seat: "1002" }]\n        overflow: hq', 'members: [{ seat: "1001" }, { seat: "2001" }, { seat: "1999" }]\n        overflow: hq']);
    await edit(dir, 'plans400.yaml', ['then: { group: duty }', 'then: { group: dutty }']);
    await edit(dir, 'plans400.yaml', ['{ number: "13800138000", noAnswerSeconds: 25 }', '{ number: "13800138000", noAnswerSeconds: 25, trunks: [trunk-c] }']);
    await edit(dir, 'plans400.yaml', ['members: [{ seat: "1001" }, { seat: "1002" }, { seat: "1003" }]', 'members: [{ seat: "1001" }, { seat: "1002" }, { seat: "1003" }]\n        overflow: beijing']);
    const errors = await expectErrors(dir);
    const line = (s: string) => lineOf(dir, 'plans400.yaml', s);
    expect(errors.map((e) => [e.file, e.line, e.field, e.message])).toEqual([
      ['plans400.yaml', await line('then: { group: dutty }'), 'plans400[0].time.rules[0].then.group', 'group `dutty` is not a group of plan 4008050508'],
      ['plans400.yaml', await line('seat: "2001"'), 'plans400[0].groups[0].members[1].seat', 'seat 2001 belongs to tenant `other`, not to the owner `telesales`'],
      ['plans400.yaml', await line('seat: "2001"'), 'plans400[0].groups[0].members[2].seat', 'seat `1999` is not defined'],
      ['plans400.yaml', await line('overflow: hq'), 'plans400[0].groups[0].overflow', 'overflow of group `beijing` comes back to it (beijing → hq → beijing)'],
      ['plans400.yaml', await line('trunks: [trunk-c]'), 'plans400[0].groups[1].members[1].trunks[0]', 'trunk `trunk-c` is not defined'],
      ['plans400.yaml', await line('overflow: beijing'), 'plans400[0].groups[2].overflow', 'overflow of group `hq` comes back to it (hq → beijing → hq)'],
    ]);
    expect(errors[0]!.hint).toBe('did you mean `duty`?');
  });

  it('an unknown owner, a 400 number defined twice, a plan without destination', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['    owner: telesales', '    owner: telesale']);
    await edit(dir, 'plans400.yaml', (t) => `${t}
  - number: "400-805-0508"
    owner: telesales
    package: { total: 100, months: 1, ratePerMinute: "0.2", startDate: "2026-01-01" }
    groups: [{ id: g, members: [{ seat: "1001" }] }]
  - number: "4001234567"
    owner: telesales
    package: { total: 100, months: 1, ratePerMinute: "0.2", startDate: "2026-01-01" }
    groups: [{ id: g, members: [{ seat: "1001" }] }]
`);
    const errors = await expectErrors(dir);
    expect(errors.map((e) => [e.field, e.message])).toEqual([
      ['plans400[0].owner', 'owner tenant `telesale` is not defined'],
      ['plans400[1].number', `400 number 4008050508 is defined twice; first at plans400.yaml:${await lineOf(dir, 'plans400.yaml', 'number: "4008050508"')}`],
      ['plans400[2]', 'plan 4001234567 has no destination: give `region` (branches and a default group) or `group`'],
    ]);
  });
});
