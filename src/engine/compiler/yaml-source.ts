import { getScalarValue, load, parseEvents, YAMLException, type Event } from 'js-yaml';

const DOCUMENT = 1;
const SEQUENCE = 2;
const MAPPING = 3;
const SCALAR = 4;
const POP = 6;

/** A parsed YAML document with the line of every node, by YAML path. */
export interface YamlDocument {
  value: unknown;
  /** YAML path (`app.graphs[0].subscribes`) → 1-based line of the node. */
  lines: Map<string, number>;
  /** YAML path → the node's source text, for scalars (to quote what the user wrote). */
  scalars: Map<string, string>;
}

/** Thrown by `parseYaml` on a syntax error, with the 1-based line when js-yaml gives one. */
export class YamlSyntaxError extends Error {
  readonly line: number | undefined;
  readonly reason: string;

  constructor(reason: string, line: number | undefined) {
    super(reason);
    this.reason = reason;
    this.line = line;
  }
}

/** Appends one key or index to a YAML path. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const segment = /^[A-Za-z0-9_$@-]+$/.test(key) ? key : JSON.stringify(key);
  if (parent === '') return /^[A-Za-z0-9_$@-]+$/.test(key) ? key : `[${segment}]`;
  return /^[A-Za-z0-9_$@-]+$/.test(key) ? `${parent}.${key}` : `${parent}[${segment}]`;
}

/**
 * Parses YAML with the YAML 1.2 core schema, so words such as `NO`, `on` or
 * `yes` and dates such as `2024-01-15` stay strings, and records the line of
 * every node so validation errors can point at the source.
 */
export function parseYaml(source: string, filename: string): YamlDocument {
  let value: unknown;
  let events: Event[];
  try {
    value = load(source, { filename });
    events = parseEvents(source, { filename });
  } catch (error) {
    if (error instanceof YAMLException) {
      const line = error.mark ? error.mark.line + 1 : undefined;
      throw new YamlSyntaxError(error.reason, line);
    }
    throw error;
  }
  const lineStarts = indexLineStarts(source);
  const lines = new Map<string, number>();
  const scalars = new Map<string, string>();
  walkEvents(source, events, (path, offset, text) => {
    if (!lines.has(path)) lines.set(path, lineOf(lineStarts, offset));
    if (text !== undefined) scalars.set(path, text);
  });
  return { value, lines, scalars };
}

type Frame = { kind: 'map'; path: string; key: string | undefined; keyOffset: number } | { kind: 'seq'; path: string; index: number };

function walkEvents(source: string, events: Event[], visit: (path: string, offset: number, text?: string) => void): void {
  const stack: Frame[] = [];

  // Returns the path of the node about to start, advancing the parent's
  // cursor, and the offset to report for it: a mapping value is reported at
  // its key, where a reader looks for it.
  let keyOffset = -1;
  const nextPath = (): string | undefined => {
    keyOffset = -1;
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.kind === 'seq') return childPath(top.path, top.index++);
    if (top.key === undefined) return undefined; // this node is a key
    const path = childPath(top.path, top.key);
    keyOffset = top.keyOffset;
    top.key = undefined;
    return path;
  };

  for (const event of events) {
    switch (event.type) {
      case DOCUMENT:
        break;
      case MAPPING:
      case SEQUENCE: {
        const path = nextPath();
        if (path === undefined) {
          // A collection used as a mapping key; rare and never a graph field.
          stack.push({ kind: 'map', path: '?', key: undefined, keyOffset: -1 });
          break;
        }
        visit(path, keyOffset >= 0 ? keyOffset : event.start);
        stack.push(event.type === MAPPING ? { kind: 'map', path, key: undefined, keyOffset: -1 } : { kind: 'seq', path, index: 0 });
        break;
      }
      case SCALAR: {
        const top = stack[stack.length - 1];
        if (top && top.kind === 'map' && top.key === undefined) {
          top.key = getScalarValue(source, event);
          top.keyOffset = event.valueStart;
          break;
        }
        const path = nextPath();
        if (path !== undefined) visit(path, event.valueStart, source.slice(event.valueStart, event.valueEnd));
        break;
      }
      case POP:
        stack.pop();
        break;
      default: {
        // An alias stands for a value: advance the cursor so siblings keep their paths.
        nextPath();
      }
    }
  }
}

function indexLineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineOf(lineStarts: number[], offset: number): number {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}
