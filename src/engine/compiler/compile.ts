import { createHash } from 'node:crypto';
import { ManifestError, type ManifestIssue } from '../errors.ts';
import { parseExpression, type Expr, type ExpressionIssue } from '../mapper/expression.ts';
import { isValidAppId } from '../store/keys.ts';
import { INLINE_FILE, loadManifest, type LoadedManifest } from './manifest-loader.ts';
import { parseRetryPolicy } from './retry-policy.ts';
import {
  ACTIVITY_TYPES,
  type ActivityType,
  type CompiledActivity,
  type CompiledApp,
  type CompiledGraph,
  type CompiledHookRule,
  type CompiledTransition,
} from './types.ts';

/** Seconds a finished job is kept when its graph sets no `expire`, as in HotMesh. */
export const DEFAULT_EXPIRE_SECONDS = 60;

const ACTIVITY_ID = /^[A-Za-z0-9_-]+$/;

// Keys of the graph language. An unknown key one or two edits away from
// one of these is almost surely a typo (`transition:`, `inputs:`) and is
// refused; other unknown keys are ignored, as HotMesh ignores them.
const APP_KEYS = ['id', 'version', 'settings', 'graphs', 'title', 'description'];
const GRAPH_KEYS = ['subscribes', 'publishes', 'expire', 'input', 'output', 'activities', 'transitions', 'hooks', 'persistent', 'title', 'description'];
const ACTIVITY_KEYS = [
  'title', 'description', 'type', 'subtype', 'topic', 'input', 'output', 'job', 'hook', 'telemetry', 'emit', 'sleep', 'expire',
  'retry', 'cycle', 'settings', 'stats', 'ancestor', 'await', 'signal', 'resolver', 'key_name', 'key_value', 'scrub', 'status',
  'code', 'target', 'reason', 'throw', 'descend', 'stack', 'statusThreshold', 'statusThresholdType', 'persist', 'timeout',
];

/** Returns the known word closest to `word` within two edits, if any. */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
const GRANULARITY_MINUTES: Record<string, number> = { '5m': 5, '10m': 10, '15m': 15, '30m': 30, '1h': 60, infinity: 0 };
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const TOPIC = /^[^\s{}*?[\]]+$/;

/** Loads, validates and compiles a manifest from a file path or YAML text. */
export function compileManifest(pathOrYaml: string): CompiledApp {
  return compileLoaded(loadManifest(pathOrYaml));
}

/** Compiles a normalized manifest as stored in Redis (already validated once). */
export function compileStored(manifest: Record<string, unknown>): CompiledApp {
  return compileLoaded({ value: { app: manifest }, file: INLINE_FILE, locate: () => ({ file: INLINE_FILE }) });
}

/** Validates and compiles a loaded manifest; throws ManifestError listing every issue. */
export function compileLoaded(loaded: LoadedManifest): CompiledApp {
  const compiler = new Compiler(loaded);
  const app = compiler.compile();
  if (compiler.issues.length > 0 || !app) throw new ManifestError(compiler.issues);
  return app;
}

