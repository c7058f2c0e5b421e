import type { Expr } from '../mapper/expression.ts';

/** Activity types of the graph language. `activity` is accepted as an alias of `hook`. */
export const ACTIVITY_TYPES = ['trigger', 'worker', 'await', 'hook', 'cycle', 'signal', 'interrupt'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/** How a worker activity retries an error response; every interval is in ms. */
export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** Codes that retry: exact numbers or patterns such as `5**`. */
  retryOn: string[];
}

/** A compiled transition rule. */
export interface CompiledTransition {
  to: string;
  /** True when the rule has no conditions: it fires for every code, as in HotMesh. */
  unconditional: boolean;
  /** Codes the leg must end with, as patterns (`200`, `4**`); defaults to 200. */
  codes: string[];
  gate: 'and' | 'or';
  match: Array<{ expected: Expr; actual: Expr }>;
}

/** A webhook routing rule from a graph's `hooks:` section. */
export interface CompiledHookRule {
  topic: string;
  to: string;
  /** Resolved against the parked job when the hook parks. */
  expected: Expr | undefined;
  /** Resolved against the signal payload when `hook()` is called. */
  actual: Expr | undefined;
}

export interface CompiledActivity {
  id: string;
  type: ActivityType;
  /** `one` or `all` for signal activities; the topic for worker and await. */
  subtype?: string;
  graphIndex: number;
  /** YAML path of the activity, for runtime error messages. */
  path: string;
  title?: string;
  topic?: Expr;
  inputMaps?: Expr;
  outputMaps?: Expr;
  jobMaps?: Expr;
  statsId?: Expr;
  statsKey?: Expr;
  /** Time bucket of statistics, minutes; 0 for one bucket forever (`infinity`). */
  statsGranularityMinutes?: number;
  statsMeasures?: Array<{ measure: 'count' | 'sum' | 'avg' | 'index'; target: Expr; path: string }>;
  emit?: Expr;
  sleep?: Expr;
  retry?: RetryPolicy;
  /** `await: false` starts a detached child. */
  awaitResult?: Expr;
  /** True for an activity a `cycle` re-enters; its leg 2 stays open. */
  cycle: boolean;
  /** For `cycle` activities: the ancestor to re-enter. */
  ancestor?: string;
  /** For hooks that are targets of a `hooks:` rule. */
  hookTopic?: string;
  /** For signal activities: the signal payload and, for `all`, the resolver. */
  signal?: {
    topic?: Expr;
    maps?: Expr;
    status?: Expr;
    code?: Expr;
    resolver?: Expr;
    keyName?: Expr;
    keyValue?: Expr;
    scrub?: Expr;
  };
  /** For interrupt activities. */
  interrupt?: { target?: Expr; reason?: Expr; throw?: Expr; descend?: Expr; code?: Expr };
  transitions: CompiledTransition[];
  /** Activity ids from the trigger down to this activity's parent. */
  ancestors: string[];
}

export interface CompiledGraph {
  index: number;
  subscribes: string;
  publishes?: string;
  /** Seconds to keep a finished job; -1 keeps it. */
  expire: number;
  triggerId: string;
  activityIds: string[];
  hooks: CompiledHookRule[];
}

/** A version of an app, compiled and ready to run. */
export interface CompiledApp {
  appId: string;
  version: string;
  /** `sha256:<hex>` of the normalized manifest; equal content, equal digest. */
  digest: string;
  /** The normalized manifest (`$ref`s merged); what is stored in Redis. */
  manifest: Record<string, unknown>;
  graphs: CompiledGraph[];
  activities: Map<string, CompiledActivity>;
  /** `subscribes` topic → graph. */
  topics: Map<string, CompiledGraph>;
  /** Literal worker topics, whose streams get a consumer group at deploy. */
  workerTopics: string[];
  /** Hook topic → rules, from every graph. */
  hookRules: Map<string, CompiledHookRule[]>;
}
