// Pipe functions of the `array` domain. The array is always argument 1, and no
// function changes it. The ones that mutate the array in JavaScript work on a copy.
import type { PipeFunction } from './index.ts';

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

function requireArray(value: unknown, functionName: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`array.${functionName}: argument 1 must be an array, but received ${describeValue(value)}`);
  }
  return value;
}

// Accepts only integers or integer strings, so that `get(arr, 'constructor')` or
// `get(arr, '')` cannot read anything but an element.
function toIndex(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number(value);
  throw new TypeError(`array.get: argument 2 must be an integer index, but received ${describeValue(value)}`);
}

/** The `array` functions, keyed by name. */
export const arrayFunctions: Readonly<Record<string, PipeFunction>> = {
  /** Returns the element at `index`, or undefined when `index` is negative or past the end. */
  get: (array: unknown, index: unknown) => {
    const elements = requireArray(array, 'get');
    const position = toIndex(index);
    return position >= 0 && position < elements.length ? elements[position] : undefined;
  },
  length: (array: unknown) => requireArray(array, 'length').length,
  concat: (array: unknown, ...values: unknown[]) => requireArray(array, 'concat').concat(...values),
  // Optional arguments are spread only when given, because `lastIndexOf(x, undefined)` searches from index 0.
  indexOf: (array: unknown, ...args: unknown[]) =>
    requireArray(array, 'indexOf').indexOf(...(args as [unknown, number?])),
  lastIndexOf: (array: unknown, ...args: unknown[]) =>
    requireArray(array, 'lastIndexOf').lastIndexOf(...(args as [unknown, number?])),
  join: (array: unknown, ...args: unknown[]) => requireArray(array, 'join').join(...(args as [string?])),
  slice: (array: unknown, ...args: unknown[]) => requireArray(array, 'slice').slice(...(args as [number?, number?])),

  // Returns the removed last element, as `Array.prototype.pop` does.
  pop: (array: unknown) => requireArray(array, 'pop').at(-1),
  // Returns the new array, not the new length that `Array.prototype.push` returns.
  push: (array: unknown, ...items: unknown[]) => [...requireArray(array, 'push'), ...items],
  // Returns the reversed copy.
  reverse: (array: unknown) => requireArray(array, 'reverse').toReversed(),
  // Returns the removed first element, as `Array.prototype.shift` does.
  shift: (array: unknown) => requireArray(array, 'shift')[0],
  // Returns the sorted copy. NOTE: the order is JavaScript's default, which compares elements as
  // strings, so [10, 9, 1] sorts to [1, 10, 9].
  sort: (array: unknown) => requireArray(array, 'sort').toSorted(),
  // Returns the array after the splice, not the removed elements that `Array.prototype.splice` returns.
  // With only `start` given, everything from `start` on is removed, as in JavaScript.
  splice: (array: unknown, ...args: unknown[]) => {
    const copy = [...requireArray(array, 'splice')];
    copy.splice(...(args as [number, number, ...unknown[]]));
    return copy;
  },
  // Returns the new array, not the new length that `Array.prototype.unshift` returns.
  unshift: (array: unknown, ...items: unknown[]) => [...items, ...requireArray(array, 'unshift')],
};
