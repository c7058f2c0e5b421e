// Pipe functions of the `math` domain. Each operand is converted with Number(), so
// `add('1', 2)` is 3, not the string '12' that `+` would build.
import type { PipeFunction } from './index.ts';

/** Flattens nested arrays of operands into one list of numbers. */
export function flattenOperands(operands: readonly unknown[], numbers: number[] = []): number[] {
  for (const operand of operands) {
    if (Array.isArray(operand)) flattenOperands(operand, numbers);
    else numbers.push(Number(operand));
  }
  return numbers;
}

// These reduce instead of spreading into Math.max and Math.min, because a spread
// call throws a RangeError once it outgrows the call stack. On Node 24 with the
// default stack size that happens between 100,000 and 150,000 arguments.
/** Returns the largest operand after flattening, -Infinity for none, NaN if any is NaN. */
export function maximum(operands: readonly unknown[]): number {
  return flattenOperands(operands).reduce((max, operand) => Math.max(max, operand), Number.NEGATIVE_INFINITY);
}

/** Returns the smallest operand after flattening, Infinity for none, NaN if any is NaN. */
export function minimum(operands: readonly unknown[]): number {
  return flattenOperands(operands).reduce((min, operand) => Math.min(min, operand), Number.POSITIVE_INFINITY);
}

function divide(...operands: unknown[]): number {
  const [dividend, ...divisors] = flattenOperands(operands);
  if (dividend === undefined) return Number.NaN;

  let quotient = dividend;
  for (const divisor of divisors) {
    // JavaScript would give ±Infinity, but a zero divisor is a data error that NaN makes visible.
    if (divisor === 0) return Number.NaN;
    quotient /= divisor;
  }
  return quotient;
}

function subtract(...operands: unknown[]): number {
  const [minuend, ...subtrahends] = flattenOperands(operands);
  if (minuend === undefined) return Number.NaN;
  return subtrahends.reduce((difference, subtrahend) => difference - subtrahend, minuend);
}

/**
 * The `math` functions, keyed by name. `add`, `subtract`, `multiply`, `divide`,
 * `max`, `min` and `hypot` are variadic and flatten array arguments, so
 * `add([1, 2], 3)` is 6. The rest take the arguments of the `Math` function of the same name.
 */
export const mathFunctions: Readonly<Record<string, PipeFunction>> = {
  /** Returns the sum, 0 for no operands. */
  add: (...operands: unknown[]) => flattenOperands(operands).reduce((sum, operand) => sum + operand, 0),
  /** Returns the first operand minus all the others, NaN for no operands. */
  subtract,
  /** Returns the product, 1 for no operands. */
  multiply: (...operands: unknown[]) => flattenOperands(operands).reduce((product, operand) => product * operand, 1),
  /** Returns the first operand divided by each of the others in turn, or NaN for no operands or a zero divisor. */
  divide,

  abs: (x: unknown) => Math.abs(Number(x)),
  acos: (x: unknown) => Math.acos(Number(x)),
  acosh: (x: unknown) => Math.acosh(Number(x)),
  asin: (x: unknown) => Math.asin(Number(x)),
  asinh: (x: unknown) => Math.asinh(Number(x)),
  atan: (x: unknown) => Math.atan(Number(x)),
  atan2: (y: unknown, x: unknown) => Math.atan2(Number(y), Number(x)),
  atanh: (x: unknown) => Math.atanh(Number(x)),
  cbrt: (x: unknown) => Math.cbrt(Number(x)),
  ceil: (x: unknown) => Math.ceil(Number(x)),
  clz32: (x: unknown) => Math.clz32(Number(x)),
  cos: (x: unknown) => Math.cos(Number(x)),
  cosh: (x: unknown) => Math.cosh(Number(x)),
  exp: (x: unknown) => Math.exp(Number(x)),
  expm1: (x: unknown) => Math.expm1(Number(x)),
  floor: (x: unknown) => Math.floor(Number(x)),
  fround: (x: unknown) => Math.fround(Number(x)),
  // NOTE: spreads its operands, so more than about 100,000 of them throw a RangeError.
  hypot: (...operands: unknown[]) => Math.hypot(...flattenOperands(operands)),
  imul: (a: unknown, b: unknown) => Math.imul(Number(a), Number(b)),
  log: (x: unknown) => Math.log(Number(x)),
  log10: (x: unknown) => Math.log10(Number(x)),
  log1p: (x: unknown) => Math.log1p(Number(x)),
  log2: (x: unknown) => Math.log2(Number(x)),
  max: (...operands: unknown[]) => maximum(operands),
  min: (...operands: unknown[]) => minimum(operands),
  pow: (base: unknown, exponent: unknown) => Math.pow(Number(base), Number(exponent)),
  /** Returns a pseudo-random number in [0, 1). It is the one function here that is not pure. */
  random: () => Math.random(),
  round: (x: unknown) => Math.round(Number(x)),
  sign: (x: unknown) => Math.sign(Number(x)),
  sin: (x: unknown) => Math.sin(Number(x)),
  sinh: (x: unknown) => Math.sinh(Number(x)),
  sqrt: (x: unknown) => Math.sqrt(Number(x)),
  tan: (x: unknown) => Math.tan(Number(x)),
  tanh: (x: unknown) => Math.tanh(Number(x)),
  trunc: (x: unknown) => Math.trunc(Number(x)),
};
