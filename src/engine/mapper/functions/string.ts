// Pipe functions of the `string` domain. Argument 1 is the string the
// `String.prototype` method runs on. It is converted with String(), as JavaScript
// converts `this`, except that null and undefined are rejected. Later arguments are
// passed on only when given, because some methods treat an explicit undefined
// differently from a missing argument.
import type { PipeFunction } from './index.ts';

function toText(value: unknown, functionName: string): string {
  if (value === null || value === undefined) {
    throw new TypeError(`string.${functionName}: argument 1 must be a string, but received ${String(value)}`);
  }
  return String(value);
}

/** The `string` functions, keyed by name. */
export const stringFunctions: Readonly<Record<string, PipeFunction>> = {
  split: (text: unknown, ...args: unknown[]) => toText(text, 'split').split(...(args as [string, number?])),
  charAt: (text: unknown, ...args: unknown[]) => toText(text, 'charAt').charAt(...(args as [number])),
  concat: (text: unknown, ...values: unknown[]) => toText(text, 'concat').concat(...(values as string[])),
  includes: (text: unknown, ...args: unknown[]) =>
    toText(text, 'includes').includes(...(args as [string, number?])),
  indexOf: (text: unknown, ...args: unknown[]) => toText(text, 'indexOf').indexOf(...(args as [string, number?])),
  lastIndexOf: (text: unknown, ...args: unknown[]) =>
    toText(text, 'lastIndexOf').lastIndexOf(...(args as [string, number?])),
  slice: (text: unknown, ...args: unknown[]) => toText(text, 'slice').slice(...(args as [number?, number?])),
  substring: (text: unknown, ...args: unknown[]) =>
    toText(text, 'substring').substring(...(args as [number, number?])),
  toLowerCase: (text: unknown) => toText(text, 'toLowerCase').toLowerCase(),
  toUpperCase: (text: unknown) => toText(text, 'toUpperCase').toUpperCase(),
  trim: (text: unknown) => toText(text, 'trim').trim(),
  trimStart: (text: unknown) => toText(text, 'trimStart').trimStart(),
  trimEnd: (text: unknown) => toText(text, 'trimEnd').trimEnd(),
  // NOTE: padStart, padEnd and repeat build strings up to V8's maximum length (about 2^29
  // characters) before they throw, so a huge count taken from job data can exhaust memory.
  padStart: (text: unknown, ...args: unknown[]) =>
    toText(text, 'padStart').padStart(...(args as [number, string?])),
  padEnd: (text: unknown, ...args: unknown[]) => toText(text, 'padEnd').padEnd(...(args as [number, string?])),
  repeat: (text: unknown, ...args: unknown[]) => toText(text, 'repeat').repeat(...(args as [number])),
  // A string pattern replaces its first occurrence only; the replacement may use `$&`, `$1` and the like.
  replace: (text: unknown, ...args: unknown[]) =>
    toText(text, 'replace').replace(...(args as [string, string])),
  // NOTE: as in JavaScript, the pattern is compiled as a regular expression, so `search('a.b', '.')` is 0,
  // and a pattern taken from job data can backtrack for a very long time.
  search: (text: unknown, ...args: unknown[]) => toText(text, 'search').search(...(args as [string])),
  startsWith: (text: unknown, ...args: unknown[]) =>
    toText(text, 'startsWith').startsWith(...(args as [string, number?])),
  endsWith: (text: unknown, ...args: unknown[]) =>
    toText(text, 'endsWith').endsWith(...(args as [string, number?])),
};
