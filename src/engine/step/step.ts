import { randomBytes } from 'node:crypto';
import { codeMatches, DEFAULT_RETRY_POLICY, retryDelayMs } from '../compiler/retry-policy.ts';
import type { CompiledActivity, CompiledApp, CompiledGraph, CompiledTransition } from '../compiler/types.ts';
import { evaluate } from '../mapper/evaluate.ts';
import type { EngineMessage, LegStatus, WorkMessage } from '../messages.ts';
import type { AppKeys } from '../store/keys.ts';
import { decodeJobOutput, pairsToRecord, STATUS_FIELD } from '../store/job-codec.ts';
import { dimensionOf, JobState, withLastIndex, type ActivityRecord } from './job-state.ts';
import { StepPlan } from './plan.ts';
import { planStats } from '../stats.ts';

/** Environment of a step. The clock is a seam for tests. */
export interface StepEnvironment {
  app: CompiledApp;
  keys: AppKeys;
  now: () => Date;
  /** Most activities one step runs before it queues the rest as transition messages. */
  eagerLimit: number;
}

// Ids are a random per-process prefix (64 bits) plus a counter: unique
// across processes and restarts without a random draw per id.
const ID_PREFIX = randomBytes(8).toString('base64url');
let idCounter = 0;

/** Returns a new unique message or job id, URL-safe. */
export function newId(): string {
  idCounter++;
  return `${ID_PREFIX}${Date.now().toString(36)}${idCounter.toString(36)}`;
}

/** Options of a job start. */
export interface TriggerOptions {
  /** Process channel to publish the result to (a `pubsub` caller). */
  ngn?: string;
  /** Parent activity, for a child job started by `await`. */
  parent?: { jid: string; aid: string; dad: string; detached: boolean };
  /** Id of the message that starts the job, so a redelivery is a no-op. */
  messageId?: string;
  /** Job id given by the caller; overrides `stats.id`. */
  jobId?: string;
  /** Refuse to start unless the version is the active one. */
  requireActive: boolean;
}

const DEFAULT_ERROR_CODE = 500;

/**
 * One engine step on one job: it runs activities in memory, as far as they go
 * without waiting, and collects every write into a StepPlan that
 * `commit-step` applies atomically.
 */
export class Step {
  readonly env: StepEnvironment;
  readonly job: JobState;
  readonly plan: StepPlan;
  private budget: number;
  private emitting = false;
  private interrupted = false;
  private readonly nowIso: string;

  constructor(env: StepEnvironment, job: JobState) {
    this.env = env;
    this.job = job;
    this.plan = job.plan;
    this.budget = env.eagerLimit;
    this.nowIso = env.now().toISOString();
  }

  private get app(): CompiledApp {
    return this.env.app;
  }

  private graphOf(activity: CompiledActivity): CompiledGraph {
    return this.app.graphs.find((graph) => graph.index === activity.graphIndex)!;
  }

  // ---- scopes --------------------------------------------------------------

  private scope(activity: CompiledActivity, dad: string, self?: { input?: unknown; hook?: unknown }) {
    return (root: string): unknown => {
      switch (root) {
        case '$job':
          return { data: this.job.data, metadata: this.job.metadata };
        case '$self':
          return this.view(activity, dad, self);
        case '$hook':
          return { data: self?.hook ?? this.job.activity(activity.id, dad)?.h };
        case '$app':
          return { id: this.app.appId, version: this.app.version };
        case '$graph': {
          const graph = this.graphOf(activity);
          return { subscribes: graph.subscribes, publishes: graph.publishes };
        }
        default: {
          const target = this.app.activities.get(root);
          if (!target) return undefined;
          return this.view(target, dimensionOf(this.app, this.job, root, activity, dad));
        }
      }
    };
  }

  private view(activity: CompiledActivity, dad: string, self?: { input?: unknown; hook?: unknown }): unknown {
    const record: ActivityRecord = this.job.activity(activity.id, dad) ?? {};
    return {
      // A trigger's input is its output, stored once.
      input: { data: self?.input ?? record.i ?? (activity.type === 'trigger' ? record.o : undefined) },
      output: {
        data: record.o,
        metadata: { aid: activity.id, dad, atp: activity.type, stp: activity.subtype, au: record.t, err: record.e, code: record.c },
      },
      hook: { data: self?.hook ?? record.h },
    };
  }

