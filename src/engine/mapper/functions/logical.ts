// Pipe functions of the `logical` domain. Like `&&` and `||`, they return one of
// their operands rather than a boolean.
import type { PipeFunction } from './index.ts';

/** The `logical` functions, keyed by name. */
export const logicalFunctions: Readonly<Record<string, PipeFunction>> = {
  /** Returns the first falsy operand, else the last operand; undefined when called without operands. */
  and: (...operands: unknown[]) => {
    for (const operand of operands) {
      if (!operand) return operand;
    }
    return operands.at(-1);
  },
  /** Returns the first truthy operand, else the last operand; undefined when called without operands. */
  or: (...operands: unknown[]) => {
    for (const operand of operands) {
      if (operand) return operand;
    }
    return operands.at(-1);
  },
};
