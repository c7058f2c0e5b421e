// How a job is laid out in its Redis hash. Every value is JSON.
//   :               status semaphore: open activity tokens; 0 or less is done
//   m/<name>        job metadata (jid, tpc, vrs, jc, ju, err, pj, pd, pa, ngn, key, …)
//   d/<a>/<b>       job data, one field per leaf path
//   a/<aid><dad>    one activity at one dimension: {o: output data, h: hook data, e: error, c: code, t: time}
//   s/<aid><dad>    leg state of that activity (see LegState)
//   r/<aid><dad>    how many times its leg 2 was entered (re-entries open new dimensions)
//   @<messageId>    a message already applied, so a redelivery is a no-op
//   !done           set once when the job completes
//   #               how many steps committed; a step planned from a carried
//                   state checks it so it cannot overwrite a newer step

/** Job output as users see it: `getState` and `hotmesh job`. */
export interface JobOutput {
  metadata: JobMetadata;
  data: Record<string, unknown>;
}

/** Metadata of a job, HotMesh's names. */
export interface JobMetadata {
  /** Job id. */
  jid: string;
  /** Trigger activity id. */
  aid?: string;
  /** App id and the version the job runs on. */
  app?: string;
  vrs?: string;
  /** The topic that started the job. */
  tpc?: string;
  /** Job key from `stats.key`. */
  key?: string;
  /** Created and updated, ISO 8601. */
  jc?: string;
  ju?: string;
  /** Status semaphore: open activity tokens; 0 or less when done. */
  js: number;
  /** The job's error, when it failed. */
  err?: Record<string, unknown>;
  /** Parent job id, dimension and activity, for a child job. */
  pj?: string;
  pd?: string;
  pa?: string;
  [name: string]: unknown;
}

export const STATUS_FIELD = ':';
export const CHANGE_FIELD = '#';

export function metadataField(name: string): string { return `m/${name}`; }
export function activityField(aid: string, dad: string): string { return `a/${aid}${dad}`; }
export function legStateField(aid: string, dad: string): string { return `s/${aid}${dad}`; }
export function reentryField(aid: string, dad: string): string { return `r/${aid}${dad}`; }

/** Builds the field of one job data path: segments escaped so `/` stays a separator. */
export function dataField(path: readonly string[]): string {
  return `d/${path.map((segment) => segment.replace(/%/g, '%25').replace(/\//g, '%2F')).join('/')}`;
}

function dataPath(field: string): string[] {
  return field.slice(2).split('/').map((segment) => segment.replace(/%2F/g, '/').replace(/%25/g, '%'));
}

/** Flattens job data into fields: plain objects become deeper paths; arrays and scalars are leaves. */
export function flattenData(data: Record<string, unknown>, prefix: string[] = [], into: Array<[string, string]> = []): Array<[string, string]> {
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    const path = [...prefix, key];
    if (isPlainObject(value) && Object.keys(value).length > 0) flattenData(value, path, into);
    else into.push([dataField(path), JSON.stringify(value)]);
  }
  return into;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sets a nested path on a data object, creating plain objects on the way; never touches prototypes. */
export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i];
    const next = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (!isPlainObject(next)) {
      const created: Record<string, unknown> = {};
      Object.defineProperty(node, segment, { value: created, enumerable: true, writable: true, configurable: true });
      node = created;
    } else {
      node = next;
    }
  }
  Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Decodes a job's metadata fields and its status. */
export function decodeMetadata(fields: Record<string, string>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const field in fields) if (field.startsWith('m/')) metadata[field.slice(2)] = parseJson(fields[field]);
  metadata.js = Number(fields[STATUS_FIELD] ?? 0);
  return metadata;
}

/** Decodes the public part of a job hash (status, metadata, data). */
export function decodeJobOutput(fields: Record<string, string>): JobOutput {
  const metadata: Record<string, unknown> = {};
  const data: Record<string, unknown> = {};
  const dataFields: string[] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (field.startsWith('m/')) metadata[field.slice(2)] = parseJson(value);
    else if (field.startsWith('d/')) dataFields.push(field);
  }
  // Shorter paths first, so a later leaf inside an object wins over nothing.
  dataFields.sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  for (const field of dataFields) setPath(data, dataPath(field), parseJson(fields[field]));
  metadata.js = Number(fields[STATUS_FIELD] ?? 0);
  return { metadata: metadata as JobMetadata, data };
}

/** Turns a flat [field, value, …] list (a script's snapshot) into a record. */
export function pairsToRecord(pairs: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) record[pairs[i]] = pairs[i + 1];
  return record;
}
