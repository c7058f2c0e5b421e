// Pipe functions of the `date` domain. Argument 1 of every function except `now`,
// `parse` and `UTC` is a date: an ISO 8601 string, epoch milliseconds, a numeric
// string of epoch milliseconds, or a Date. Any other value is an invalid date, so
// getters return NaN and `toISOString` throws. Local-time functions use the time
// zone of the process (the TZ environment variable).
import type { PipeFunction } from './index.ts';

const EPOCH_MILLISECONDS_PATTERN = /^\s*[+-]?\d+(\.\d+)?\s*$/;

/** Converts a pipe value to a new Date, leaving a Date argument untouched. */
function toDate(value: unknown): Date {
  if (value instanceof Date) return new Date(value.getTime());
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    return EPOCH_MILLISECONDS_PATTERN.test(value) ? new Date(Number(value)) : new Date(value);
  }
  return new Date(Number.NaN);
}

function toValidDate(value: unknown, functionName: string): Date {
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) {
    const valueText = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new RangeError(
      `date.${functionName}: ${valueText} is not a valid date. Pass an ISO 8601 string or epoch milliseconds.`,
    );
  }
  return date;
}

type DateMethod = (this: Date, ...args: never[]) => unknown;

// Calls a Date method on a copy of the date, passing only the arguments given,
// because `setHours(h, undefined)` sets the minutes to NaN, unlike `setHours(h)`.
function callDateMethod(method: DateMethod, date: unknown, args: unknown[]): unknown {
  return Reflect.apply(method, toDate(date), args);
}

// Setters convert their numeric arguments with Number() and return epoch
// milliseconds, which is what the Date setters return.
function setter(method: DateMethod): PipeFunction {
  return (date: unknown, ...values: unknown[]) => callDateMethod(method, date, values.map(Number));
}

function getter(method: DateMethod): PipeFunction {
  return (date: unknown) => callDateMethod(method, date, []);
}

const proto = Date.prototype;

/** The `date` functions, keyed by name. */
export const dateFunctions: Readonly<Record<string, PipeFunction>> = {
  /** Returns the current time in epoch milliseconds. */
  now: () => Date.now(),
  /** Returns a Date for an ISO 8601 string or any other accepted date value, as `new Date(text)` does. */
  fromISOString: (value: unknown) => toDate(value),
  /** Returns epoch milliseconds for any string that `Date.parse` accepts, else NaN. */
  parse: (text: unknown) => Date.parse(String(text)),
  /** Returns epoch milliseconds for UTC (year, monthIndex, day, hours, minutes, seconds, ms). */
  UTC: (...parts: unknown[]) => Reflect.apply(Date.UTC, undefined, parts.map(Number)),
  valueOf: getter(proto.valueOf),

  getDate: getter(proto.getDate),
  getDay: getter(proto.getDay),
  getFullYear: getter(proto.getFullYear),
  getHours: getter(proto.getHours),
  getMilliseconds: getter(proto.getMilliseconds),
  getMinutes: getter(proto.getMinutes),
  getMonth: getter(proto.getMonth),
  getSeconds: getter(proto.getSeconds),
  getTime: getter(proto.getTime),
  getTimezoneOffset: getter(proto.getTimezoneOffset),
  getUTCDate: getter(proto.getUTCDate),
  getUTCDay: getter(proto.getUTCDay),
  getUTCFullYear: getter(proto.getUTCFullYear),
  getUTCHours: getter(proto.getUTCHours),
  getUTCMilliseconds: getter(proto.getUTCMilliseconds),
  getUTCMinutes: getter(proto.getUTCMinutes),
  getUTCMonth: getter(proto.getUTCMonth),
  getUTCSeconds: getter(proto.getUTCSeconds),

  setDate: setter(proto.setDate),
  setFullYear: setter(proto.setFullYear),
  setHours: setter(proto.setHours),
  setMilliseconds: setter(proto.setMilliseconds),
  setMinutes: setter(proto.setMinutes),
  setMonth: setter(proto.setMonth),
  setSeconds: setter(proto.setSeconds),
  setTime: setter(proto.setTime),
  setUTCDate: setter(proto.setUTCDate),
  setUTCFullYear: setter(proto.setUTCFullYear),
  setUTCHours: setter(proto.setUTCHours),
  setUTCMilliseconds: setter(proto.setUTCMilliseconds),
  setUTCMinutes: setter(proto.setUTCMinutes),
  setUTCMonth: setter(proto.setUTCMonth),
  setUTCSeconds: setter(proto.setUTCSeconds),

  toDateString: getter(proto.toDateString),
  toISOString: (date: unknown) => toValidDate(date, 'toISOString').toISOString(),
  /** Returns the compact ISO form `YYYYMMDDHHmmss.mmm` (UTC) used for job timestamps. */
  toISOXString: (date: unknown) => toValidDate(date, 'toISOXString').toISOString().replace(/[-:TZ]/g, ''),
  /** Returns the ISO string, or null for an invalid date, as `Date.prototype.toJSON` does. */
  toJSON: getter(proto.toJSON),
  // The locale formatters take optional (locales, options) arguments, as Intl.DateTimeFormat does.
  toLocaleDateString: (date: unknown, ...args: unknown[]) => callDateMethod(proto.toLocaleDateString, date, args),
  toLocaleString: (date: unknown, ...args: unknown[]) => callDateMethod(proto.toLocaleString, date, args),
  toLocaleTimeString: (date: unknown, ...args: unknown[]) => callDateMethod(proto.toLocaleTimeString, date, args),
  toString: getter(proto.toString),
};