  private evaluateMaps(expr: CompiledActivity['jobMaps'], activity: CompiledActivity, dad: string, self?: { input?: unknown; hook?: unknown }): Record<string, unknown> {
    if (!expr) return {};
    const value = evaluate(expr, this.scope(activity, dad, self));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  }

  // ---- starting a job ------------------------------------------------------

  /** Plans the creation of a job through its graph's trigger. */
  trigger(graph: CompiledGraph, input: Record<string, unknown>, options: TriggerOptions): void {
    const trigger = this.app.activities.get(graph.triggerId)!;
    const dad = ',0';
    const self = { input };
    this.job.setActivity(trigger.id, dad, { o: input, c: 200, t: this.nowIso });
    const meta = this.job;
    meta.setMetadata('jid', this.job.jobId);
    meta.setMetadata('aid', trigger.id);
    meta.setMetadata('app', this.app.appId);
    meta.setMetadata('vrs', this.app.version);
    meta.setMetadata('tpc', graph.subscribes);
    meta.setMetadata('jc', this.nowIso);
    meta.setMetadata('ju', this.nowIso);
    if (trigger.statsKey) {
      const key = evaluate(trigger.statsKey, this.scope(trigger, dad, self));
      if (key !== undefined && key !== null) meta.setMetadata('key', String(key));
    }
    if (options.ngn) meta.setMetadata('ngn', options.ngn);
    planStats(this.plan, this.env.keys, trigger, input, this.job.jobId, this.env.now());
    if (options.parent) {
      meta.setMetadata('pj', options.parent.jid);
      meta.setMetadata('pa', options.parent.aid);
      meta.setMetadata('pd', options.parent.dad);
      if (options.parent.detached) meta.setMetadata('px', true);
    }
    this.plan.create = { version: this.app.version, requireActive: options.requireActive };
    if (options.messageId) this.plan.messageId = options.messageId;
    this.job.setLegState(trigger.id, dad, 'd');

    this.job.mergeData(this.evaluateMaps(trigger.jobMaps, trigger, dad, self));
    const children = this.matchTransitions(trigger, dad, 200, self);
    this.plan.statusDelta += children.length;
    this.checkEmit(trigger, dad, self);
    for (const child of children) this.enter(child, `${dad},0`);
    this.finishPlan();
  }

  /** Evaluates `stats.id` for a job about to start; undefined when the graph sets none. */
  static resolveJobId(app: CompiledApp, graph: CompiledGraph, input: Record<string, unknown>): string | undefined {
    const trigger = app.activities.get(graph.triggerId)!;
    if (!trigger.statsId) return undefined;
    const scope = (root: string): unknown => {
      const view = { input: { data: input }, output: { data: input } };
      if (root === '$self' || root === trigger.id) return view;
      return undefined;
    };
    const id = evaluate(trigger.statsId, scope);
    return id === undefined || id === null || id === '' ? undefined : String(id);
  }

  // ---- leg 1 ---------------------------------------------------------------

  /** Runs leg 1 of an activity, or queues it when this step has run enough. */
  enter(aid: string, dad: string): void {
    const activity = this.app.activities.get(aid)!;
    if (this.budget <= 0) {
      this.job.setLegState(aid, dad, 'q');
      this.plan.xadd(this.env.keys.engineStream(), { t: 'transition', jid: this.job.jobId, aid, dad, mid: newId() } satisfies EngineMessage);
      return;
    }
    this.budget--;
    switch (activity.type) {
      case 'worker':
        this.dispatchWork(activity, dad, 1);
        break;
      case 'await':
        this.startChild(activity, dad);
        break;
      case 'hook':
        this.enterHook(activity, dad);
        break;
      case 'cycle':
        this.enterCycle(activity, dad);
        break;
      case 'signal':
        this.sendSignal(activity, dad);
        this.complete(activity, dad, { status: 'success', code: 200, data: this.evaluateMaps(activity.outputMaps, activity, dad) });
        break;
      case 'interrupt':
        this.enterInterrupt(activity, dad);
        break;
      default:
        this.complete(activity, dad, { status: 'success', code: 200, data: this.evaluateMaps(activity.outputMaps, activity, dad) });
    }
  }

