// Pipe functions of the `object` domain. None of them changes its arguments, because
// the ones that write work on a shallow copy and return it. None can reach or change a
// prototype. Writers throw a TypeError for the keys `__proto__`, `constructor` and
// `prototype`, and readers treat those keys as absent. `get` and
// `getOwnPropertyDescriptor` read own data properties only and never return a function.
import type { PipeFunction } from './index.ts';

const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Tells whether `key` could reach or change a prototype when used as a property name. */
export function isUnsafeKey(key: unknown): boolean {
  return UNSAFE_KEYS.has(String(key));
}

type PlainRecord = Record<string, unknown>;

function requireSafeKey(key: unknown, functionName: string): string {
  const name = String(key);
  if (UNSAFE_KEYS.has(name)) {
    throw new TypeError(
      `object.${functionName}: the key "${name}" is not allowed, because it could reach or change a prototype`,
    );
  }
  return name;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function requireObject(value: unknown, functionName: string, position: number): object {
  if (!isObject(value)) {
    const valueText = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new TypeError(`object.${functionName}: argument ${position} must be an object, but received ${valueText}`);
  }
  return value;
}

/**
 * Returns a shallow copy of an array, a Date or a plain object. The copy of any
 * other object is a plain object with its own enumerable string keys.
 */
function copyObject(value: object, functionName: string): PlainRecord {
  if (Array.isArray(value)) return [...value] as unknown as PlainRecord;
  if (value instanceof Date) return new Date(value.getTime()) as unknown as PlainRecord;
  return copyEntries(value, {}, functionName);
}

/** Copies the own enumerable string keys of `source` onto `target`, as Object.assign does, and returns `target`. */
function copyEntries(source: object, target: PlainRecord, functionName: string): PlainRecord {
  for (const [key, value] of Object.entries(source)) {
    target[requireSafeKey(key, functionName)] = value;
  }
  return target;
}

// Only data descriptors are accepted, because a getter or setter would have to be a function.
function toDataDescriptor(descriptor: unknown, functionName: string): PropertyDescriptor {
  const source = requireObject(descriptor, functionName, 3) as PropertyDescriptor;
  if (Object.hasOwn(source, 'get') || Object.hasOwn(source, 'set')) {
    throw new TypeError(`object.${functionName}: accessor descriptors (get, set) are not allowed`);
  }
  const result: PropertyDescriptor = {};
  if (Object.hasOwn(source, 'value')) result.value = source.value;
  if (Object.hasOwn(source, 'writable')) result.writable = Boolean(source.writable);
  if (Object.hasOwn(source, 'enumerable')) result.enumerable = Boolean(source.enumerable);
  if (Object.hasOwn(source, 'configurable')) result.configurable = Boolean(source.configurable);
  return result;
}

// Returns the own data property `key` of `target`, or undefined when it is missing,
// unsafe, an accessor or a function.
function readOwnDataProperty(target: unknown, key: unknown): PropertyDescriptor | undefined {
  if (target === null || target === undefined || isUnsafeKey(key)) return undefined;
  const descriptor = Object.getOwnPropertyDescriptor(target, String(key));
  if (descriptor === undefined || !Object.hasOwn(descriptor, 'value')) return undefined;
  if (typeof descriptor.value === 'function') return undefined;
  return descriptor;
}

function assign(target: unknown, ...sources: unknown[]): PlainRecord {
  const copy = copyObject(requireObject(target, 'assign', 1), 'assign');
  for (const source of sources) {
    // Object.assign skips null and undefined sources and wraps primitives, so a string copies its characters.
    if (source === null || source === undefined) continue;
    copyEntries(Object(source) as object, copy, 'assign');
  }
  return copy;
}

function fromEntries(entries: unknown): PlainRecord {
  if (!Array.isArray(entries)) {
    throw new TypeError('object.fromEntries: argument 1 must be an array of [key, value] pairs');
  }
  const result: PlainRecord = {};
  for (const entry of entries) {
    if (!Array.isArray(entry)) {
      throw new TypeError('object.fromEntries: each entry must be a [key, value] array');
    }
    result[requireSafeKey(entry[0], 'fromEntries')] = entry[1];
  }
  return result;
}

function defineProperties(target: unknown, descriptors: unknown): PlainRecord {
  const copy = copyObject(requireObject(target, 'defineProperties', 1), 'defineProperties');
  for (const [key, descriptor] of Object.entries(requireObject(descriptors, 'defineProperties', 2))) {
    const name = requireSafeKey(key, 'defineProperties');
    Object.defineProperty(copy, name, toDataDescriptor(descriptor, 'defineProperties'));
  }
  return copy;
}

/** Returns an object built from alternating keys and values. A trailing key gets the value undefined. */
function create(...keysAndValues: unknown[]): PlainRecord {
  const result: PlainRecord = {};
  for (let i = 0; i < keysAndValues.length; i += 2) {
    result[requireSafeKey(keysAndValues[i], 'create')] = keysAndValues[i + 1];
  }
  return result;
}

/** The `object` functions, keyed by name. */
export const objectFunctions: Readonly<Record<string, PipeFunction>> = {
  keys: (target: unknown) => Object.keys(requireObject(target, 'keys', 1)),
  values: (target: unknown) => Object.values(requireObject(target, 'values', 1)),
  entries: (target: unknown) => Object.entries(requireObject(target, 'entries', 1)),
  fromEntries,
  /** Returns a copy of `target` with the own enumerable keys of each source assigned in turn. */
  assign,
  getOwnPropertyNames: (target: unknown) =>
    Object.getOwnPropertyNames(requireObject(target, 'getOwnPropertyNames', 1)),
  // Kept for completeness. Pipe values come from YAML and JSON, which have no symbols, so this returns [].
  getOwnPropertySymbols: (target: unknown) =>
    Object.getOwnPropertySymbols(requireObject(target, 'getOwnPropertySymbols', 1)),
  /** Returns the data descriptor of an own property, or undefined as `get` does. */
  getOwnPropertyDescriptor: readOwnDataProperty,
  /** Returns a copy of `target` with the property defined. Only data descriptors are accepted. */
  defineProperty: (target: unknown, key: unknown, descriptor: unknown) => {
    const copy = copyObject(requireObject(target, 'defineProperty', 1), 'defineProperty');
    const name = requireSafeKey(key, 'defineProperty');
    return Object.defineProperty(copy, name, toDataDescriptor(descriptor, 'defineProperty'));
  },
  defineProperties,

  // freeze, seal and preventExtensions return a changed copy, and a primitive as it is.
  freeze: (target: unknown) => (isObject(target) ? Object.freeze(copyObject(target, 'freeze')) : target),
  seal: (target: unknown) => (isObject(target) ? Object.seal(copyObject(target, 'seal')) : target),
  preventExtensions: (target: unknown) =>
    isObject(target) ? Object.preventExtensions(copyObject(target, 'preventExtensions')) : target,
  isFrozen: (target: unknown) => Object.isFrozen(target),
  isSealed: (target: unknown) => Object.isSealed(target),
  isExtensible: (target: unknown) => Object.isExtensible(target),

  hasOwnProperty: (target: unknown, key: unknown) =>
    Object.hasOwn(requireObject(target, 'hasOwnProperty', 1), String(key)),
  // Returns only a boolean. No pipe function returns a prototype, so a mapping can at most
  // compare two of its own values.
  isPrototypeOf: (prototype: unknown, target: unknown) =>
    isObject(prototype) && isObject(target) && Object.prototype.isPrototypeOf.call(prototype, target),
  propertyIsEnumerable: (target: unknown, key: unknown) =>
    Object.prototype.propertyIsEnumerable.call(requireObject(target, 'propertyIsEnumerable', 1), String(key)),

  /**
   * Returns the own property `key` of `target`. Returns undefined when the property is missing,
   * inherited, an accessor or a function, when the key is unsafe, or when `target` is null or undefined.
   */
  get: (target: unknown, key: unknown) => readOwnDataProperty(target, key)?.value,
  /** Returns a copy of `target` with `key` set to `value`. */
  set: (target: unknown, key: unknown, value: unknown) => {
    const copy = copyObject(requireObject(target, 'set', 1), 'set');
    copy[requireSafeKey(key, 'set')] = value;
    return copy;
  },
  create,
};
