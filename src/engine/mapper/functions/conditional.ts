// Pipe functions of the `conditional` domain: JavaScript's comparison operators with
// their own coercion rules, so two strings compare as text ('10' < '9') and
// mixed operands as numbers. `number.gt` and its siblings always compare numbers.
import type { PipeFunction } from './index.ts';

// The casts only satisfy the compiler. At run time the operators see the values
// as they are and apply JavaScript's rules.
type Comparable = number | string;

/** The `conditional` functions, keyed by name. */
export const conditionalFunctions: Readonly<Record<string, PipeFunction>> = {
  /** Returns `a` when `condition` is truthy, else `b`. */
  ternary: (condition: unknown, a: unknown, b: unknown) => (condition ? a : b),
  equality: (a: unknown, b: unknown) => a == b,
  strict_equality: (a: unknown, b: unknown) => a === b,
  inequality: (a: unknown, b: unknown) => a != b,
  strict_inequality: (a: unknown, b: unknown) => a !== b,
  greater_than: (a: unknown, b: unknown) => (a as Comparable) > (b as Comparable),
  less_than: (a: unknown, b: unknown) => (a as Comparable) < (b as Comparable),
  greater_than_or_equal: (a: unknown, b: unknown) => (a as Comparable) >= (b as Comparable),
  less_than_or_equal: (a: unknown, b: unknown) => (a as Comparable) <= (b as Comparable),
  /** Returns `a` unless it is null or undefined, else `b` (`a ?? b`). */
  nullish: (a: unknown, b: unknown) => a ?? b,
};
