import type { CompiledActivity, CompiledApp } from '../compiler/types.ts';
import {
  activityField,
  decodeJobOutput,
  decodeMetadata,
  flattenData,
  legStateField,
  metadataField,
  reentryField,
  setPath,
  STATUS_FIELD,
} from '../store/job-codec.ts';
import type { StepPlan } from './plan.ts';

/** Record the job hash keeps of one activity at one dimension. */
export interface ActivityRecord {
  /** output.data */
  o?: unknown;
  /** hook.data */
  h?: unknown;
  /** input.data, kept for the trigger and for inspection */
  i?: unknown;
  /** error, when the leg ended in error */
  e?: Record<string, unknown>;
  /** status code of the leg */
  c?: number;
  /** time of the last update, ISO 8601 */
  t?: string;
}

/**
 * A job loaded for one step: the decoded hash, plus the writes the step makes,
 * applied in memory as they are planned so later mappings in the same step
 * see them.
 */
export class JobState {
  readonly jobId: string;
  readonly fields: Record<string, string>;
  readonly metadata: Record<string, unknown>;
  private decodedData: Record<string, unknown> | undefined;
  readonly plan: StepPlan;
  private readonly activities = new Map<string, ActivityRecord>();

  constructor(jobId: string, fields: Record<string, string>, plan: StepPlan) {
    this.jobId = jobId;
    this.fields = fields;
    this.plan = plan;
    this.metadata = decodeMetadata(fields);
  }

  /** Job data, decoded on first use: most steps never read `$job.data`. */
  get data(): Record<string, unknown> {
    this.decodedData ??= decodeJobOutput(this.fields).data;
    return this.decodedData;
  }

  get exists(): boolean {
    return this.fields[STATUS_FIELD] !== undefined;
  }

  get version(): string {
    return String(this.metadata.vrs ?? '');
  }

  activity(aid: string, dad: string): ActivityRecord | undefined {
    const key = activityField(aid, dad);
    const cached = this.activities.get(key);
    if (cached) return cached;
    const raw = this.fields[key];
    if (raw === undefined) return undefined;
    const record = JSON.parse(raw) as ActivityRecord;
    this.activities.set(key, record);
    return record;
  }

  setActivity(aid: string, dad: string, record: ActivityRecord): void {
    const key = activityField(aid, dad);
    this.activities.set(key, record);
    const encoded = JSON.stringify(record);
    this.fields[key] = encoded;
    this.plan.set(key, encoded);
  }

  legState(aid: string, dad: string): string {
    return this.fields[legStateField(aid, dad)] ?? '';
  }

  setLegState(aid: string, dad: string, state: string): void {
    const key = legStateField(aid, dad);
    this.fields[key] = state;
    this.plan.set(key, state);
  }

  reentries(aid: string, dad: string): number {
    return Number(this.fields[reentryField(aid, dad)] ?? 0);
  }

  setReentries(aid: string, dad: string, count: number): void {
    const key = reentryField(aid, dad);
    this.fields[key] = String(count);
    this.plan.set(key, String(count));
  }

  setMetadata(name: string, value: unknown): void {
    if (value === undefined) return;
    this.metadata[name] = value;
    const key = metadataField(name);
    const encoded = JSON.stringify(value);
    this.fields[key] = encoded;
    this.plan.set(key, encoded);
  }

  /** Merges mapped job data: plain objects merge by path, other values replace. */
  mergeData(values: Record<string, unknown>): void {
    for (const [field, encoded] of flattenData(values)) {
      this.fields[field] = encoded;
      this.plan.set(field, encoded);
      if (this.decodedData === undefined) continue;
      const path = field.slice(2).split('/').map((segment) => segment.replace(/%2F/g, '/').replace(/%25/g, '%'));
      setPath(this.decodedData, path, JSON.parse(encoded));
    }
  }
}

/**
 * The dimension of activity `target` as seen from `current` at `dad`. Every
 * activity's dimension extends its parent's, so the target's record is found
 * at the longest prefix of `dad` that contains one: an ancestor on the path that
 * led here, or a sibling branch of the same iteration. A cycle's later
 * iterations have their own prefixes, so a reference reads the iteration the
 * current activity belongs to. Without a record, the prefix as deep as the
 * target sits in the graph is returned.
 */
export function dimensionOf(app: CompiledApp, job: JobState, target: string, current: CompiledActivity, dad: string): string {
  if (target === current.id) return dad;
  for (let prefix = dad; prefix.length > 0; prefix = prefix.slice(0, prefix.lastIndexOf(','))) {
    if (job.activity(target, prefix) !== undefined) return prefix;
  }
  const activity = app.activities.get(target);
  if (!activity) return ',0';
  const depth = activity.ancestors.length + 1;
  const segments = dad.split(',').slice(1);
  const picked = segments.slice(0, depth);
  while (picked.length < depth) picked.push('0');
  return `,${picked.join(',')}`;
}

/** Replaces the last index of a dimension, e.g. `,0,0` with 2 → `,0,2`. */
export function withLastIndex(dad: string, index: number): string {
  const cut = dad.lastIndexOf(',');
  return `${dad.slice(0, cut)},${index}`;
}