  private sendSignal(activity: CompiledActivity, dad: string): void {
    const signal = activity.signal!;
    const scope = this.scope(activity, dad);
    const topic = String(evaluate(signal.topic!, scope));
    const data = this.evaluateMaps(signal.maps, activity, dad);
    const code = signal.code ? Number(evaluate(signal.code, scope)) : 200;
    const status = signal.status ? String(evaluate(signal.status, scope)) as LegStatus : code === 202 ? 'pending' : 'success';
    const engine = this.env.keys.engineStream();
    if (activity.subtype === 'all') {
      const resolver = this.evaluateMaps(signal.resolver, activity, dad);
      const keyName = signal.keyName ? evaluate(signal.keyName, scope) : undefined;
      const keyValue = signal.keyValue ? evaluate(signal.keyValue, scope) : undefined;
      const scrub = signal.scrub ? Boolean(evaluate(signal.scrub, scope)) : Boolean(resolver.scrub);
      const facets = keyName !== undefined ? [`${String(keyName)}:${String(keyValue)}`] : [];
      const query = isRecord(resolver.data) ? resolver.data : resolver;
      this.plan.xadd(engine, { t: 'hookAll', mid: newId(), tpc: topic, d: data, q: query, facets, scrub, vrs: this.app.version } satisfies EngineMessage);
      return;
    }
    const key = hookKey(this.app, topic, data);
    if (key === undefined) {
      this.job.setActivity(activity.id, dad, { e: { message: `no hook rule of version ${this.app.version} listens to topic ${topic}`, code: 404 }, t: this.nowIso });
      return;
    }
    this.plan.xadd(engine, { t: 'webhook', mid: newId(), tpc: topic, key, d: data, st: status, c: code } satisfies EngineMessage);
  }

  private enterInterrupt(activity: CompiledActivity, dad: string): void {
    const spec = activity.interrupt ?? {};
    const scope = this.scope(activity, dad);
    const target = spec.target ? String(evaluate(spec.target, scope)) : this.job.jobId;
    const options = {
      reason: spec.reason ? String(evaluate(spec.reason, scope)) : undefined,
      code: spec.code ? Number(evaluate(spec.code, scope)) : undefined,
      throw: spec.throw ? evaluate(spec.throw, scope) !== false : true,
      descend: spec.descend ? Boolean(evaluate(spec.descend, scope)) : false,
    };
    const engine = this.env.keys.engineStream();
    if (target !== this.job.jobId) {
      this.plan.xadd(engine, { t: 'interrupt', mid: newId(), jid: target, ...options } satisfies EngineMessage);
      this.complete(activity, dad, { status: 'success', code: 200, data: this.evaluateMaps(activity.outputMaps, activity, dad) });
      return;
    }
    // Interrupting itself: job maps apply first, then the job ends.
    this.job.setActivity(activity.id, dad, { o: this.evaluateMaps(activity.outputMaps, activity, dad), c: 200, t: this.nowIso });
    this.job.mergeData(this.evaluateMaps(activity.jobMaps, activity, dad));
    this.job.setLegState(activity.id, dad, 'd');
    if (options.descend) this.plan.xadd(engine, { t: 'interrupt', mid: newId(), jid: this.job.jobId, ...options, children: true } satisfies EngineMessage);
    this.forceFinish(options);
  }

  private dispatchWork(activity: CompiledActivity, dad: string, attempt: number): void {
    const input = this.evaluateMaps(activity.inputMaps, activity, dad);
    const topic = String(evaluate(activity.topic!, this.scope(activity, dad)));
    const message: WorkMessage = { jid: this.job.jobId, aid: activity.id, dad, tpc: topic, n: attempt, d: input };
    this.plan.xadd(this.env.keys.workerStream(topic), message, 'state');
    this.job.setLegState(activity.id, dad, `w${attempt}`);
  }

