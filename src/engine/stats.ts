// Job statistics from a trigger's `stats`: counts, sums and averages per
// job key and time bucket, and index lists of job ids per value, which
// `hookAll` and `getIds` read.
import type { CompiledActivity, CompiledApp, CompiledGraph } from './compiler/types.ts';
import { evaluate } from './mapper/evaluate.ts';
import type { StepPlan } from './step/plan.ts';
import type { AppKeys } from './store/keys.ts';

/** Bucket name for a time: `YYYYMMDDHHmm` floored to the granularity, or `0` for one bucket. */
export function statsBucket(time: Date, granularityMinutes: number): string {
  if (granularityMinutes <= 0) return '0';
  const floored = new Date(Math.floor(time.getTime() / (granularityMinutes * 60_000)) * granularityMinutes * 60_000);
  return floored.toISOString().replace(/[-:T]/g, '').slice(0, 12);
}

function scopeFor(trigger: CompiledActivity, input: Record<string, unknown>) {
  const view = { input: { data: input }, output: { data: input } };
  return (root: string): unknown => (root === '$self' || root === trigger.id ? view : root === '$job' ? { data: input } : undefined);
}

/** Evaluates a graph's job key for trigger input (or for a query's data). */
export function jobKeyOf(trigger: CompiledActivity, input: Record<string, unknown>): string | undefined {
  if (!trigger.statsKey) return undefined;
  const key = evaluate(trigger.statsKey, scopeFor(trigger, input));
  return key === undefined || key === null || key === '' ? undefined : String(key);
}

/** Adds the statistics of a new job to its plan. Index lists use one bucket for all time. */
export function planStats(plan: StepPlan, keys: AppKeys, trigger: CompiledActivity, input: Record<string, unknown>, jobId: string, now: Date): void {
  if (!trigger.statsMeasures || trigger.statsMeasures.length === 0) return;
  const jobKey = jobKeyOf(trigger, input);
  if (jobKey === undefined) return;
  const bucket = statsBucket(now, trigger.statsGranularityMinutes ?? 5);
  const hash = keys.stats(jobKey, bucket);
  plan.hashIncrements.push([hash, 'count', 1]);
  const scope = scopeFor(trigger, input);
  for (const { measure, target, path } of trigger.statsMeasures) {
    const value = evaluate(target, scope);
    if (value === undefined || value === null) continue;
    switch (measure) {
      case 'count':
        plan.hashIncrements.push([hash, `count:${path}:${String(value)}`, 1]);
        break;
      case 'sum':
      case 'avg': {
        const amount = Number(value);
        if (!Number.isFinite(amount)) break;
        plan.hashIncrements.push([hash, `${measure}:${path}`, amount]);
        if (measure === 'avg') plan.hashIncrements.push([hash, `avgcount:${path}`, 1]);
        break;
      }
      case 'index':
        plan.listPushes.push([keys.statsIndex(jobKey, '0', path, String(value)), jobId]);
        break;
    }
  }
}

/** Finds the graph whose hook rule `topic` targets. */
export function graphOfHookTopic(app: CompiledApp, topic: string): CompiledGraph | undefined {
  const rule = app.hookRules.get(topic)?.[0];
  if (!rule) return undefined;
  const target = app.activities.get(rule.to);
  return app.graphs.find((graph) => graph.index === target?.graphIndex);
}

/** Index list keys for `hookAll`: facets `'<path>:<value>'` under the job key rebuilt from `query`. */
export function resolveIndexKeys(app: CompiledApp, keys: AppKeys, hookTopic: string, query: Record<string, unknown>, facets: string[]): string[] {
  const graph = graphOfHookTopic(app, hookTopic);
  if (!graph) return [];
  return indexKeysOf(app, keys, graph, query, facets);
}

/** Index list keys of a graph for query data and facets. */
export function indexKeysOf(app: CompiledApp, keys: AppKeys, graph: CompiledGraph, query: Record<string, unknown>, facets: string[]): string[] {
  const trigger = app.activities.get(graph.triggerId)!;
  const jobKey = jobKeyOf(trigger, query);
  if (jobKey === undefined) return [];
  return facets.map((facet) => {
    const cut = facet.indexOf(':');
    return keys.statsIndex(jobKey, '0', facet.slice(0, cut), facet.slice(cut + 1));
  });
}