/** Computes the content digest of a normalized manifest. */
export function digestManifest(manifest: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(manifest)).digest('hex')}`;
}

/** JSON with object keys sorted, so equal content always serializes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

class Compiler {
  readonly issues: ManifestIssue[] = [];
  private readonly loaded: LoadedManifest;
  private activityIds = new Set<string>();
  /** Activities already reported as invalid; their transitions add no further errors. */
  private readonly rejected = new Set<string>();

  constructor(loaded: LoadedManifest) {
    this.loaded = loaded;
  }

  private checkKeys(record: Record<string, unknown>, known: readonly string[], path: string, what: string): void {
    for (const key of Object.keys(record)) {
      if (known.includes(key)) continue;
      const suggestion = closestWord(key, known);
      if (suggestion !== undefined) this.issue(`${path}.${key}`, 'E_UNKNOWN_FIELD', `unknown ${what} field ${key}; did you mean ${suggestion}?`);
    }
  }

  issue(path: string, rule: string, message: string): void {
    const position = this.loaded.locate(path);
    this.issues.push({ file: position.file, path, line: position.line, rule, message });
  }

  compile(): CompiledApp | undefined {
    const root = this.loaded.value;
    if (!isRecord(root) || !isRecord(root.app)) {
      this.issue('app', 'E_SHAPE', `a manifest must be a map with an "app" map at the top; found ${describe(isRecord(root) ? root.app : root)}`);
      return undefined;
    }
    const app = root.app;
    this.checkKeys(app, APP_KEYS, 'app', 'app');
    const appId = this.checkAppId(app.id);
    const version = this.checkVersion(app.version);
    if (!Array.isArray(app.graphs) || app.graphs.length === 0) {
      this.issue('app.graphs', 'E_SHAPE', `app.graphs must be a non-empty list of graphs; found ${describe(app.graphs)}`);
      return undefined;
    }

    this.collectActivityIds(app.graphs);
    const graphs: CompiledGraph[] = [];
    const activities = new Map<string, CompiledActivity>();
    app.graphs.forEach((graph, index) => {
      const compiled = this.compileGraph(graph, index, activities);
      if (compiled) graphs.push(compiled);
    });

    const topics = new Map<string, CompiledGraph>();
    for (const graph of graphs) {
      if (topics.has(graph.subscribes)) {
        this.issue(`app.graphs[${graph.index}].subscribes`, 'E_DUPLICATE_TOPIC', `topic ${graph.subscribes} is subscribed by more than one graph`);
      }
      topics.set(graph.subscribes, graph);
    }
    this.checkAwaitTopics(activities, topics);

    const hookRules = new Map<string, CompiledHookRule[]>();
    for (const graph of graphs) {
      for (const rule of graph.hooks) hookRules.set(rule.topic, [...(hookRules.get(rule.topic) ?? []), rule]);
    }
    const workerTopics = [...new Set([...activities.values()]
      .filter((activity) => activity.type === 'worker' && activity.topic?.kind === 'literal')
      .map((activity) => String((activity.topic as { value: unknown }).value)))].sort();

    if (this.issues.length > 0 || appId === undefined || version === undefined) return undefined;
    const manifest = app as Record<string, unknown>;
    return { appId, version, digest: digestManifest(manifest), manifest, graphs, activities, topics, workerTopics, hookRules };
  }

  private checkAppId(value: unknown): string | undefined {
    if (typeof value !== 'string' || !isValidAppId(value)) {
      this.issue('app.id', 'E_APP_ID', `app.id must be a string of letters, digits, "-" and "_"; found ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  private checkVersion(value: unknown): string | undefined {
    if (typeof value !== 'string') {
      const written = this.loaded.locate('app.version').text;
      const hint = written !== undefined && typeof value === 'number'
        ? `; YAML reads the unquoted ${written} as a number${String(value) !== written ? ` (${value})` : ''}: quote it, version: '${written}'`
        : '; quote it';
      this.issue('app.version', 'E_VERSION_NOT_STRING', `app.version must be a string, found ${describe(value)}${hint}`);
      return undefined;
    }
    if (!VERSION.test(value)) {
      this.issue('app.version', 'E_VERSION', `app.version ${JSON.stringify(value)} must start with a letter or digit and use only letters, digits, ".", "_", "+" and "-"`);
      return undefined;
    }
    return value;
  }

  private collectActivityIds(graphs: unknown[]): void {
    const seen = new Map<string, string>();
    graphs.forEach((graph, index) => {
      if (!isRecord(graph) || !isRecord(graph.activities)) return;
      for (const id of Object.keys(graph.activities)) {
        const path = `app.graphs[${index}].activities.${id}`;
        const first = seen.get(id);
        if (first) this.issue(path, 'E_DUPLICATE_ACTIVITY', `activity id ${id} is already used at ${first}; ids must be unique across the app's graphs`);
        else seen.set(id, path);
        this.activityIds.add(id);
      }
    });
  }

  private expr(value: unknown, path: string): Expr {
    const issues: ExpressionIssue[] = [];
    const expr = parseExpression(value, { activityIds: this.activityIds, path, issues });
    for (const found of issues) this.issue(found.path, found.rule, found.message);
    return expr;
  }

  private optionalExpr(value: unknown, path: string): Expr | undefined {
    return value === undefined ? undefined : this.expr(value, path);
  }

  private compileGraph(graph: unknown, index: number, activities: Map<string, CompiledActivity>): CompiledGraph | undefined {
    const path = `app.graphs[${index}]`;
    if (!isRecord(graph)) {
      this.issue(path, 'E_SHAPE', `each graph must be a map; found ${describe(graph)}`);
      return undefined;
    }
    this.checkKeys(graph, GRAPH_KEYS, path, 'graph');
    const subscribes = graph.subscribes;
    if (typeof subscribes !== 'string' || !TOPIC.test(subscribes)) {
      this.issue(`${path}.subscribes`, 'E_TOPIC', `subscribes must be a topic string without spaces, braces or wildcards; found ${describe(subscribes)}`);
    }
    if (graph.publishes !== undefined && (typeof graph.publishes !== 'string' || !TOPIC.test(graph.publishes))) {
      this.issue(`${path}.publishes`, 'E_TOPIC', `publishes must be a topic string; found ${describe(graph.publishes)}`);
    }
    let expire = DEFAULT_EXPIRE_SECONDS;
    if (graph.expire !== undefined) {
      if (typeof graph.expire !== 'number' || !Number.isInteger(graph.expire) || graph.expire < -1) {
        this.issue(`${path}.expire`, 'E_EXPIRE', `expire must be a whole number of seconds, or -1 to keep jobs; found ${describe(graph.expire)}`);
      } else {
        expire = graph.expire;
      }
    }
    if (!isRecord(graph.activities) || Object.keys(graph.activities).length === 0) {
      this.issue(`${path}.activities`, 'E_SHAPE', `activities must be a non-empty map of activity id to activity; found ${describe(graph.activities)}`);
      return undefined;
    }
    if (graph.transitions !== undefined && !isRecord(graph.transitions)) {
      this.issue(`${path}.transitions`, 'E_SHAPE', `transitions must be a map of activity id to a list of rules; found ${describe(graph.transitions)}`);
    }

    const ids = Object.keys(graph.activities);
    const local = new Map<string, CompiledActivity>();
    for (const id of ids) {
      const compiled = this.compileActivity(graph.activities[id], id, index, `${path}.activities.${id}`);
      if (compiled) local.set(id, compiled);
    }
    const triggers = [...local.values()].filter((activity) => activity.type === 'trigger');
    if (triggers.length !== 1) {
      const found = triggers.length === 0 ? 'none' : triggers.map((activity) => activity.id).join(', ');
      this.issue(`${path}.activities`, 'E_TRIGGER_COUNT', `a graph needs exactly one activity of type trigger; found ${found}`);
    }
    this.compileTransitions(isRecord(graph.transitions) ? graph.transitions : {}, local, path);
    const hooks = this.compileHooks(graph.hooks, local, path);
    if (triggers.length === 1) this.computeAncestors(triggers[0], local, path);
    for (const [id, activity] of local) activities.set(id, activity);
    if (typeof subscribes !== 'string' || triggers.length !== 1) return undefined;
    return {
      index,
      subscribes,
      publishes: typeof graph.publishes === 'string' ? graph.publishes : undefined,
      expire,
      triggerId: triggers[0].id,
      activityIds: ids,
      hooks,
    };
  }

  private compileActivity(raw: unknown, id: string, graphIndex: number, path: string): CompiledActivity | undefined {
    if (!ACTIVITY_ID.test(id)) {
      this.issue(path, 'E_ACTIVITY_ID', `activity id ${JSON.stringify(id)} may use only letters, digits, "_" and "-"`);
    }
    if (!isRecord(raw)) {
      this.issue(path, 'E_SHAPE', `activity ${id} must be a map; found ${describe(raw)}`);
      this.rejected.add(id);
      return undefined;
    }
    this.checkKeys(raw, ACTIVITY_KEYS, path, 'activity');
    let type = raw.type;
    if (type === 'activity') type = 'hook';
    if (typeof type !== 'string' || !(ACTIVITY_TYPES as readonly string[]).includes(type)) {
      const closest = typeof type === 'string' ? closestWord(type, ACTIVITY_TYPES) : undefined;
      const hint = type === 'iterate' || type === 'emit'
        ? `; HotMesh declares "${type}" but never implemented it: use the emit: flag or a cycle instead`
        : closest ? `; did you mean ${closest}?` : '';
      const shown = typeof type === 'string' ? JSON.stringify(type) : describe(type);
      this.issue(`${path}.type`, 'E_UNKNOWN_ACTIVITY_TYPE', `unknown activity type ${shown}${hint} Types: ${ACTIVITY_TYPES.join(', ')}`);
      this.rejected.add(id);
      return undefined;
    }
    const activity: CompiledActivity = {
      id,
      type: type as ActivityType,
      graphIndex,
      path,
      title: typeof raw.title === 'string' ? raw.title : undefined,
      cycle: raw.cycle === true,
      transitions: [],
      ancestors: [],
    };
    const section = (name: string): Record<string, unknown> | undefined => {
      const value = raw[name];
      if (value === undefined) return undefined;
      if (!isRecord(value)) {
        this.issue(`${path}.${name}`, 'E_SHAPE', `${name} must be a map; found ${describe(value)}`);
        return undefined;
      }
      return value;
    };
    const input = section('input');
    const output = section('output');
    const job = section('job');
    if (input?.maps !== undefined) activity.inputMaps = this.mapsExpr(input.maps, `${path}.input.maps`);
    if (output?.maps !== undefined) activity.outputMaps = this.mapsExpr(output.maps, `${path}.output.maps`);
    if (job?.maps !== undefined) activity.jobMaps = this.mapsExpr(job.maps, `${path}.job.maps`);
    activity.emit = this.optionalExpr(raw.emit, `${path}.emit`);

    switch (activity.type) {
      case 'trigger': {
        const stats = section('stats');
        if (stats) {
          activity.statsId = this.optionalExpr(stats.id, `${path}.stats.id`);
          activity.statsKey = this.optionalExpr(stats.key, `${path}.stats.key`);
          this.compileStats(activity, stats, `${path}.stats`);
        }
        break;
      }
      case 'worker':
      case 'await':
        if (raw.topic === undefined || raw.topic === '') {
          this.issue(`${path}.topic`, 'E_TOPIC', `a${activity.type === 'await' ? 'n' : ''} ${activity.type} activity needs a topic`);
        } else if (typeof raw.topic !== 'string') {
          this.issue(`${path}.topic`, 'E_TOPIC', `topic must be a string; found ${describe(raw.topic)}`);
        } else {
          activity.topic = this.expr(raw.topic, `${path}.topic`);
          if (activity.topic.kind === 'literal' && !TOPIC.test(raw.topic)) {
            this.issue(`${path}.topic`, 'E_TOPIC', `topic ${JSON.stringify(raw.topic)} must not contain spaces, braces or wildcards`);
          }
          activity.subtype = raw.topic;
        }
        if (activity.type === 'worker' && raw.retry !== undefined) {
          activity.retry = parseRetryPolicy(raw.retry, `${path}.retry`, (issuePath, message) => this.issue(issuePath, 'E_RETRY', message));
        }
        if (activity.type === 'await' && raw.await !== undefined) activity.awaitResult = this.expr(raw.await, `${path}.await`);
        break;
      case 'hook':
        activity.sleep = this.optionalExpr(raw.sleep, `${path}.sleep`);
        break;
      case 'cycle':
        if (typeof raw.ancestor !== 'string' || raw.ancestor === '') {
          this.issue(`${path}.ancestor`, 'E_CYCLE_ANCESTOR', 'a cycle activity needs ancestor: the id of an earlier activity to re-enter');
        } else {
          activity.ancestor = raw.ancestor;
        }
        break;
      case 'signal': {
        const subtype = raw.subtype ?? 'one';
        if (subtype !== 'one' && subtype !== 'all') {
          this.issue(`${path}.subtype`, 'E_SIGNAL', `a signal activity's subtype must be one or all; found ${describe(subtype)}`);
        }
        activity.subtype = String(subtype);
        const signal = section('signal');
        const resolver = section('resolver');
        activity.signal = {
          topic: this.optionalExpr(raw.topic, `${path}.topic`),
          maps: signal?.maps === undefined ? undefined : this.mapsExpr(signal.maps, `${path}.signal.maps`),
          status: this.optionalExpr(raw.status, `${path}.status`),
          code: this.optionalExpr(raw.code, `${path}.code`),
          resolver: resolver?.maps === undefined ? undefined : this.mapsExpr(resolver.maps, `${path}.resolver.maps`),
          keyName: this.optionalExpr(raw.key_name, `${path}.key_name`),
          keyValue: this.optionalExpr(raw.key_value, `${path}.key_value`),
          scrub: this.optionalExpr(raw.scrub, `${path}.scrub`),
        };
        if (raw.topic === undefined) this.issue(`${path}.topic`, 'E_SIGNAL', 'a signal activity needs the hook topic to signal');
        break;
      }
      case 'interrupt':
        activity.interrupt = {
          target: this.optionalExpr(raw.target, `${path}.target`),
          reason: this.optionalExpr(raw.reason, `${path}.reason`),
          throw: this.optionalExpr(raw.throw, `${path}.throw`),
          descend: this.optionalExpr(raw.descend, `${path}.descend`),
          code: this.optionalExpr(raw.code, `${path}.code`),
        };
        break;
    }
    return activity;
  }

  private compileStats(activity: CompiledActivity, stats: Record<string, unknown>, path: string): void {
    const granularity = stats.granularity ?? '5m';
    const minutes = GRANULARITY_MINUTES[String(granularity)];
    if (minutes === undefined) {
      this.issue(`${path}.granularity`, 'E_STATS', `granularity must be one of ${Object.keys(GRANULARITY_MINUTES).join(', ')}; found ${describe(granularity)}`);
    }
    activity.statsGranularityMinutes = minutes ?? 5;
    if (stats.measures === undefined) return;
    if (!Array.isArray(stats.measures)) {
      this.issue(`${path}.measures`, 'E_STATS', `measures must be a list of {measure, target}; found ${describe(stats.measures)}`);
      return;
    }
    activity.statsMeasures = [];
    stats.measures.forEach((entry, index) => {
      const entryPath = `${path}.measures[${index}]`;
      if (!isRecord(entry) || typeof entry.target !== 'string') {
        this.issue(entryPath, 'E_STATS', 'each measure needs measure and a target reference such as {$self.input.data.color}');
        return;
      }
      const measure = entry.measure;
      if (measure !== 'count' && measure !== 'sum' && measure !== 'avg' && measure !== 'index') {
        const hint = measure === 'mdn' ? '; mdn (median) is not supported: HotMesh kept only one sample' : '';
        this.issue(`${entryPath}.measure`, 'E_STATS', `measure must be count, sum, avg or index; found ${describe(measure)}${hint}`);
        return;
      }
      const target = this.expr(entry.target, `${entryPath}.target`);
      const name = target.kind === 'ref' ? target.path[target.path.length - 1] : String(index);
      activity.statsMeasures!.push({ measure, target, path: name });
    });
  }

  private mapsExpr(value: unknown, path: string): Expr | undefined {
    if (!isRecord(value)) {
      this.issue(path, 'E_SHAPE', `maps must be a map of field to mapping; found ${describe(value)}`);
      return undefined;
    }
    return this.expr(value, path);
  }

  private compileTransitions(transitions: Record<string, unknown>, local: Map<string, CompiledActivity>, graphPath: string): void {
    for (const [from, rules] of Object.entries(transitions)) {
      const path = `${graphPath}.transitions.${from}`;
      const source = local.get(from);
      if (!source && this.rejected.has(from)) continue;
      if (!source) {
        const where = this.activityIds.has(from) ? 'belongs to another graph' : 'does not exist';
        this.issue(path, 'E_TRANSITION_FROM', `transition from activity ${from}, which ${where}`);
        continue;
      }
      if (!Array.isArray(rules)) {
        this.issue(path, 'E_SHAPE', `transitions of ${from} must be a list of {to, conditions} rules; found ${describe(rules)}`);
        continue;
      }
      rules.forEach((rule, index) => {
        const compiled = this.compileTransition(rule, `${path}[${index}]`, local);
        if (compiled) source.transitions.push(compiled);
      });
    }
  }

  private compileTransition(rule: unknown, path: string, local: Map<string, CompiledActivity>): CompiledTransition | undefined {
    if (!isRecord(rule) || typeof rule.to !== 'string') {
      this.issue(path, 'E_SHAPE', `a transition rule must be a map with a "to" activity id; found ${describe(rule)}`);
      return undefined;
    }
    if (!local.has(rule.to) && this.rejected.has(rule.to)) return undefined;
    if (!local.has(rule.to)) {
      const where = this.activityIds.has(rule.to) ? 'belongs to another graph' : 'does not exist';
      this.issue(`${path}.to`, 'E_TRANSITION_TO', `transition to activity ${rule.to}, which ${where}`);
      return undefined;
    }
    if (local.get(rule.to)?.type === 'trigger') {
      this.issue(`${path}.to`, 'E_TRANSITION_TO', `transition to ${rule.to}, a trigger; a trigger only starts a job`);
    }
    const conditions = rule.conditions;
    // A `code` beside `to` is honoured as if it were inside conditions;
    // HotMesh ignores it silently, which fires the rule on every code.
    const code = isRecord(conditions) && conditions.code !== undefined ? conditions.code : rule.code;
    if (conditions === undefined && code === undefined) {
      return { to: rule.to, unconditional: true, codes: [], gate: 'and', match: [] };
    }
    if (conditions !== undefined && !isRecord(conditions)) {
      this.issue(`${path}.conditions`, 'E_SHAPE', `conditions must be a map with code, gate and match; found ${describe(conditions)}`);
      return undefined;
    }
    const codes = this.codes(code, `${path}.conditions.code`);
    const gate = isRecord(conditions) ? conditions.gate ?? 'and' : 'and';
    if (gate !== 'and' && gate !== 'or') this.issue(`${path}.conditions.gate`, 'E_SHAPE', `gate must be and or or; found ${describe(gate)}`);
    const match: CompiledTransition['match'] = [];
    const rawMatch = isRecord(conditions) ? conditions.match : undefined;
    if (rawMatch !== undefined) {
      if (!Array.isArray(rawMatch)) {
        this.issue(`${path}.conditions.match`, 'E_SHAPE', `match must be a list of {expected, actual}; found ${describe(rawMatch)}`);
      } else {
        rawMatch.forEach((entry, index) => {
          const entryPath = `${path}.conditions.match[${index}]`;
          if (!isRecord(entry) || !('actual' in entry)) {
            this.issue(entryPath, 'E_SHAPE', 'each match entry needs expected and actual');
            return;
          }
          match.push({ expected: this.expr(entry.expected, `${entryPath}.expected`), actual: this.expr(entry.actual, `${entryPath}.actual`) });
        });
      }
    }
    return { to: rule.to, unconditional: false, codes, gate: gate === 'or' ? 'or' : 'and', match };
  }

  private codes(value: unknown, path: string): string[] {
    if (value === undefined) return ['200'];
    const list = Array.isArray(value) ? value : [value];
    const codes: string[] = [];
    for (const item of list) {
      const text = String(item);
      if ((typeof item !== 'number' && typeof item !== 'string') || !/^[1-9][0-9*]{2}$/.test(text)) {
        this.issue(path, 'E_CODE', `a status code must be three digits or a pattern such as 4**; found ${describe(item)}`);
        continue;
      }
      codes.push(text);
    }
    return codes;
  }

  private compileHooks(hooks: unknown, local: Map<string, CompiledActivity>, graphPath: string): CompiledHookRule[] {
    if (hooks === undefined) return [];
    const path = `${graphPath}.hooks`;
    if (!isRecord(hooks)) {
      this.issue(path, 'E_SHAPE', `hooks must be a map of hook topic to rules; found ${describe(hooks)}`);
      return [];
    }
    const rules: CompiledHookRule[] = [];
    for (const [topic, list] of Object.entries(hooks)) {
      const topicPath = `${path}.${topic}`;
      if (!Array.isArray(list) || list.length === 0) {
        this.issue(topicPath, 'E_SHAPE', `hook topic ${topic} needs a list of {to, conditions} rules`);
        continue;
      }
      list.forEach((rule, index) => {
        const rulePath = `${topicPath}[${index}]`;
        if (!isRecord(rule) || typeof rule.to !== 'string') {
          this.issue(rulePath, 'E_SHAPE', 'a hook rule must be a map with a "to" activity id');
          return;
        }
        const target = local.get(rule.to);
        if (!target) {
          this.issue(`${rulePath}.to`, 'E_HOOK_RULE', `hook rule targets activity ${rule.to}, which does not exist in this graph`);
          return;
        }
        if (target.type !== 'hook') {
          this.issue(`${rulePath}.to`, 'E_HOOK_RULE', `hook rule targets ${rule.to}, a ${target.type}; only hook activities can wait for a signal`);
          return;
        }
        target.hookTopic = topic;
        const match = isRecord(rule.conditions) && Array.isArray(rule.conditions.match) ? rule.conditions.match[0] : undefined;
        const matchPath = `${rulePath}.conditions.match[0]`;
        rules.push({
          topic,
          to: rule.to,
          expected: isRecord(match) ? this.expr(match.expected, `${matchPath}.expected`) : undefined,
          actual: isRecord(match) ? this.expr(match.actual, `${matchPath}.actual`) : undefined,
        });
      });
    }
    return rules;
  }

  // Walks the graph from its trigger, recording each activity's ancestors and
  // checking that every cycle re-enters one of its own ancestors.
  private computeAncestors(trigger: CompiledActivity, local: Map<string, CompiledActivity>, graphPath: string): void {
    const visited = new Set<string>();
    const visit = (activity: CompiledActivity, ancestors: string[]): void => {
      if (visited.has(activity.id)) return;
      visited.add(activity.id);
      activity.ancestors = ancestors;
      for (const transition of activity.transitions) {
        const child = local.get(transition.to);
        if (child) visit(child, [...ancestors, activity.id]);
      }
    };
    visit(trigger, []);
    for (const activity of local.values()) {
      if (activity.type === 'cycle' && activity.ancestor !== undefined) {
        const target = local.get(activity.ancestor);
        if (!target || !activity.ancestors.includes(activity.ancestor)) {
          this.issue(`${activity.path}.ancestor`, 'E_CYCLE_ANCESTOR', `cycle ${activity.id} re-enters ${activity.ancestor}, which is not one of its ancestors in ${graphPath}`);
          continue;
        }
        target.cycle = true;
      }
    }
  }

  private checkAwaitTopics(activities: Map<string, CompiledActivity>, topics: Map<string, CompiledGraph>): void {
    for (const activity of activities.values()) {
      if (activity.type !== 'await' || activity.topic?.kind !== 'literal') continue;
      const topic = String(activity.topic.value);
      if (!topics.has(topic)) {
        this.issue(`${activity.path}.topic`, 'E_AWAIT_TOPIC', `await topic ${topic} is not subscribed by any graph of this app`);
      }
    }
  }
}