  private startChild(activity: CompiledActivity, dad: string): void {
    const input = this.evaluateMaps(activity.inputMaps, activity, dad);
    const topic = String(evaluate(activity.topic!, this.scope(activity, dad)));
    const detached = activity.awaitResult !== undefined && evaluate(activity.awaitResult, this.scope(activity, dad)) === false;
    const message: EngineMessage = { t: 'await', jid: this.job.jobId, aid: activity.id, dad, mid: newId(), vrs: this.app.version, tpc: topic, d: input, detached };
    this.plan.xadd(this.env.keys.engineStream(), message);
    this.job.setLegState(activity.id, dad, 'w1');
  }

  private enterHook(activity: CompiledActivity, dad: string): void {
    if (activity.hookTopic !== undefined) {
      this.parkWebhook(activity, dad);
      return;
    }
    if (activity.sleep) {
      const seconds = Number(evaluate(activity.sleep, this.scope(activity, dad)));
      if (Number.isFinite(seconds) && seconds > 0) {
        this.job.setActivity(activity.id, dad, { o: this.evaluateMaps(activity.outputMaps, activity, dad), t: this.nowIso });
        this.job.mergeData(this.evaluateMaps(activity.jobMaps, activity, dad));
        this.plan.addTimer(seconds * 1000, { t: 'wake', jid: this.job.jobId, aid: activity.id, dad, mid: newId() } satisfies EngineMessage);
        this.job.setLegState(activity.id, dad, 'w1');
        return;
      }
    }
    // A pass-through leg counts as the first entry of leg 2, so a cycle that
    // re-enters this activity opens dimension 1, not 0 again.
    if (activity.cycle) this.job.setReentries(activity.id, dad, 1);
    this.complete(activity, dad, { status: 'success', code: 200, data: this.evaluateMaps(activity.outputMaps, activity, dad) });
  }

  // Registers the hook under `<topic>:<expected>` so `hook()` can find it;
  // a signal that came before is moved to the stream by the same script.
  private parkWebhook(activity: CompiledActivity, dad: string): void {
    const graph = this.graphOf(activity);
    const rule = graph.hooks.find((candidate) => candidate.to === activity.id)!;
    const expected = rule.expected ? evaluate(rule.expected, this.scope(activity, dad)) : this.job.jobId;
    const field = `${rule.topic}:${String(expected)}`;
    const registration: HookRegistration = { jid: this.job.jobId, aid: activity.id, dad };
    this.job.setActivity(activity.id, dad, { o: this.evaluateMaps(activity.outputMaps, activity, dad), t: this.nowIso });
    this.job.mergeData(this.evaluateMaps(activity.jobMaps, activity, dad));
    this.plan.parks.push({ field, registration: JSON.stringify(registration) });
    this.plan.set(`g/${field}`, '1');
    this.plan.cleanSignals = true;
    this.job.setLegState(activity.id, dad, 'w1');
  }

  private enterCycle(activity: CompiledActivity, dad: string): void {
    const ancestor = activity.ancestor!;
    const depth = activity.ancestors.indexOf(ancestor) + 1;
    const segments = dad.split(',').slice(1, depth + 1);
    const ancestorDad = withLastIndex(`,${segments.join(',')}`, 0);
    const data = this.evaluateMaps(activity.inputMaps, activity, dad);
    this.job.setActivity(activity.id, dad, { o: data, c: 200, t: this.nowIso });
    this.job.setLegState(activity.id, dad, 'd');
    // The cycle hands its token to the ancestor, so the status does not change.
    this.plan.xadd(this.env.keys.engineStream(), { t: 'cycle', jid: this.job.jobId, aid: ancestor, dad: ancestorDad, mid: newId(), d: data } satisfies EngineMessage);
  }

  // ---- leg 2 ---------------------------------------------------------------

