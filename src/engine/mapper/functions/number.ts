// Pipe functions of the `number` domain. The predicates (`isFinite`, `isInteger`,
// `isNaN`, `isEven`, `isOdd`) convert nothing, as `Number.isFinite` does, so
// `isEven('42')` is false. All other functions convert their operands with Number().
import { maximum, minimum } from './math.ts';
import type { PipeFunction } from './index.ts';

// Keeps a missing argument missing, because `toPrecision(NaN)` throws where `toPrecision()` does not.
function toOptionalNumber(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** The `number` functions, keyed by name. */
export const numberFunctions: Readonly<Record<string, PipeFunction>> = {
  isFinite: (value: unknown) => Number.isFinite(value),
  isInteger: (value: unknown) => Number.isInteger(value),
  isNaN: (value: unknown) => Number.isNaN(value),
  isEven: (value: unknown) => Number.isInteger(value) && (value as number) % 2 === 0,
  isOdd: (value: unknown) => Number.isInteger(value) && Math.abs(value as number) % 2 === 1,

  parseFloat: (text: unknown) => Number.parseFloat(String(text)),
  // Without a radix, JavaScript's rules apply: base 10, or 16 for a `0x` prefix.
  parseInt: (text: unknown, radix?: unknown) => Number.parseInt(String(text), toOptionalNumber(radix)),
  // The formatters throw a RangeError, as JavaScript does, when the digit count is out of range.
  toFixed: (value: unknown, digits?: unknown) => Number(value).toFixed(toOptionalNumber(digits)),
  toExponential: (value: unknown, digits?: unknown) => Number(value).toExponential(toOptionalNumber(digits)),
  toPrecision: (value: unknown, precision?: unknown) => Number(value).toPrecision(toOptionalNumber(precision)),

  gte: (a: unknown, b: unknown) => Number(a) >= Number(b),
  lte: (a: unknown, b: unknown) => Number(a) <= Number(b),
  gt: (a: unknown, b: unknown) => Number(a) > Number(b),
  lt: (a: unknown, b: unknown) => Number(a) < Number(b),
  /** Returns the largest operand. Array arguments are flattened, as in `math.max`. */
  max: (...operands: unknown[]) => maximum(operands),
  /** Returns the smallest operand. Array arguments are flattened, as in `math.min`. */
  min: (...operands: unknown[]) => minimum(operands),
  pow: (base: unknown, exponent: unknown) => Math.pow(Number(base), Number(exponent)),
  round: (value: unknown) => Math.round(Number(value)),
};
