// The allow-list of functions that a `@pipe` mapping can call as `{@domain.name}`.
// Mappings come from deployed YAML and their arguments from job data, so nothing
// here evaluates code, and lookups never fall through to Object.prototype.
import { arrayFunctions } from './array.ts';
import { bitwiseFunctions } from './bitwise.ts';
import { conditionalFunctions } from './conditional.ts';
import { cronFunctions } from './cron.ts';
import { dateFunctions } from './date.ts';
import { jsonFunctions } from './json.ts';
import { logicalFunctions } from './logical.ts';
import { mathFunctions } from './math.ts';
import { numberFunctions } from './number.ts';
import { objectFunctions } from './object.ts';
import { stringFunctions } from './string.ts';
import { symbolFunctions } from './symbol.ts';
import { unaryFunctions } from './unary.ts';

/** A function callable from a mapping as `{@domain.name}`; pure, arguments from the previous pipe row. */
export type PipeFunction = (...args: unknown[]) => unknown;

const DOMAIN_TABLES: ReadonlyArray<readonly [string, Readonly<Record<string, PipeFunction>>]> = [
  ['array', arrayFunctions],
  ['bitwise', bitwiseFunctions],
  ['conditional', conditionalFunctions],
  ['cron', cronFunctions],
  ['date', dateFunctions],
  ['json', jsonFunctions],
  ['logical', logicalFunctions],
  ['math', mathFunctions],
  ['number', numberFunctions],
  ['object', objectFunctions],
  ['string', stringFunctions],
  ['symbol', symbolFunctions],
  ['unary', unaryFunctions],
];

function rejectChange(): never {
  throw new TypeError('The pipe function catalog is read-only');
}

// Object.freeze does not stop Map.prototype.set, so the instance's own mutators
// are replaced first. NOTE: Map.prototype.set.call(map, …) still bypasses this.
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  for (const mutator of ['set', 'delete', 'clear']) {
    Object.defineProperty(map, mutator, { value: rejectChange });
  }
  return Object.freeze(map);
}

function freezeSet<T>(set: Set<T>): ReadonlySet<T> {
  for (const mutator of ['add', 'delete', 'clear']) {
    Object.defineProperty(set, mutator, { value: rejectChange });
  }
  return Object.freeze(set);
}

function buildCatalog(): Map<string, PipeFunction> {
  const catalog = new Map<string, PipeFunction>();
  for (const [domain, table] of DOMAIN_TABLES) {
    // Object.entries lists own keys only, so nothing inherited enters the catalog.
    for (const [name, fn] of Object.entries(table)) {
      catalog.set(`${domain}.${name}`, Object.freeze(fn));
    }
  }
  return catalog;
}

/** Every callable function, keyed by `domain.name` (e.g. `string.concat`). Frozen; built once. */
export const pipeFunctions: ReadonlyMap<string, PipeFunction> = freezeMap(buildCatalog());

/** The known domains, for error messages ("unknown domain"). */
export const pipeDomains: ReadonlySet<string> = freezeSet(new Set(DOMAIN_TABLES.map(([domain]) => domain)));

/** Returns the function for `domain.name`, or undefined; never walks object prototypes. */
export function lookupPipeFunction(name: string): PipeFunction | undefined {
  return typeof name === 'string' ? pipeFunctions.get(name) : undefined;
}
