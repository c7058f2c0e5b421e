import type { Expr, PipeRow } from './expression.ts';

/** Resolves the root of a reference (`$job`, `$self`, an activity id, …) to plain data. */
export type RootResolver = (root: string) => unknown;

/**
 * Evaluates a parsed mapping against the data of a job. References that lead
 * nowhere yield `undefined`, as in HotMesh; only own properties are walked.
 */
export function evaluate(expr: Expr, resolveRoot: RootResolver): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'ref':
      return walk(resolveRoot(expr.root), expr.path);
    case 'call':
      return expr.fn();
    case 'pipe':
      return runPipe(expr.rows, [], resolveRoot)[0];
    case 'reduce':
      // A @reduce on its own (not inside a pipe) has no input to reduce.
      return undefined;
    case 'object': {
      const result: Record<string, unknown> = {};
      for (const [key, value] of expr.entries) {
        const resolved = evaluate(value, resolveRoot);
        if (resolved !== undefined) result[key] = resolved;
      }
      return result;
    }
    case 'array':
      return expr.items.map((item) => evaluate(item, resolveRoot));
  }
}

/** Walks own properties along a path; arrays take numeric segments. */
export function walk(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const segment of path) {
    if (node === null || node === undefined) return undefined;
    if (Array.isArray(node)) {
      if (segment === 'length') {
        node = node.length;
        continue;
      }
      const index = Number(segment);
      node = Number.isInteger(index) ? node[index] : undefined;
      continue;
    }
    if (typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

// Runs the rows of a pipe. Row cells resolve into the argument list; a row
// whose first cell is a function calls it with the previous arguments and
// makes [result, …other cells] the new list. Nested pipes evaluate on their
// own and queue their results, which become the next row's arguments.
function runPipe(rows: PipeRow[], initial: unknown[], resolveRoot: RootResolver): unknown[] {
  let args = initial;
  let queued: unknown[] = [];
  rows.forEach((row, index) => {
    if (row.kind === 'pipe') {
      queued.push(evaluate(row.expr, resolveRoot));
      return;
    }
    if (row.kind === 'reduce') {
      if (queued.length > 0) {
        args = queued;
        queued = [];
      }
      args = [runReduce(row.expr, args, resolveRoot)];
      return;
    }
    if (queued.length > 0) {
      args = queued;
      queued = [];
    }
    const [head, ...rest] = row.cells;
    const isFirstRow = index === 0 && initial.length === 0;
    if (head && head.kind === 'call' && !isFirstRow) {
      const result = head.fn(...args);
      args = [result, ...rest.map((cell) => evaluate(cell, resolveRoot))];
    } else {
      args = row.cells.map((cell) => evaluate(cell, resolveRoot));
    }
  });
  return queued.length > 0 ? queued : args;
}

// `@reduce` takes [collection, initial] and runs its rows once per item with
// $item, $key, $index, $input (the collection) and $output (the accumulator)
// in scope; each run's value becomes the next $output.
function runReduce(expr: Expr, args: unknown[], resolveRoot: RootResolver): unknown {
  if (expr.kind !== 'reduce') return undefined;
  const [input, initial] = args;
  let output: unknown = initial ?? null;
  const items: Array<[string | number, unknown]> = Array.isArray(input)
    ? input.map((item, index) => [index, item])
    : input !== null && typeof input === 'object'
      ? Object.entries(input as Record<string, unknown>)
      : [];
  items.forEach(([key, item], index) => {
    const scope: RootResolver = (root) => {
      switch (root) {
        case '$input': return input;
        case '$output': return output;
        case '$item': return item;
        case '$key': return key;
        case '$index': return index;
        default: return resolveRoot(root);
      }
    };
    output = runPipe(expr.rows, [], scope)[0];
  });
  return output;
}
