// Says loudly, at start and once a day, when a `holidays: cn-statutory` schedule runs in a year
// the holiday table does not cover (the schedules then follow their weekly rules): the package
// that carries the table is updated once a year, and nobody notices a missing year otherwise.
import type { ConfigSnapshot } from '../config/types.js';
import { calendarStatus, type CalendarStatus } from '../config/validity.js';
import type { Clock, Timer } from '../calls/clock.js';
import { localDateTime } from '../time/zone.js';

export interface CalendarLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface CalendarWatch {
  /** The current status, for /health. */
  status(): CalendarStatus;
  stop(): void;
}

const CHECK_MS = 3_600_000;

export function watchCalendar(config: () => ConfigSnapshot, clock: Clock, log: CalendarLog, checkMs = CHECK_MS): CalendarWatch {
  let loggedDay: number | null = null;
  let wasCovered = true;
  let timer: Timer | undefined;
  const status = (): CalendarStatus => calendarStatus(config(), clock.now());
  const check = (): void => {
    const s = status();
    const today = localDateTime(config().server.timezone, clock.now()).dayNumber;
    if (!s.covered && loggedDay !== today) {
      loggedDay = today;
      log.warn({ holidayCalendar: s },
        `holiday calendar has no data for ${s.missingYears.join(', ')}: ${s.schedules.length} schedule(s) with holidays: cn-statutory follow their weekly rules on those days; update chinese-days`);
    } else if (s.covered && !wasCovered) {
      loggedDay = null;
      log.info({ holidayCalendar: s }, 'holiday calendar covers the schedules again');
    }
    wasCovered = s.covered;
  };
  const loop = (): void => {
    check();
    timer = clock.setTimeout(loop, checkMs);
  };
  loop();
  return {
    status,
    stop() { if (timer) clock.clearTimeout(timer); },
  };
}
