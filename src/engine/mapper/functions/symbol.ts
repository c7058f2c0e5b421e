// Pipe functions of the `symbol` domain: constants that a mapping cannot write as a
// YAML literal. They ignore their arguments. `object`, `array` and `date` build a
// new value on every call, so no two mappings share one mutable value.
import type { PipeFunction } from './index.ts';

/** The `symbol` functions, keyed by name. */
export const symbolFunctions: Readonly<Record<string, PipeFunction>> = {
  null: () => null,
  undefined: () => undefined,
  whitespace: () => ' ',
  object: () => ({}),
  array: () => [],
  posInfinity: () => Number.POSITIVE_INFINITY,
  negInfinity: () => Number.NEGATIVE_INFINITY,
  NaN: () => Number.NaN,
  /** Returns the current time as a Date. */
  date: () => new Date(),
};
