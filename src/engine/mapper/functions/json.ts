// Pipe functions of the `json` domain.
import { isUnsafeKey } from './object.ts';
import type { PipeFunction } from './index.ts';

// Drops `__proto__`, `constructor` and `prototype` at every depth. JSON.parse alone
// would keep `__proto__` as an own key, which a later copy by assignment would turn
// into a prototype change. Returning undefined from a reviver deletes the key.
function dropUnsafeKeys(key: string, value: unknown): unknown {
  return isUnsafeKey(key) ? undefined : value;
}

/** The `json` functions, keyed by name. */
export const jsonFunctions: Readonly<Record<string, PipeFunction>> = {
  /**
   * Returns the JSON text of `value`, or undefined for undefined. An array `replacer` lists the keys to keep,
   * and `space` indents as in JSON.stringify. A replacer that is not an array is ignored.
   */
  stringify: (value: unknown, replacer?: unknown, space?: unknown) =>
    JSON.stringify(value, Array.isArray(replacer) ? (replacer as string[]) : undefined, space as string | number),
  /** Returns the value of the JSON text, without any unsafe keys; throws a SyntaxError for invalid JSON. */
  parse: (text: unknown) => JSON.parse(String(text), dropUnsafeKeys) as unknown,
};
