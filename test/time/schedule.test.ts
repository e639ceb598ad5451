import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/config/types.js';
import { describe as describeSchedule, isWithin } from '../../src/time/schedule.js';

const beijing = (local: string): number => Date.parse(`${local}+08:00`);
const day = [{ start: '08:00', end: '19:30' }];
const telesales: Schedule = {
  timezone: 'Asia/Shanghai',
  weekly: { mon: day, tue: day, wed: day, thu: day, fri: day, sat: day, sun: day },
  holidays: 'ignore',
  holidayRanges: [],
};
const workingDays: Schedule = {
  timezone: 'Asia/Shanghai',
  weekly: { mon: day, tue: day, wed: day, thu: day, fri: [{ start: '08:00', end: '17:00' }] },
  holidays: 'cn-statutory',
  holidayRanges: [],
};

describe('isWithin', () => {
  it('applies 08:00–19:30 Beijing time, end exclusive (004 §3.2)', () => {
    expect(isWithin(telesales, beijing('2026-03-10T07:59:59.999'))).toBe(false);
    expect(isWithin(telesales, beijing('2026-03-10T08:00:00'))).toBe(true);
    expect(isWithin(telesales, beijing('2026-03-10T19:29:59.999'))).toBe(true);
    expect(isWithin(telesales, beijing('2026-03-10T19:30:00'))).toBe(false);
    expect(isWithin(telesales, beijing('2026-03-10T20:00:00'))).toBe(false);
  });

  it('evaluates in the schedule time zone, not the server one', () => {
    // 12:00 UTC is 20:00 in Beijing: outside; 08:00 in New York (EDT): inside a New York window.
    const noonUtc = Date.parse('2026-07-01T12:00:00Z');
    expect(isWithin(telesales, noonUtc)).toBe(false);
    expect(isWithin({ ...telesales, timezone: 'America/New_York' }, noonUtc)).toBe(true);
  });

  it('follows DST transitions in zones that have them', () => {
    const ny = { ...telesales, timezone: 'America/New_York' };
    // 2026-03-08 02:00 EST → 03:00 EDT. 12:30 UTC is 07:30 EST the day before, 08:30 EDT after.
    expect(isWithin(ny, Date.parse('2026-03-07T12:30:00Z'))).toBe(false);
    expect(isWithin(ny, Date.parse('2026-03-09T12:30:00Z'))).toBe(true);
    // On the transition day itself: 06:59 UTC = 01:59 EST (closed), 12:00 UTC = 08:00 EDT (open).
    expect(isWithin(ny, Date.parse('2026-03-08T06:59:00Z'))).toBe(false);
    expect(isWithin(ny, Date.parse('2026-03-08T12:00:00Z'))).toBe(true);
    expect(isWithin(ny, Date.parse('2026-03-08T11:59:00Z'))).toBe(false);
  });

  it('closes statutory holidays with cn-statutory', () => {
    // 2026-10-01 (Thursday) National Day.
    expect(isWithin(workingDays, beijing('2026-10-01T10:00'))).toBe(false);
    expect(isWithin({ ...workingDays, holidays: 'ignore' }, beijing('2026-10-01T10:00'))).toBe(true);
    expect(isWithin({ ...workingDays, holidayRanges: [{ start: '09:00', end: '12:00' }] }, beijing('2026-10-01T10:00'))).toBe(true);
  });

  it('opens make-up working days with the working-day ranges', () => {
    // 2026-09-20 is a Sunday worked for National Day (调休); the weekly table has no Sunday.
    expect(isWithin({ ...workingDays, holidays: 'ignore' }, beijing('2026-09-20T10:00'))).toBe(false);
    expect(isWithin(workingDays, beijing('2026-09-20T10:00'))).toBe(true);
    expect(isWithin(workingDays, beijing('2026-09-20T19:00'))).toBe(true); // Monday's ranges, not Friday's 17:00
    expect(isWithin({ ...workingDays, workdayRanges: [{ start: '09:00', end: '12:00' }] }, beijing('2026-09-20T13:00'))).toBe(false);
    // An ordinary Sunday stays closed.
    expect(isWithin(workingDays, beijing('2026-09-13T10:00'))).toBe(false);
  });

  it('treats a closed or absent day as closed', () => {
    expect(isWithin(workingDays, beijing('2026-03-14T10:00'))).toBe(false); // Saturday
  });
});

describe('describe', () => {
  it('explains the day', () => {
    expect(describeSchedule(workingDays, beijing('2026-10-01T20:00'))).toEqual({
      timezone: 'Asia/Shanghai',
      localTime: '2026-10-01T20:00:00+08:00',
      weekday: 'thu',
      dayType: 'holiday',
      holidayName: 'National Day / 国庆节',
      ranges: [],
      within: false,
      calendarCovered: true,
    });
    expect(describeSchedule(workingDays, beijing('2026-09-20T10:00'))).toMatchObject({
      weekday: 'sun', dayType: 'makeup-workday', ranges: day, within: true,
    });
    expect(describeSchedule(telesales, beijing('2026-03-14T10:00'))).toMatchObject({ dayType: 'weekend', holidayName: null });
  });

  it('says when the holiday table does not cover the year', () => {
    expect(describeSchedule(workingDays, beijing('2031-03-10T10:00')).calendarCovered).toBe(false);
  });
});
