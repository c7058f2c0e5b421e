// Mapping expressions: the values under `maps`, `stats`, `topic`, `sleep`,
// `emit` and transition `match` rules, parsed once at compile time into a
// small tree that `evaluate` walks. Nothing in a mapping is ever evaluated as
// code: references walk own properties of plain data, and functions come
// only from the fixed `@pipe` catalog.
import { lookupPipeFunction, pipeDomains, type PipeFunction } from './functions/index.ts';

/** A parsed mapping value. */
export type Expr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'ref'; root: string; path: string[] }
  | { kind: 'call'; name: string; fn: PipeFunction }
  | { kind: 'pipe'; rows: PipeRow[] }
  | { kind: 'reduce'; rows: PipeRow[] }
  | { kind: 'object'; entries: Array<[string, Expr]> }
  | { kind: 'array'; items: Expr[] };

/** One row of a pipe: an array of cells, or a nested pipe or reduce. */
export type PipeRow = { kind: 'cells'; cells: Expr[] } | { kind: 'pipe'; expr: Expr } | { kind: 'reduce'; expr: Expr };

/** Roots a reference may start with besides an activity id. */
export const SYSTEM_ROOTS = new Set(['$job', '$self', '$hook', '$app', '$graph']);
/** Roots that exist only inside `@reduce` rows. */
export const REDUCE_ROOTS = new Set(['$input', '$output', '$item', '$key', '$index']);
/** Path segments that would reach an object's prototype; refused everywhere. */
export const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** A problem found while parsing a mapping, at a path relative to the mapping's root. */
export interface ExpressionIssue {
  path: string;
  rule: string;
  message: string;
}

/** What the parser needs to know about the app. */
export interface ParseContext {
  /** Activity ids a reference may name. */
  activityIds: ReadonlySet<string>;
  /** YAML path of the value being parsed, for issues. */
  path: string;
  issues: ExpressionIssue[];
  /** True inside a `@reduce` row, where `$item` and friends are defined. */
  inReduce?: boolean;
}

const REFERENCE = /^\{([^{}\s]+)\}$/;
const REFERENCE_BODY = /^\$?[A-Za-z_][\w-]*(?:\.[^.{}\s]+)*$/;
const FUNCTION_NAME = /^@([a-z]+)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** Tells whether a string is a whole-string mapping reference such as `{a1.output.data.x}`. */
export function isReferenceString(value: string): boolean {
  const match = REFERENCE.exec(value);
  if (!match) return false;
  return match[1].startsWith('@') || REFERENCE_BODY.test(match[1]);
}

/** Parses a mapping value (a literal, a reference string, a pipe, or a tree of them). */
export function parseExpression(value: unknown, context: ParseContext): Expr {
  if (typeof value === 'string') return parseString(value, context);
  if (Array.isArray(value)) {
    const items = value.map((item, index) => parseExpression(item, { ...context, path: `${context.path}[${index}]` }));
    return items.every((item) => item.kind === 'literal') ? { kind: 'literal', value } : { kind: 'array', items };
  }
  if (value !== null && typeof value === 'object') return parseObject(value as Record<string, unknown>, context);
  return { kind: 'literal', value };
}

function parseString(value: string, context: ParseContext): Expr {
  const match = REFERENCE.exec(value);
  if (!match) {
    if (/^\{@.*\}$/s.test(value)) {
      issue(context, 'E_FUNCTION_NAME', `function reference ${JSON.stringify(value)} must be a literal {@domain.name}; names cannot be built from data`);
    }
    return { kind: 'literal', value };
  }
  const body = match[1];
  if (body.startsWith('@')) return parseFunction(body, context);
  if (!REFERENCE_BODY.test(body)) return { kind: 'literal', value };

  const [root, ...path] = body.split('.');
  for (const segment of path) {
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      issue(context, 'E_FORBIDDEN_PATH', `reference ${value} uses the path segment "${segment}", which could reach an object's prototype`);
      return { kind: 'literal', value: undefined };
    }
  }
  if (root.startsWith('$')) {
    if (!SYSTEM_ROOTS.has(root) && !(context.inReduce && REDUCE_ROOTS.has(root))) {
      const known = [...SYSTEM_ROOTS, ...(context.inReduce ? REDUCE_ROOTS : [])].join(', ');
      issue(context, 'E_UNKNOWN_ROOT', `reference ${value} starts with unknown root ${root}; known roots: ${known}, or an activity id`);
    }
  } else if (!context.activityIds.has(root)) {
    issue(context, 'E_UNKNOWN_ACTIVITY_REF', `reference ${value} names activity "${root}", which does not exist in this app`);
  }
  return { kind: 'ref', root, path };
}

