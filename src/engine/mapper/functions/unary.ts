// Pipe functions of the `unary` domain: JavaScript's unary operators.
import type { PipeFunction } from './index.ts';

/** The `unary` functions, keyed by name. */
export const unaryFunctions: Readonly<Record<string, PipeFunction>> = {
  not: (value: unknown) => !value,
  positive: (value: unknown) => Number(value),
  negative: (value: unknown) => -Number(value),
  bitwise_not: (value: unknown) => ~Number(value),
};