  /** Plans the effect of one engine-stream message addressed to an activity of this job. */
  apply(message: ActivityMessage): void {
    const activity = this.app.activities.get(message.aid);
    if (!activity) throw new Error(`activity ${message.aid} is not part of version ${this.app.version} of app ${this.app.appId}`);
    this.plan.messageId = message.mid;
    switch (message.t) {
      case 'transition':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, ['q']]);
        this.enter(message.aid, message.dad);
        break;
      case 'response':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, [`w${message.n}`, `p${message.n}`]]);
        this.onResponse(activity, message.dad, message.n, message.st, message.c, message.d);
        break;
      case 'retry':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, [`w${message.n}`]]);
        this.dispatchWork(activity, message.dad, message.n);
        break;
      case 'wake':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, ['w1']]);
        this.reenter(activity, message.dad, { status: 'success', code: 200, hook: { timestamp: this.nowIso } });
        break;
      case 'result':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, ['w1', 'p1']]);
        this.onChildResult(activity, message.dad, message.st, message.c, message.s ?? [], message.d);
        break;
      case 'cycle':
        this.plan.guards.push([`s/${message.aid}${message.dad}`, ['o']]);
        this.reenter(activity, message.dad, { status: 'success', code: 200, data: message.d });
        break;
    }
    this.finishPlan();
  }

  /**
   * Delivers a signal to a parked hook. Code 202 (pending) keeps the hook
   * registered for more signals; any other code resolves it once.
   */
  applyWebhook(registration: HookRegistration, field: string, message: Extract<EngineMessage, { t: 'webhook' }>): void {
    const activity = this.app.activities.get(registration.aid);
    if (!activity) throw new Error(`hook activity ${registration.aid} is not part of version ${this.app.version} of app ${this.app.appId}`);
    this.plan.messageId = message.mid;
    this.plan.guards.push([`s/${registration.aid}${registration.dad}`, ['w1', 'p1']]);
    const pending = message.st === 'pending' || message.c === 202;
    if (pending) {
      this.job.setLegState(activity.id, registration.dad, 'p1');
      // Registering again takes the next early signal, if one is waiting.
      this.plan.parks.push({ field, registration: JSON.stringify(registration) });
    } else {
      this.plan.hashDeletes.push([this.env.keys.signals(), field]);
      this.plan.deleted.add(`g/${field}`);
    }
    this.reenter(activity, registration.dad, { status: pending ? 'pending' : message.st, code: message.c, hook: message.d, attempt: 1 });
    this.finishPlan();
  }

  /** Ends the job now with an interruption, whatever is still open. */
  interrupt(options: { reason?: string; code?: number; throw?: boolean }): void {
    this.forceFinish(options);
    this.finishPlan();
  }

  private forceFinish(options: { reason?: string; code?: number; throw?: boolean }): void {
    if (options.throw !== false) {
      this.job.setMetadata('err', { message: options.reason ?? `job ${this.job.jobId} interrupted`, code: options.code ?? 410, kind: 'E_INTERRUPTED' });
    }
    this.job.setMetadata('ju', this.nowIso);
    // Far below zero, as in HotMesh, so no late step can bring it back above.
    if (this.plan.create) {
      this.plan.statusDelta = -INTERRUPTED_OFFSET;
    } else {
      const current = Number(this.job.fields[STATUS_FIELD] ?? 0);
      this.plan.checks.push([STATUS_FIELD, String(current)]);
      this.plan.statusDelta = -current - INTERRUPTED_OFFSET;
    }
    this.interrupted = true;
    // Nothing else runs in this step; anything already queued is dropped
    // when it arrives, because the job is done.
    this.budget = 0;
  }

  private onResponse(activity: CompiledActivity, dad: string, attempt: number, status: LegStatus, code: number, data: unknown): void {
    if (status === 'error') {
      const policy = activity.retry ?? DEFAULT_RETRY_POLICY;
      const retryable = policy.retryOn.some((pattern) => codeMatches(code, pattern));
      if (retryable && attempt < policy.maximumAttempts) {
        const next = attempt + 1;
        this.job.setLegState(activity.id, dad, `w${next}`);
        this.job.setActivity(activity.id, dad, { e: errorOf(data, code), c: code, t: this.nowIso });
        this.plan.addTimer(retryDelayMs(policy, next), { t: 'retry', jid: this.job.jobId, aid: activity.id, dad, n: next, mid: newId() } satisfies EngineMessage);
        return;
      }
    }
    this.reenter(activity, dad, { status, code, data, attempt });
  }

  private onChildResult(activity: CompiledActivity, dad: string, status: LegStatus, code: number, snapshot: string[], direct?: unknown): void {
    const child = decodeJobOutput(pairsToRecord(snapshot));
    const data = direct !== undefined ? direct : status === 'error' ? child.metadata.err ?? { message: 'child job failed', code } : child.data;
    this.reenter(activity, dad, { status, code, data });
  }

  /**
   * Enters leg 2 of an activity. Each entry after the first opens a new
   * dimension (`,0,0` → `,0,1`), so a pending response, a re-entered cycle or
   * a repeated signal never overwrites the branch of an earlier one.
   */
  private reenter(activity: CompiledActivity, dad: string, outcome: { status: LegStatus; code: number; data?: unknown; hook?: unknown; attempt?: number }): void {
    const entries = this.job.reentries(activity.id, dad);
    this.plan.checks.push([`r/${activity.id}${dad}`, entries === 0 ? '' : String(entries)]);
    this.job.setReentries(activity.id, dad, entries + 1);
    const resolvedDad = entries === 0 ? dad : withLastIndex(dad, entries);
    if (outcome.status === 'pending' && outcome.attempt !== undefined) {
      this.job.setLegState(activity.id, dad, `p${outcome.attempt}`);
    }
    this.complete(activity, resolvedDad, outcome, dad);
  }

  /**
   * Finishes a leg: stores the output, applies job maps, and runs the
   * children whose transition conditions match the code.
   */
  private complete(
    activity: CompiledActivity,
    dad: string,
    outcome: { status: LegStatus; code: number; data?: unknown; hook?: unknown },
    legDad: string = dad,
  ): void {
    const self = { hook: outcome.hook };
    const record: ActivityRecord = { ...(this.job.activity(activity.id, dad) ?? {}), c: outcome.code, t: this.nowIso };
    delete record.e;
    if (outcome.status === 'error') {
      record.e = errorOf(outcome.data, outcome.code);
      // An error that a conditional transition routes (an error branch) is
      // handled: it stays on the activity. Otherwise the job fails with it.
      if (!this.errorIsRouted(activity, outcome.code)) this.job.setMetadata('err', record.e);
    } else if (outcome.data !== undefined) {
      record.o = outcome.data;
    }
    if (outcome.hook !== undefined) record.h = outcome.hook;
    this.job.setActivity(activity.id, dad, record);

    if (activity.type === 'hook' && activity.outputMaps && outcome.hook !== undefined) {
      record.o = { ...(isRecord(record.o) ? record.o : {}), ...this.evaluateMaps(activity.outputMaps, activity, dad, self) };
      this.job.setActivity(activity.id, dad, record);
    }
    if (outcome.status !== 'error') this.job.mergeData(this.evaluateMaps(activity.jobMaps, activity, dad, self));
    this.job.setMetadata('ju', this.nowIso);

    const pending = outcome.status === 'pending';
    if (!pending) this.job.setLegState(activity.id, legDad, activity.cycle ? 'o' : 'd');
    const children = this.matchTransitions(activity, dad, outcome.code, self);
    this.plan.statusDelta += pending ? children.length : children.length - 1;
    this.checkEmit(activity, dad, self);
    for (const child of children) this.enter(child, `${dad},0`);
  }

  private errorIsRouted(activity: CompiledActivity, code: number): boolean {
    return activity.transitions.some((transition) => !transition.unconditional && transition.codes.some((pattern) => codeMatches(code, pattern)));
  }

  private matchTransitions(activity: CompiledActivity, dad: string, code: number, self?: { input?: unknown; hook?: unknown }): string[] {
    const children: string[] = [];
    for (const transition of activity.transitions) {
      if (this.transitionFires(transition, activity, dad, code, self)) children.push(transition.to);
    }
    return children;
  }

  private transitionFires(transition: CompiledTransition, activity: CompiledActivity, dad: string, code: number, self?: { input?: unknown; hook?: unknown }): boolean {
    if (transition.unconditional) return true;
    if (!transition.codes.some((pattern) => codeMatches(code, pattern))) return false;
    if (transition.match.length === 0) return true;
    const scope = this.scope(activity, dad, self);
    const results = transition.match.map(({ expected, actual }) => evaluate(expected, scope) === evaluate(actual, scope));
    return transition.gate === 'or' ? results.some(Boolean) : results.every(Boolean);
  }

  private checkEmit(activity: CompiledActivity, dad: string, self?: { input?: unknown; hook?: unknown }): void {
    if (!activity.emit) return;
    if (evaluate(activity.emit, this.scope(activity, dad, self))) {
      this.emitting = true;
      // The snapshot is taken when the step commits, so children queue
      // instead of running now: the emit shows the job as of this activity.
      this.budget = 0;
    }
  }

  // ---- completion ----------------------------------------------------------

  /**
   * Adds what happens when the job completes (applied by the script only if
   * the status ends at zero or below) and, when an activity asked to emit,
   * the interim publication.
   */
  finishPlan(): void {
    if (Object.keys(this.job.fields).some((field) => field.startsWith('g/'))) this.plan.cleanSignals = true;
    const keys = this.env.keys;
    const meta = this.job.metadata;
    const graph = this.app.topics.get(String(meta.tpc));
    const channels: string[] = [];
    if (typeof meta.ngn === 'string') channels.push(keys.processChannel(meta.ngn));
    if (graph?.publishes) channels.push(keys.jobChannel(graph.publishes, this.job.jobId));

    const parentMessages = (status: LegStatus, code: number, kind: string) => {
      if (typeof meta.pj !== 'string' || meta.px === true) return [];
      const message: EngineMessage = {
        t: 'result', jid: meta.pj, aid: String(meta.pa), dad: String(meta.pd), child: this.job.jobId, st: status, c: code,
        mid: `${kind}:${this.job.jobId}:${kind === 'done' ? '' : newId()}`,
      };
      return [{ key: keys.engineStream(), payload: JSON.stringify(message), snapshot: 'public' as const, jobId: meta.pj as string }];
    };

    const error = meta.err as Record<string, unknown> | undefined;
    const doneStatus: LegStatus = error ? 'error' : 'success';
    const doneCode = error ? Number(error.code ?? DEFAULT_ERROR_CODE) : 200;
    this.plan.finish = {
      channels,
      messages: parentMessages(doneStatus, doneCode, 'done'),
      expireSeconds: graph?.expire ?? 60,
      version: String(meta.vrs),
    };
    if (this.emitting && !this.interrupted) this.plan.emit = { channels, messages: parentMessages('pending', 202, 'emit') };
  }
}