function parseFunction(body: string, context: ParseContext): Expr {
  const match = FUNCTION_NAME.exec(body);
  if (!match) {
    issue(context, 'E_FUNCTION_NAME', `function reference {${body}} is malformed; expected {@domain.name}`);
    return { kind: 'literal', value: undefined };
  }
  const [, domain, fnName] = match;
  const name = `${domain}.${fnName}`;
  if (!pipeDomains.has(domain)) {
    issue(context, 'E_UNKNOWN_FUNCTION', `unknown function domain "${domain}" in {${body}}; known domains: ${[...pipeDomains].sort().join(', ')}`);
    return { kind: 'literal', value: undefined };
  }
  const fn = lookupPipeFunction(name);
  if (!fn) {
    issue(context, 'E_UNKNOWN_FUNCTION', `unknown function {${body}}: domain "${domain}" has no function "${fnName}"`);
    return { kind: 'literal', value: undefined };
  }
  return { kind: 'call', name, fn };
}

function parseObject(value: Record<string, unknown>, context: ParseContext): Expr {
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === '@pipe' || keys[0] === '@reduce')) {
    const kind = keys[0] === '@pipe' ? 'pipe' : 'reduce';
    return parseRows(value[keys[0]], kind, { ...context, path: `${context.path}["${keys[0]}"]`, inReduce: context.inReduce || kind === 'reduce' });
  }
  const entries: Array<[string, Expr]> = [];
  for (const key of keys) {
    if (FORBIDDEN_SEGMENTS.has(key)) {
      issue({ ...context, path: `${context.path}.${key}` }, 'E_FORBIDDEN_PATH', `key "${key}" could reach an object's prototype`);
      continue;
    }
    if (key === '@pipe' || key === '@reduce') {
      issue({ ...context, path: `${context.path}.${key}` }, 'E_PIPE', `${key} must be the only key of its object`);
      continue;
    }
    entries.push([key, parseExpression(value[key], { ...context, path: `${context.path}.${key}` })]);
  }
  const allLiteral = entries.every(([, expr]) => expr.kind === 'literal');
  return allLiteral && entries.length === keys.length ? { kind: 'literal', value } : { kind: 'object', entries };
}

function parseRows(value: unknown, kind: 'pipe' | 'reduce', context: ParseContext): Expr {
  if (!Array.isArray(value) || value.length === 0) {
    issue(context, 'E_PIPE', `@${kind} must be a non-empty list of rows`);
    return { kind: 'literal', value: undefined };
  }
  const rows: PipeRow[] = [];
  value.forEach((row, index) => {
    const rowContext = { ...context, path: `${context.path}[${index}]` };
    if (Array.isArray(row)) {
      const cells = row.map((cell, cellIndex) => parseCell(cell, { ...rowContext, path: `${rowContext.path}[${cellIndex}]` }));
      if (index > 0 && cells.length > 0 && cells[0].kind !== 'call' && rows[index - 1]?.kind === 'cells') {
        // A later row that starts with a value replaces the arguments; allowed, as in HotMesh.
      }
      rows.push({ kind: 'cells', cells });
      return;
    }
    if (row !== null && typeof row === 'object') {
      const keys = Object.keys(row);
      if (keys.length === 1 && (keys[0] === '@pipe' || keys[0] === '@reduce')) {
        const nested = parseObject(row as Record<string, unknown>, rowContext);
        rows.push(keys[0] === '@pipe' ? { kind: 'pipe', expr: nested } : { kind: 'reduce', expr: nested });
        return;
      }
    }
    issue(rowContext, 'E_PIPE', `each @${kind} row must be a list of cells or a nested @pipe/@reduce object`);
  });
  return { kind, rows };
}

function parseCell(cell: unknown, context: ParseContext): Expr {
  if (typeof cell === 'string') return parseString(cell, context);
  if (cell !== null && typeof cell === 'object' && !Array.isArray(cell)) {
    const keys = Object.keys(cell);
    if (keys.length === 1 && (keys[0] === '@pipe' || keys[0] === '@reduce')) return parseObject(cell as Record<string, unknown>, context);
  }
  return parseExpression(cell, context);
}

function issue(context: ParseContext, rule: string, message: string): void {
  context.issues.push({ path: context.path, rule, message });
}

/** Lists the activity ids an expression references, for dependency checks. */
export function referencedActivities(expr: Expr, into: Set<string> = new Set()): Set<string> {
  switch (expr.kind) {
    case 'ref':
      if (!expr.root.startsWith('$')) into.add(expr.root);
      break;
    case 'pipe':
    case 'reduce':
      for (const row of expr.rows) {
        if (row.kind === 'cells') row.cells.forEach((cell) => referencedActivities(cell, into));
        else referencedActivities(row.expr, into);
      }
      break;
    case 'object':
      expr.entries.forEach(([, value]) => referencedActivities(value, into));
      break;
    case 'array':
      expr.items.forEach((item) => referencedActivities(item, into));
      break;
    default:
      break;
  }
  return into;
}
