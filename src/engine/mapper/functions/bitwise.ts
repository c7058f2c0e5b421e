// Pipe functions of the `bitwise` domain. Operands are converted with Number() and
// then to 32-bit integers, as the JavaScript operators do.
import type { PipeFunction } from './index.ts';

/** The `bitwise` functions, keyed by name. */
export const bitwiseFunctions: Readonly<Record<string, PipeFunction>> = {
  and: (a: unknown, b: unknown) => Number(a) & Number(b),
  or: (a: unknown, b: unknown) => Number(a) | Number(b),
  xor: (a: unknown, b: unknown) => Number(a) ^ Number(b),
  leftShift: (a: unknown, b: unknown) => Number(a) << Number(b),
  rightShift: (a: unknown, b: unknown) => Number(a) >> Number(b),
  unsignedRightShift: (a: unknown, b: unknown) => Number(a) >>> Number(b),
};