/** Address of a parked webhook hook, stored in the signals hash. */
export interface HookRegistration {
  jid: string;
  aid: string;
  dad: string;
}

/** The engine-stream messages that address one activity of one job. */
export type ActivityMessage = Extract<EngineMessage, { aid: string; dad: string }>;

/** Status offset of an interrupted job, as in HotMesh: far below zero. */
const INTERRUPTED_OFFSET = 1_000_000_000;

/**
 * Resolves the registration key of a signal: the first hook rule of `topic`
 * evaluates its `actual` against the payload. Undefined when no rule listens.
 */
export function hookKey(app: CompiledApp, topic: string, data: Record<string, unknown>): string | undefined {
  const rule = app.hookRules.get(topic)?.[0];
  if (!rule) return undefined;
  const scope = (root: string): unknown => (root === '$self' || root === '$hook' || root === rule.to ? { hook: { data }, data } : undefined);
  const value = rule.actual ? evaluate(rule.actual, scope) : data.id;
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Normalizes a worker's error payload to `{message, code, …}`. */
export function errorOf(data: unknown, code: number): Record<string, unknown> {
  if (isRecord(data)) {
    const message = typeof data.message === 'string' ? data.message : `activity failed with code ${code}`;
    return { ...data, message, code: typeof data.code === 'number' ? data.code : code };
  }
  return { message: typeof data === 'string' ? data : `activity failed with code ${code}`, code };
}
