import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ManifestError, type ManifestIssue } from '../errors.ts';
import { childPath, parseYaml, YamlSyntaxError } from './yaml-source.ts';

/** Where a node of the loaded manifest came from. */
export interface SourcePosition {
  file: string;
  line?: number;
  /** The scalar's source text, when it was a scalar. */
  text?: string;
}

/** A manifest as loaded, before validation, with the source of each node. */
export interface LoadedManifest {
  value: unknown;
  /** The file given by the caller, or `<inline>`. */
  file: string;
  /** Finds where a YAML path of the merged manifest came from. */
  locate(path: string): SourcePosition;
}

/** Name used in errors for a manifest passed as a string. */
export const INLINE_FILE = '<inline>';

const MAX_REF_DEPTH = 32;

/**
 * Tells whether `deploy` should treat its argument as YAML text rather than a
 * path: the text begins with `app:` once trimmed, as in HotMesh.
 */
export function looksLikeInlineManifest(pathOrYaml: string): boolean {
  return /^\s*(?:#[^\n]*\n\s*)*(---\s*\n\s*)?app\s*:/.test(pathOrYaml);
}

/** Loads a manifest from a file path or from YAML text; resolves `$ref` includes. */
export function loadManifest(pathOrYaml: string): LoadedManifest {
  if (looksLikeInlineManifest(pathOrYaml)) return loadManifestText(pathOrYaml, INLINE_FILE);
  return loadManifestFile(pathOrYaml);
}

/** Loads a manifest file; `$ref` includes resolve relative to the including file. */
export function loadManifestFile(path: string): LoadedManifest {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ManifestError([{ file: path, path: '', rule: 'E_FILE', message: `cannot read manifest: ${reason}` }]);
  }
  return new Loader(path).load(text, file, path);
}

/**
 * Loads a manifest from YAML text. A `$ref` in inline text resolves relative
 * to `baseDir` (the working folder by default).
 */
export function loadManifestText(text: string, name: string = INLINE_FILE, baseDir: string = process.cwd()): LoadedManifest {
  return new Loader(name).load(text, resolve(baseDir, '__inline__.yaml'), name);
}

class Loader {
  private readonly positions = new Map<string, SourcePosition>();
  private readonly documents = new Map<string, ReturnType<typeof parseYaml>>();
  private readonly rootName: string;

  constructor(rootName: string) {
    this.rootName = rootName;
  }

  load(text: string, absolutePath: string, displayName: string): LoadedManifest {
    const document = this.parse(text, absolutePath, displayName);
    const value = this.resolveRefs(document.value, '', '', absolutePath, displayName, []);
    const positions = this.positions;
    const rootName = this.rootName;
    return {
      value,
      file: rootName,
      locate(path: string): SourcePosition {
        let current = path;
        for (;;) {
          const found = positions.get(current);
          if (found) return found;
          if (current === '') return { file: rootName };
          current = parentPath(current);
        }
      },
    };
  }

  private parse(text: string, absolutePath: string, displayName: string): ReturnType<typeof parseYaml> {
    const cached = this.documents.get(absolutePath);
    if (cached) return cached;
    try {
      const document = parseYaml(text, displayName);
      this.documents.set(absolutePath, document);
      return document;
    } catch (error) {
      if (error instanceof YamlSyntaxError) {
        throw new ManifestError([{ file: displayName, path: '', line: error.line, rule: 'E_YAML', message: `invalid YAML: ${error.reason}` }]);
      }
      throw error;
    }
  }

  // Walks a node of one file; `path` is the node's path in the merged manifest,
  // `localPath` its path inside its own file (for line numbers).
  private resolveRefs(node: unknown, path: string, localPath: string, file: string, displayName: string, chain: string[]): unknown {
    const document = this.documents.get(file);
    const line = document?.lines.get(localPath);
    const text = document?.scalars.get(localPath);
    this.positions.set(path, { file: displayName, line, text });

    if (Array.isArray(node)) {
      return node.map((item, index) => this.resolveRefs(item, childPath(path, index), childPath(localPath, index), file, displayName, chain));
    }
    if (node === null || typeof node !== 'object') return node;

    const record = node as Record<string, unknown>;
    if (typeof record.$ref === 'string' && Object.keys(record).length === 1) {
      return this.include(record.$ref, path, localPath, file, displayName, chain);
    }
    const result: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      result[key] = this.resolveRefs(value, childPath(path, key), childPath(localPath, key), file, displayName, chain);
    }
    return result;
  }

  private include(ref: string, path: string, localPath: string, file: string, displayName: string, chain: string[]): unknown {
    const issue = (message: string): ManifestIssue => ({
      file: displayName,
      path,
      line: this.documents.get(file)?.lines.get(localPath),
      rule: 'E_REF',
      message,
    });
    if (chain.length >= MAX_REF_DEPTH) throw new ManifestError([issue(`$ref ${ref} nests deeper than ${MAX_REF_DEPTH} includes`)]);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw new ManifestError([issue(`$ref ${ref} is a URL; only relative files are allowed`)]);

    const [filePart, pointer = ''] = ref.split('#', 2);
    const target = filePart === '' ? file : resolve(dirname(file), filePart);
    const targetName = filePart === '' ? displayName : relativeName(displayName, filePart);
    const key = `${target}#${pointer}`;
    if (chain.includes(key)) throw new ManifestError([issue(`$ref ${ref} includes itself`)]);

    let document = this.documents.get(target);
    if (!document) {
      let text: string;
      try {
        text = readFileSync(target, 'utf8');
      } catch {
        throw new ManifestError([issue(`$ref ${ref} names a file that cannot be read: ${target}`)]);
      }
      document = this.parse(text, target, targetName);
    }
    const { value, localPath: targetPath } = followPointer(document.value, pointer);
    if (value === undefined) throw new ManifestError([issue(`$ref ${ref}: pointer #${pointer} matches nothing`)]);
    return this.resolveRefs(value, path, targetPath, target, targetName, [...chain, key]);
  }
}

function followPointer(root: unknown, pointer: string): { value: unknown; localPath: string } {
  if (pointer === '' || pointer === '/') return { value: root, localPath: '' };
  let node: unknown = root;
  let localPath = '';
  for (const raw of pointer.replace(/^\//, '').split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      node = Number.isInteger(index) ? node[index] : undefined;
      localPath = childPath(localPath, index);
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, segment)) {
      node = (node as Record<string, unknown>)[segment];
      localPath = childPath(localPath, segment);
    } else {
      return { value: undefined, localPath };
    }
  }
  return { value: node, localPath };
}

function relativeName(including: string, ref: string): string {
  if (including === INLINE_FILE) return ref;
  return resolve(dirname(including), ref).replace(`${process.cwd()}/`, '');
}

function parentPath(path: string): string {
  const bracket = path.lastIndexOf('[');
  const dot = path.lastIndexOf('.');
  const cut = Math.max(bracket, dot);
  return cut <= 0 ? '' : path.slice(0, cut);
}
