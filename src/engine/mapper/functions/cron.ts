// Pipe functions of the `cron` domain, with a parser for standard 5-field cron
// expressions: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
// JAN-DEC) and day of week (0-7 or SUN-SAT, where both 0 and 7 are Sunday). A field
// is `*`, a value, a range `a-b`, or a comma-separated list of those. Each of them
// may take a step `/n`, and `a/n` means `a-max/n`. Names are case-insensitive.
// Times are UTC.
import type { PipeFunction } from './index.ts';

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Lowercase names of the values from `min` on, for the fields that accept names. */
  names?: readonly string[];
}

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** Days of week with Sunday as 0, never 7. */
  daysOfWeek: ReadonlySet<number>;
  /**
   * True when neither day field starts with `*`. Then a day matches when either field
   * matches, as in Vixie cron and cronie, so `0 0 13 * 5` fires on the 13th and on every Friday.
   */
  eitherDayMatches: boolean;
}

const MINUTE_MS = 60_000;
// The Gregorian calendar repeats its dates and weekdays every 400 years (146,097 days),
// so an expression without a tick in that span never fires.
const SEARCH_HORIZON_MS = 146_097 * 24 * 60 * MINUTE_MS;

const FIELD_PART_PATTERN = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i;

function parseFieldValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  return index >= 0 ? field.min + index : undefined;
}

/** Returns the values a field matches, or undefined when the field is invalid. */
function parseField(text: string, field: CronField): Set<number> | undefined {
  const values = new Set<number>();

  for (const part of text.split(',')) {
    const match = FIELD_PART_PATTERN.exec(part);
    if (match === null) return undefined;
    const [, range = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return undefined;

    let first = field.min;
    let last = field.max;
    if (range !== '*') {
      const [startText = '', endText] = range.split('-');
      const start = parseFieldValue(startText, field);
      let end = start;
      if (endText !== undefined) end = parseFieldValue(endText, field);
      else if (stepText !== undefined) end = field.max;
      if (start === undefined || end === undefined || start > end) return undefined;
      first = start;
      last = end;
    }
    for (let value = first; value <= last; value += step) values.add(value);
  }
  return values;
}

/** Parses a 5-field cron expression, or returns undefined when it is invalid. */
function parseCronExpression(expression: string): CronSchedule | undefined {
  const texts = expression.trim().split(/\s+/);
  if (texts.length !== CRON_FIELDS.length) return undefined;

  const sets = texts.map((text, i) => parseField(text, CRON_FIELDS[i] as CronField));
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets;
  if (!minutes || !hours || !daysOfMonth || !months || !daysOfWeek) return undefined;

  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  const [, , dayOfMonthText = '', , dayOfWeekText = ''] = texts;
  return {
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    eitherDayMatches: !dayOfMonthText.startsWith('*') && !dayOfWeekText.startsWith('*'),
  };
}

function matchesDay(schedule: CronSchedule, date: Date): boolean {
  const dayOfMonthMatches = schedule.daysOfMonth.has(date.getUTCDate());
  const dayOfWeekMatches = schedule.daysOfWeek.has(date.getUTCDay());
  return schedule.eitherDayMatches
    ? dayOfMonthMatches || dayOfWeekMatches
    : dayOfMonthMatches && dayOfWeekMatches;
}

/** Returns the epoch ms of the first tick strictly after `afterMs`, or undefined when there is none. */
function findNextTick(schedule: CronSchedule, afterMs: number): number | undefined {
  let time = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const limit = time + SEARCH_HORIZON_MS;

  // Each miss jumps to the start of the next month, day, hour or minute, so the loop
  // runs a few hundred times per year searched when nothing matches.
  while (time <= limit) {
    const date = new Date(time);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth();
    const day = date.getUTCDate();
    const hour = date.getUTCHours();

    if (!schedule.months.has(month + 1)) {
      time = Date.UTC(year, month + 1, 1);
    } else if (!matchesDay(schedule, date)) {
      time = Date.UTC(year, month, day + 1);
    } else if (!schedule.hours.has(hour)) {
      time = Date.UTC(year, month, day, hour + 1);
    } else if (!schedule.minutes.has(date.getUTCMinutes())) {
      time += MINUTE_MS;
    } else {
      return time;
    }
  }
  return undefined;
}

/**
 * Returns the whole seconds, rounded up, from `now` to the next UTC tick of a 5-field
 * cron expression, or -1 when the expression is invalid or never fires. A tick at
 * exactly `now` does not count, so the result is always at least 1. The caller applies
 * any minimum delay, such as the engine's time-hook fidelity.
 *
 * @param now Epoch milliseconds to count from; defaults to the current time. Tests pass a fixed time.
 */
function nextDelay(expression: unknown, now: unknown = Date.now()): number {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new TypeError(`cron.nextDelay: argument 2 must be epoch milliseconds, but received ${String(now)}`);
  }
  if (typeof expression !== 'string') return -1;

  const schedule = parseCronExpression(expression);
  if (schedule === undefined) return -1;
  const tick = findNextTick(schedule, now);
  return tick === undefined ? -1 : Math.ceil((tick - now) / 1000);
}

/** The `cron` functions, keyed by name. */
export const cronFunctions: Readonly<Record<string, PipeFunction>> = {
  nextDelay,
};
