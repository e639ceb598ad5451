// End dates and the holiday calendar, as an admin sees them in `config check`: warned 30 days
// ahead with file, line and field, never an error (the config still loads), all at an injected
// "now" so the suite means the same on any day.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { calendarStatus } from '../../src/config/validity.js';
import { statutoryCalendarYears } from '../../src/time/holidays.js';
import { describe as describeSchedule, isWithin } from '../../src/time/schedule.js';
import { edit, EXAMPLE_DIR, exampleCopy, lineOf, removeTempDirs } from './fixture.js';

afterAll(removeTempDirs);

const beijing = (local: string): number => Date.parse(`${local}+08:00`);
/** The table's last year and the first it lacks, read from the table (an update moves them). */
const { lastYear } = statutoryCalendarYears();
const uncovered = lastYear + 1;

async function warningsAt(dir: string, now: number) {
  const r = await loadConfig(dir, { env: {}, now: () => now });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return { warnings: r.warnings.filter((w) => !w.message.includes('demo `default:`')), snapshot: r.snapshot };
}

describe('end dates', () => {
  it('the shipped example has no end date or calendar warning inside a covered year', async () => {
    expect((await warningsAt(EXAMPLE_DIR, beijing(`${lastYear}-06-15T10:00`))).warnings).toEqual([]);
  });

  it('a tenant period ending within 30 days is a warning at its validUntil; once ended it says so', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'tenants.yaml', ['    status: active\n', `    status: active\n    validUntil: "${lastYear}-06-30"\n`]);
    const line = await lineOf(dir, 'tenants.yaml', 'validUntil');
    expect((await warningsAt(dir, beijing(`${lastYear}-05-21T10:00`))).warnings).toEqual([]); // 40 days ahead
    const soon = (await warningsAt(dir, beijing(`${lastYear}-06-21T10:00`))).warnings;
    expect(soon).toHaveLength(1);
    expect(soon[0]).toMatchObject({ file: 'tenants.yaml', line, field: 'tenants[0].validUntil' });
    expect(soon[0]!.message).toBe(`tenant \`telesales\`: the service period ends on ${lastYear}-06-30, in 9 days: then its seats' calls are refused (tenant-expired)`);
    const ended = (await warningsAt(dir, beijing(`${lastYear}-06-30T00:30`))).warnings; // 00:30 Beijing is still the 29th in UTC
    expect(ended[0]!.message).toContain(`ended on ${lastYear}-06-30 (today is ${lastYear}-06-30)`);
  });

  it('a 400 package ending within 30 days is a warning at its startDate, with what callers then get', async () => {
    const dir = await exampleCopy();
    await edit(dir, 'plans400.yaml', ['      months: 120', '      months: 11']);
    const w = (await warningsAt(dir, beijing('2026-11-23T10:00'))).warnings;
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ file: 'plans400.yaml', line: await lineOf(dir, 'plans400.yaml', 'startDate: "2026-01-01"'), field: 'plans400[0].package.startDate' });
    expect(w[0]!.message).toContain('ends on 2026-12-01, in 8 days: then callers hear not-in-service and get 480');
  });
});

describe('holiday calendar coverage', () => {
  it('warns at each cn-statutory schedule when the year is not in the table, and 30 days before New Year', async () => {
    const dir = await exampleCopy();
    const line = await lineOf(dir, 'plans400.yaml', 'holidays: cn-statutory');
    const inGap = (await warningsAt(dir, beijing(`${uncovered}-02-08T10:00`))).warnings;
    expect(inGap.map((w) => [w.line, w.field])).toEqual([
      [line, 'plans400[0].time.rules[0].schedule.holidays'],
      [await lineOf(dir, 'plans400.yaml', 'holidays: cn-statutory', 2), 'plans400[0].time.rules[1].schedule.holidays'],
    ]);
    expect(inGap[0]!.message).toContain(`no data for ${uncovered} (it covers up to ${lastYear})`);
    expect(inGap[0]!.message).toContain('follows its weekly rules');
    const december = (await warningsAt(dir, beijing(`${lastYear}-12-10T10:00`))).warnings;
    expect(december[0]!.message).toContain(`no data for ${uncovered}`);
    // The telesales window ignores holidays: it never warns.
    expect(inGap.some((w) => w.file === 'tenants.yaml')).toBe(false);
  });

  it('status for /health lists the schedules and the missing years', async () => {
    const { snapshot } = await warningsAt(EXAMPLE_DIR, beijing(`${lastYear}-06-15T10:00`));
    expect(calendarStatus(snapshot, beijing(`${lastYear}-06-15T10:00`))).toEqual({
      covered: true, coversThrough: lastYear, missingYears: [],
      schedules: ['400 4008050508 rule holiday-duty', '400 4008050508 rule office'],
    });
    expect(calendarStatus(snapshot, beijing(`${uncovered}-02-08T10:00`))).toMatchObject({ covered: false, missingYears: [uncovered] });
  });

  it('an uncovered year falls back to the weekly rules: no day is a holiday, weekends stay weekends', async () => {
    const { snapshot } = await warningsAt(EXAMPLE_DIR, beijing(`${lastYear}-06-15T10:00`));
    const [holidayDuty, office] = snapshot.plans400!.get('4008050508')!.time!.rules.map((r) => r.schedule);
    // Every weekday of the first week of February, Spring Festival most years.
    for (let d = 1; d <= 7; d++) {
      const at = beijing(`${uncovered}-02-0${d}T10:00`);
      const info = describeSchedule(office!, at);
      expect(info.calendarCovered).toBe(false);
      expect(info.dayType).toBe(info.weekday === 'sat' || info.weekday === 'sun' ? 'weekend' : 'workday');
      expect(isWithin(office!, at)).toBe(info.weekday !== 'sun');
      expect(isWithin(holidayDuty!, at)).toBe(false); // its weekly table is empty
    }
  });
});
