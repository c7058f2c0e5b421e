import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'winston';
import { createLogger } from '../logger.ts';
import { compileManifest } from './compiler/compile.ts';
import type { CompiledApp } from './compiler/types.ts';
import {
  ConfigError,
  DuplicateJobError,
  IllegalStateError,
  JobFailedError,
  JobNotFoundError,
  JobTimeoutError,
  UnknownHookTopicError,
  UnknownTopicError,
  VersionConflictError,
  VersionNotDeployedError,
} from './errors.ts';
import type { EngineMessage, LegStatus, WorkMessage } from './messages.ts';
import { indexKeysOf, jobKeyOf, resolveIndexKeys, statsBucket } from './stats.ts';
import { faultPoint } from './faults.ts';
import { effectiveThrottle, PAUSED, Quorum, type ProcessProfile, type ThrottleScope } from './quorum/quorum.ts';
import { StreamConsumer, type StreamHandlers, type StreamMessage } from './router/stream-consumer.ts';
import { JobState } from './step/job-state.ts';
import { COMMIT, StepPlan } from './step/plan.ts';
import { hookKey, newId, Step, type HookRegistration, type StepEnvironment } from './step/step.ts';
import { verifyDatabase } from './redis-url.ts';
import { CHANGE_FIELD, decodeJobOutput, pairsToRecord, STATUS_FIELD, type JobOutput } from './store/job-codec.ts';
import { AppKeys, DEFAULT_KEY_PREFIX, ENGINE_GROUP, isValidAppId, WORKER_GROUP } from './store/keys.ts';
import { defineScripts, type ScriptCommands } from './store/scripts.ts';
import { VersionCache } from './version-cache.ts';
import { toOutcome, type WorkerCallback } from './worker-reply.ts';

/** How to reach Redis. */
export interface RedisConnection {
  /** `redis://[user:password@]host:port[/db]`. @default HOTMESH_REDIS_URL, else redis://127.0.0.1:6379 */
  url?: string;
  /** ioredis options merged over those parsed from the URL. */
  options?: RedisOptions;
}

/** Settings of the engine part of a process. */
export interface EngineOptions {
  /** Engine-stream messages handled at once. @default 10 */
  concurrency?: number;
  /** Idle time after which a peer takes over a message, ms. @default 60000 */
  reclaimIdleMs?: number;
  /** Deliveries after which a message is dead-lettered. @default 5 */
  maxDeliveries?: number;
  /** Maximum pause between two polls of the timer set, ms. @default 500 */
  timerPollMs?: number;
  /** XREADGROUP BLOCK, ms. @default 5000 */
  blockMs?: number;
}

/** One worker topic served by this process. */
export interface WorkerOptions {
  topic: string;
  callback: WorkerCallback;
  /** Messages handled at once. @default 10 */
  concurrency?: number;
  /** Idle time after which a peer takes over a message, ms. @default 60000 */
  reclaimIdleMs?: number;
  /** Deliveries after which a message is dead-lettered. @default 5 */
  maxDeliveries?: number;
  /** XREADGROUP BLOCK, ms. @default 5000 */
  blockMs?: number;
}

export interface HotMeshConfig {
  appId: string;
  redis?: RedisConnection;
  /** Namespace in front of every key. @default hmsh */
  keyPrefix?: string;
  /** Run an engine: consume the engine stream and fire timers. @default true */
  engine?: boolean | EngineOptions;
  workers?: WorkerOptions[];
  logger?: Logger;
  /** Clock seam for tests. */
  now?: () => Date;
  /** Most activities one step runs before queueing the rest. @default 64 */
  eagerLimit?: number;
  /** How long a signal that came before its hook parked is kept, s. @default 86400 */
  earlySignalSeconds?: number;
  /**
   * How often this process writes its roll-call profile and re-reads the
   * active version and throttles, ms. A process that dies drops out of the
   * roll call after three of these. @default HOTMESH_HEARTBEAT_MS, else 2000
   */
  heartbeatMs?: number;
}

/** A deployed version as `versions` lists it. */
export interface VersionRecord {
  version: string;
  digest: string;
  deployedAt: string;
  activatedAt?: string;
  active: boolean;
  /** Jobs started on this version that have not finished. */
  liveJobs: number;
}

/** Outcome of `deploy`. */
export interface DeployResult {
  appId: string;
  version: string;
  digest: string;
  /** `deployed`, or `unchanged` when the same content was deployed before. */
  status: 'deployed' | 'unchanged';
}

/** Options of `pub`. */
export interface PubOptions {
  /** Job id; overrides the graph's `stats.id`. */
  id?: string;
}

/** Options of `pubsub`. */
export interface PubSubOptions extends PubOptions {
  /** How long to wait for the job to finish, ms. @default 60000 */
  timeout?: number;
}

/** Called by `sub` and `psub` with the topic and the job's output. */
export type JobListener = (topic: string, output: JobOutput) => void;

type Waiter = { resolve: (output: JobOutput) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

/** Lifecycle of a HotMesh instance. */
export type HotMeshState = 'starting' | 'running' | 'stopping' | 'stopped';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const MAX_CONFLICT_RETRIES = 20;

/**
 * Returns how the id of a process on `host` begins (its stream consumer
 * name): the host or pod name with only letters, digits and "-", then "-".
 * The operator finds a pod's consumers by it.
 */
export function processNamePrefix(host: string): string {
  return `${host.replace(/[^A-Za-z0-9-]/g, '')}-`;
}

/** Resolves the Redis URL from the config, `HOTMESH_REDIS_URL`, or the default. */
export function redisUrl(connection?: RedisConnection): string {
  return connection?.url ?? process.env.HOTMESH_REDIS_URL ?? DEFAULT_REDIS_URL;
}

/** Opens an ioredis client that reconnects forever and keeps commands queued meanwhile. */
export function connectRedis(connection?: RedisConnection, extra: RedisOptions = {}): Redis {
  return new Redis(redisUrl(connection), {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    ...connection?.options,
    ...extra,
  });
}

/**
 * An app's engine, workers and client in one process. Every durable state
 * lives in Redis; any number of instances cooperate through the app's streams.
 */
export class HotMesh {
  readonly appId: string;
  readonly guid: string;
  readonly keys: AppKeys;
  readonly logger: Logger;
  private readonly config: HotMeshConfig;
  private readonly store: Redis & ScriptCommands;
  private readonly subscriber: Redis;
  private readonly versions: VersionCache;
  private readonly consumers: StreamConsumer[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private readonly now: () => Date;
  private state: HotMeshState = 'starting';
  private readonly quorum: Quorum;
  private readonly consumerTopics = new Map<StreamConsumer, string | undefined>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();
  private timerLoop: Promise<void> | undefined;
  private timerWake: (() => void) | undefined;

  private constructor(config: HotMeshConfig) {
    if (!isValidAppId(config.appId ?? '')) {
      throw new ConfigError(`appId ${JSON.stringify(config.appId)} is invalid: use letters, digits, "-" and "_"`);
    }
    this.config = config;
    this.appId = config.appId;
    this.guid = `${processNamePrefix(process.env.HOTMESH_POD_NAME || hostname())}${process.pid}-${newId().slice(-8)}`;
    this.keys = new AppKeys(config.appId, config.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.logger = (config.logger ?? createLogger()).child({ appId: config.appId, guid: this.guid });
    this.store = defineScripts(connectRedis(config.redis));
    this.store.on('error', (error: Error) => this.logger.debug('redis connection error', { err: error.message }));
    this.subscriber = this.store.duplicate({ enableAutoPipelining: false });
    this.subscriber.on('error', (error: Error) => this.logger.debug('redis subscriber connection error', { err: error.message }));
    this.versions = new VersionCache(this.store, this.keys);
    this.now = config.now ?? (() => new Date());
    this.quorum = new Quorum(this.store, this.keys, this.logger, config.heartbeatMs ?? envNumber('HOTMESH_HEARTBEAT_MS') ?? 2000);
  }

  /** Connects, subscribes to the app's channels and starts the engine and workers. */
  static async init(config: HotMeshConfig): Promise<HotMesh> {
    const hotMesh = new HotMesh(config);
    try {
      await hotMesh.start();
    } catch (error) {
      await hotMesh.stop(0).catch(() => undefined);
      throw error;
    }
    return hotMesh;
  }

  /** The Redis URL this instance connects to. */
  get redisUrl(): string {
    return redisUrl(this.config.redis);
  }

  /** The Redis client for commands, shared with callers who need one. */
  get redis(): Redis {
    return this.store;
  }

  get currentState(): HotMeshState {
    return this.state;
  }

  private async start(): Promise<void> {
    await verifyDatabase(this.store, this.redisUrl);
    this.subscriber.on('message', (channel: string, message: string) => this.onChannelMessage(channel, channel, message));
    this.subscriber.on('pmessage', (pattern: string, channel: string, message: string) => this.onChannelMessage(pattern, channel, message));
    // After a reconnect, pub/sub messages sent meanwhile are lost: read the
    // active version again so a missed activation cannot leave us behind.
    this.subscriber.on('ready', () => {
      if (this.state === 'running') void this.versions.refreshActive().catch(() => undefined);
    });
    await this.subscriber.subscribe(this.keys.quorumChannel(), this.keys.processChannel(this.guid));
    await this.versions.refreshActive();

    const engine = this.config.engine ?? true;
    if (engine !== false) {
      const options = engine === true ? {} : engine;
      this.addConsumer(undefined, {
        handle: (message) => this.onEngineMessage(message),
        deadLetter: (message) => this.deadLetterEngineMessage(message),
      }, options);
      this.timerLoop = this.runTimers(options.timerPollMs ?? 500);
    }
    for (const worker of this.config.workers ?? []) {
      this.addConsumer(worker.topic, {
        handle: (message) => this.onWorkMessage(worker, message),
        deadLetter: (message) => this.deadLetterWorkMessage(worker, message),
      }, worker);
    }
    // Throttles persisted in Redis apply before the first read.
    await this.applyThrottles();
    this.state = 'running';
    for (const consumer of this.consumers) await consumer.start();
    await this.beat();
    this.heartbeatTimer = setInterval(() => void this.beat(), this.quorum.heartbeatMs);
    this.heartbeatTimer.unref();
    this.logger.info('hotmesh started', { engine: engine !== false, workers: (this.config.workers ?? []).map((worker) => worker.topic) });
  }

  // Creates the consumer of the engine stream (topic undefined) or of one
  // worker topic; a lost message fails its job on either.
  private addConsumer(
    topic: string | undefined,
    handlers: Pick<StreamHandlers, 'handle' | 'deadLetter'>,
    options: { concurrency?: number; reclaimIdleMs?: number; maxDeliveries?: number; blockMs?: number },
  ): void {
    const stream = topic === undefined ? this.keys.engineStream() : this.keys.workerStream(topic);
    const consumer = new StreamConsumer(this.store, {
      ...handlers,
      lost: (streamId) => this.failLostMessage(stream, streamId),
    }, {
      stream,
      group: topic === undefined ? ENGINE_GROUP : WORKER_GROUP,
      consumer: this.guid,
      concurrency: options.concurrency,
      reclaimIdleMs: options.reclaimIdleMs ?? envNumber('HOTMESH_RECLAIM_IDLE_MS'),
      maxDeliveries: options.maxDeliveries ?? envNumber('HOTMESH_MAX_DELIVERIES'),
      blockMs: options.blockMs,
    }, topic === undefined ? this.logger : this.logger.child({ topic }));
    this.consumers.push(consumer);
    this.consumerTopics.set(consumer, topic);
  }

  /**
   * Stops reading, lets messages in hand finish within `graceMs`, and closes
   * the connections. Safe to call twice.
   */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.timerWake?.();
    await Promise.allSettled(this.consumers.map((consumer) => consumer.stop(graceMs)));
    await this.timerLoop;
    for (const [jobId, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new IllegalStateError(`stopped while waiting for job ${jobId}`));
    }
    this.waiters.clear();
    await this.quorum.leave(this.guid).catch(() => undefined);
    this.subscriber.disconnect();
    await this.store.quit().catch(() => this.store.disconnect());
    this.state = 'stopped';
    this.logger.info('hotmesh stopped', {});
  }

  // ---- deploy and activate -------------------------------------------------

  /**
   * Validates, compiles and stores a version (a file path, YAML text, or an
   * already compiled app) and creates its consumer groups. Throws
   * ManifestError before anything is written, VersionConflictError when the
   * version exists with other content.
   */
  async deploy(source: string | CompiledApp): Promise<DeployResult> {
    const app = typeof source === 'string' ? compileManifest(source) : source;
    if (app.appId !== this.appId) {
      throw new ConfigError(`manifest is for app ${app.appId}, but this instance serves app ${this.appId}`);
    }
    return deployCompiled(this.store, this.keys, app, this.now());
  }

  /** Makes a deployed version the active one on every engine of the app. */
  async activate(version: string): Promise<{ previous: string | undefined }> {
    const result = await activateVersion(this.store, this.keys, version, this.now());
    this.versions.setActive(version);
    this.logger.info('version activated', { version, previous: result.previous });
    return result;
  }

  // ---- jobs ----------------------------------------------------------------

  /** Starts a job on the active version; returns its id. */
  async pub(topic: string, data: Record<string, unknown> = {}, options: PubOptions = {}): Promise<string> {
    return this.startJob(topic, data, options, undefined);
  }

  /** Starts a job and waits for it to finish; rejects with JobFailedError or JobTimeoutError. */
  async pubsub(topic: string, data: Record<string, unknown> = {}, options: PubSubOptions = {}): Promise<JobOutput> {
    const timeout = options.timeout ?? 60_000;
    return await new Promise<JobOutput>((resolve, reject) => {
      // The waiter is registered before the job is committed: the completion
      // may be published before `startJob` returns.
      const register = (jobId: string): void => {
        const timer = setTimeout(() => {
          this.waiters.delete(jobId);
          reject(new JobTimeoutError(jobId, timeout));
        }, timeout);
        this.waiters.set(jobId, { resolve, reject, timer });
      };
      this.startJob(topic, data, options, register).catch(reject);
    });
  }

  private async startJob(topic: string, data: Record<string, unknown>, options: PubOptions, beforeCommit: ((jobId: string) => void) | undefined): Promise<string> {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('job data must be a JSON object');
    for (let attempt = 0; attempt < 3; attempt++) {
      const app = await this.versions.getActive();
      const graph = app.topics.get(topic);
      if (!graph) throw new UnknownTopicError(this.appId, app.version, topic);
      const jobId = options.id ?? Step.resolveJobId(app, graph, data) ?? newId();
      const plan = new StepPlan(this.keys, jobId);
      const step = new Step(this.stepEnvironment(app), new JobState(jobId, {}, plan));
      step.trigger(graph, data, { ngn: beforeCommit ? this.guid : undefined, requireActive: true });
      beforeCommit?.(jobId);
      const [code, , extra] = await this.commit(plan);
      if (code === COMMIT.committed) return jobId;
      if (code === COMMIT.duplicateJob) {
        const waiter = this.waiters.get(jobId);
        if (waiter) clearTimeout(waiter.timer);
        this.waiters.delete(jobId);
        throw new DuplicateJobError(this.appId, jobId);
      }
      if (code === COMMIT.inactiveVersion) {
        const waiter = this.waiters.get(jobId);
        if (waiter) clearTimeout(waiter.timer);
        this.waiters.delete(jobId);
        this.versions.setActive(extra);
        continue;
      }
      throw new Error(`unexpected commit outcome ${code} while starting job ${jobId}`);
    }
    throw new Error(`the active version of app ${this.appId} kept changing while starting a job; try again`);
  }

  /** Returns a job's metadata and data. Accepts HotMesh's `(topic, jobId)` form too. */
  async getState(topicOrJobId: string, jobId?: string): Promise<JobOutput> {
    const id = jobId ?? topicOrJobId;
    const fields = await this.store.hgetall(this.keys.job(id));
    if (fields[STATUS_FIELD] === undefined) throw new JobNotFoundError(this.appId, id);
    return decodeJobOutput(fields);
  }

  /** Returns a job's status semaphore: open activities, 0 or less when done. */
  async getStatus(jobId: string): Promise<number> {
    const value = await this.store.hget(this.keys.job(jobId), STATUS_FIELD);
    if (value === null) throw new JobNotFoundError(this.appId, jobId);
    return Number(value);
  }

  /**
   * Sends a signal to the hook that a graph's `hooks:` rule routes `topic`
   * to. Code 200 resumes the hook once; 202 keeps it open for more. A signal
   * that arrives before its hook parks is kept (see `earlySignalSeconds`)
   * and taken when the hook parks. Returns the stream id of the signal.
   */
  async hook(topic: string, data: Record<string, unknown>, status: LegStatus = 'success', code = 200): Promise<string> {
    const app = await this.versions.getActive();
    const key = hookKey(app, topic, data);
    if (key === undefined) throw new UnknownHookTopicError(this.appId, app.version, topic);
    const message: EngineMessage = { t: 'webhook', mid: newId(), tpc: topic, key, d: data, st: code === 202 ? 'pending' : status, c: code };
    return String(await this.store.xadd(this.keys.engineStream(), '*', 'm', JSON.stringify(message)));
  }

  /**
   * Signals every job found under the index facets (`'<path>:<value>'`) of
   * the graph that `topic`'s hook rule targets. The query's `data` rebuilds
   * that graph's job key. Returns the index keys searched.
   */
  async hookAll(topic: string, data: Record<string, unknown>, query: { data?: Record<string, unknown>; scrub?: boolean }, facets: string[]): Promise<string[]> {
    const app = await this.versions.getActive();
    if (!app.hookRules.has(topic)) throw new UnknownHookTopicError(this.appId, app.version, topic);
    const indexKeys = resolveIndexKeys(app, this.keys, topic, query.data ?? {}, facets);
    const message: EngineMessage = { t: 'hookAll', mid: newId(), tpc: topic, d: data, q: query.data ?? {}, facets, scrub: query.scrub === true, vrs: app.version };
    await this.store.xadd(this.keys.engineStream(), '*', 'm', JSON.stringify(message));
    return indexKeys;
  }

  /**
   * Interrupts a running job: it ends at once with error code 410 (unless
   * `throw` is false), and `descend` interrupts its child jobs too.
   */
  async interrupt(jobId: string, options: { reason?: string; code?: number; throw?: boolean; descend?: boolean } = {}): Promise<void> {
    const message: EngineMessage = { t: 'interrupt', mid: newId(), jid: jobId, reason: options.reason, c: options.code, throw: options.throw, descend: options.descend };
    await this.store.xadd(this.keys.engineStream(), '*', 'm', JSON.stringify(message));
  }

  /**
   * Sums the statistics of the jobs that `topic`'s graph started under the
   * job key rebuilt from `query.data`, over the last `range` (`1h`, `30m`, …)
   * up to now, bucket by bucket. `count` is the number of jobs; each measure
   * field (`count:<path>:<value>`, `sum:<path>`, `avg:<path>`) is summed, and
   * averages are divided out.
   */
  async getStats(topic: string, query: { data?: Record<string, unknown>; range?: string }): Promise<{ key: string; count: number; measures: Record<string, number>; segments: Array<{ time: string; count: number }> }> {
    const app = await this.versions.getActive();
    const graph = app.topics.get(topic);
    if (!graph) throw new UnknownTopicError(this.appId, app.version, topic);
    const trigger = app.activities.get(graph.triggerId)!;
    const key = jobKeyOf(trigger, query.data ?? {});
    if (key === undefined) throw new ConfigError(`graph ${topic} has no stats.key, or the query data does not resolve it`);
    const granularity = trigger.statsGranularityMinutes ?? 5;
    const rangeMinutes = granularity === 0 ? 0 : Math.max(granularity, (parseRange(query.range ?? '1h')));
    const buckets: string[] = [];
    if (granularity === 0) buckets.push('0');
    else for (let offset = 0; offset <= rangeMinutes; offset += granularity) buckets.push(statsBucket(new Date(this.now().getTime() - offset * 60_000), granularity));
    const transaction = this.store.multi();
    for (const bucket of buckets) transaction.hgetall(this.keys.stats(key, bucket));
    const results = (await transaction.exec()) ?? [];
    const measures: Record<string, number> = {};
    const segments: Array<{ time: string; count: number }> = [];
    results.forEach(([, value], index) => {
      const fields = (value ?? {}) as Record<string, string>;
      segments.push({ time: buckets[index], count: Number(fields.count ?? 0) });
      for (const [field, amount] of Object.entries(fields)) measures[field] = (measures[field] ?? 0) + Number(amount);
    });
    for (const field of Object.keys(measures)) {
      if (!field.startsWith('avg:')) continue;
      const path = field.slice(4);
      const count = measures[`avgcount:${path}`] ?? 0;
      measures[field] = count === 0 ? 0 : measures[field] / count;
      delete measures[`avgcount:${path}`];
    }
    const count = measures.count ?? 0;
    delete measures.count;
    return { key, count, measures, segments: segments.reverse() };
  }

  /** Lists the ids of jobs indexed under each facet (`'<path>:<value>'`) of `topic`'s graph. */
  async getIds(topic: string, query: { data?: Record<string, unknown> }, facets: string[]): Promise<Array<{ facet: string; count: number; ids: string[] }>> {
    const app = await this.versions.getActive();
    const graph = app.topics.get(topic);
    if (!graph) throw new UnknownTopicError(this.appId, app.version, topic);
    const indexKeys = indexKeysOf(app, this.keys, graph, query.data ?? {}, facets);
    const lists = await Promise.all(indexKeys.map((indexKey) => this.store.lrange(indexKey, 0, -1)));
    return facets.map((facet, index) => ({ facet, count: lists[index]?.length ?? 0, ids: lists[index] ?? [] }));
  }

  /** Deletes a job's state. Its messages still in flight are dropped when they arrive. */
  async scrub(jobId: string): Promise<void> {
    await this.store.del(this.keys.job(jobId));
  }

  /** Listens to jobs published on `<topic>` (a graph's `publishes` topic plus `.<jobId>`). */
  async sub(topic: string, listener: JobListener): Promise<void> {
    await this.listen(this.keys.topicChannel(topic), listener, false);
  }

  /** Listens by pattern, e.g. `order.done.*` for every job of a graph. */
  async psub(pattern: string, listener: JobListener): Promise<void> {
    await this.listen(this.keys.topicChannel(pattern), listener, true);
  }

  async unsub(topic: string): Promise<void> {
    this.listeners.delete(this.keys.topicChannel(topic));
    await this.subscriber.unsubscribe(this.keys.topicChannel(topic));
  }

  async punsub(pattern: string): Promise<void> {
    this.listeners.delete(this.keys.topicChannel(pattern));
    await this.subscriber.punsubscribe(this.keys.topicChannel(pattern));
  }

  private async listen(channel: string, listener: JobListener, pattern: boolean): Promise<void> {
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener);
    this.listeners.set(channel, set);
    if (set.size === 1) await (pattern ? this.subscriber.psubscribe(channel) : this.subscriber.subscribe(channel));
  }

  private onChannelMessage(subscription: string, channel: string, raw: string): void {
    let message: { kind?: string; jid?: string; fields?: string[]; type?: string; version?: string };
    try {
      message = JSON.parse(raw);
    } catch {
      this.logger.warn('unreadable pub/sub message', { channel });
      return;
    }
    if (subscription === this.keys.quorumChannel()) {
      if (message.type === 'activate' && typeof message.version === 'string') {
        this.versions.setActive(message.version);
        this.logger.info('activation received', { version: message.version });
        void this.beat();
      } else if (message.type === 'throttle') {
        void this.applyThrottles();
      } else if (message.type === 'rollcall') {
        void this.beat();
      }
      return;
    }
    if (!Array.isArray(message.fields)) return;
    const output = decodeJobOutput(pairsToRecord(message.fields));
    if (subscription === this.keys.processChannel(this.guid)) {
      if (message.kind !== 'done' || typeof message.jid !== 'string') return;
      const waiter = this.waiters.get(message.jid);
      if (!waiter) return;
      clearTimeout(waiter.timer);
      this.waiters.delete(message.jid);
      if (output.metadata.err) waiter.reject(new JobFailedError(message.jid, output.metadata.err));
      else waiter.resolve(output);
      return;
    }
    const listeners = this.listeners.get(subscription);
    if (!listeners) return;
    const topic = this.keys.topicOfChannel(channel);
    const publishes = topic.endsWith(`.${output.metadata.jid}`) ? topic.slice(0, -(`.${output.metadata.jid}`.length)) : topic;
    for (const listener of listeners) {
      try {
        listener(publishes, output);
      } catch (error) {
        this.logger.error('job listener threw', { err: (error as Error).message, topic: publishes });
      }
    }
  }

  // ---- running steps -------------------------------------------------------

  private stepEnvironment(app: CompiledApp): StepEnvironment {
    return { app, keys: this.keys, now: this.now, eagerLimit: this.config.eagerLimit ?? 64 };
  }

  private async commit(plan: StepPlan): Promise<[number, number, string]> {
    const { keys, args } = plan.toScriptArgs();
    faultPoint('engine.before-commit');
    const [code, status, extra] = await this.store.commitStep(keys.length, ...keys, ...args);
    faultPoint('engine.after-commit');
    return [Number(code), Number(status), String(extra ?? '')];
  }

  /**
   * Loads a job, lets `apply` plan one step on it, and commits. A conflict
   * (another step changed the job meanwhile) reads the job again and replans.
   * `carried` is the job's state as a work message brought it: the first try
   * plans from it without a read, on the condition that no other step has
   * committed since.
   */
  private async runStep(jobId: string, ack: StepPlan['ack'], messageId: string, apply: (step: Step) => void, carried?: string[]): Promise<number> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const fromCarried = attempt === 0 && carried !== undefined;
      const fields = fromCarried ? pairsToRecord(carried) : await this.store.hgetall(this.keys.job(jobId));
      const plan = new StepPlan(this.keys, jobId);
      plan.ack = ack;
      plan.messageId = messageId;
      if (fromCarried) plan.checks.push([CHANGE_FIELD, fields[CHANGE_FIELD] ?? '']);
      if (fields[STATUS_FIELD] === undefined) {
        const [code] = await this.commit(plan);
        this.logger.debug('message for a job that no longer exists; dropped', { jobId, messageId });
        return code;
      }
      const job = new JobState(jobId, fields, plan);
      const app = await this.versions.get(job.version);
      apply(new Step(this.stepEnvironment(app), job));
      const [code] = await this.commit(plan);
      if (code === COMMIT.conflict) continue;
      if (code === COMMIT.committed && plan.timers.length > 0) this.wakeTimersIn(Math.min(...plan.timers.map((timer) => timer.delayMs)));
      if (code === COMMIT.duplicateMessage || code === COMMIT.stale) {
        this.logger.debug('duplicate or stale message ignored', { jobId, messageId, outcome: code });
      }
      return code;
    }
    throw new Error(`job ${jobId} kept changing under step ${messageId}; giving up after ${MAX_CONFLICT_RETRIES} tries`);
  }

  private async onEngineMessage(streamMessage: StreamMessage): Promise<void> {
    const message = JSON.parse(streamMessage.payload) as EngineMessage;
    const ack = { stream: this.keys.engineStream(), group: ENGINE_GROUP, id: streamMessage.id };
    switch (message.t) {
      case 'await':
        await this.startChildJob(message, ack);
        return;
      case 'webhook':
        await this.deliverWebhook(message, ack, streamMessage.id);
        return;
      case 'hookAll':
        await this.fanOutSignals(message, ack);
        return;
      case 'interrupt':
        await this.interruptJob(message, ack);
        return;
      default:
        await this.runStep(message.jid, ack, message.mid, (step) => step.apply(message));
    }
  }

  private async deliverWebhook(message: Extract<EngineMessage, { t: 'webhook' }>, ack: NonNullable<StepPlan['ack']>, streamId: string): Promise<void> {
    const field = `${message.tpc}:${message.key}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.store.hget(this.keys.signals(), field);
      if (raw !== null) {
        const registration = JSON.parse(raw) as HookRegistration;
        await this.runStep(registration.jid, ack, message.mid, (step) => step.applyWebhook(registration, field, message));
        return;
      }
      // No hook waits for it yet: keep it until one parks.
      const kept = await this.store.keepEarlySignal(
        this.keys.signals(), this.keys.earlySignals(field), this.keys.engineStream(), this.keys.inflight(),
        ENGINE_GROUP, streamId, field, JSON.stringify(message), String(this.earlySignalSeconds),
      );
      if (Number(kept) === 1) {
        this.logger.debug('signal arrived before its hook; kept', { hookTopic: message.tpc, key: message.key });
        return;
      }
    }
    throw new Error(`hook registration ${field} kept changing while a signal was delivered`);
  }

  private get earlySignalSeconds(): number {
    return this.config.earlySignalSeconds ?? 86_400;
  }

  // Signals every job listed in the index facets of a hookAll, then drops
  // the index when asked to scrub it.
  private async fanOutSignals(message: Extract<EngineMessage, { t: 'hookAll' }>, ack: NonNullable<StepPlan['ack']>): Promise<void> {
    const app = await this.versions.get(message.vrs);
    const indexKeys = resolveIndexKeys(app, this.keys, message.tpc, message.q, message.facets);
    const transaction = this.store.multi();
    let count = 0;
    for (const indexKey of indexKeys) {
      const jobIds = await this.store.lrange(indexKey, 0, -1);
      for (const jobId of jobIds) {
        const data = { ...message.d, id: jobId };
        const key = hookKey(app, message.tpc, data);
        if (key === undefined) continue;
        const signal: EngineMessage = { t: 'webhook', mid: `${message.mid}:${jobId}`, tpc: message.tpc, key, d: data, st: 'success', c: 200 };
        transaction.xadd(this.keys.engineStream(), '*', 'm', JSON.stringify(signal));
        count++;
      }
      if (message.scrub) transaction.del(indexKey);
    }
    transaction.xack(ack.stream, ack.group, ack.id);
    transaction.xdel(ack.stream, ack.id);
    await transaction.exec();
    this.logger.debug('signalled jobs of an index', { hookTopic: message.tpc, count });
  }

  private async interruptJob(message: Extract<EngineMessage, { t: 'interrupt' }>, ack: NonNullable<StepPlan['ack']>): Promise<void> {
    if (message.descend || message.children) {
      const children = await this.store.lrange(this.keys.dependents(message.jid), 0, -1);
      if (children.length > 0) {
        const transaction = this.store.multi();
        for (const child of children) {
          const forward: EngineMessage = { t: 'interrupt', mid: `${message.mid}:${child}`, jid: child, reason: message.reason, c: message.c, throw: message.throw, descend: message.descend };
          transaction.xadd(this.keys.engineStream(), '*', 'm', JSON.stringify(forward));
        }
        await transaction.exec();
      }
    }
    if (message.children) {
      await this.store.multi().xack(ack.stream, ack.group, ack.id).xdel(ack.stream, ack.id).exec();
      return;
    }
    await this.runStep(message.jid, ack, message.mid, (step) => step.interrupt({ reason: message.reason, code: message.c, throw: message.throw }));
  }

  private async startChildJob(message: Extract<EngineMessage, { t: 'await' }>, ack: StepPlan['ack']): Promise<void> {
    const app = await this.versions.get(message.vrs);
    const graph = app.topics.get(message.tpc);
    const parent = { jid: message.jid, aid: message.aid, dad: message.dad, detached: message.detached };
    const failParent = async (code: number, text: string): Promise<void> => {
      const result: EngineMessage = { t: 'result', jid: parent.jid, aid: parent.aid, dad: parent.dad, child: '', st: 'error', c: code, mid: message.mid, d: { message: text, code } };
      await this.runStep(parent.jid, ack, message.mid, (step) => step.apply(result));
    };
    if (!graph) {
      await failParent(404, `no graph of version ${message.vrs} subscribes to ${message.tpc}`);
      return;
    }
    const childId = Step.resolveJobId(app, graph, message.d) ?? newId();
    const plan = new StepPlan(this.keys, childId);
    plan.ack = ack;
    const step = new Step(this.stepEnvironment(app), new JobState(childId, {}, plan));
    step.trigger(graph, message.d, { parent, messageId: message.mid, requireActive: false });
    plan.listPushes.push([this.keys.dependents(parent.jid), childId]);
    if (message.detached) {
      plan.xadd(this.keys.engineStream(), {
        t: 'result', jid: parent.jid, aid: parent.aid, dad: parent.dad, child: childId, st: 'success', c: 200,
        mid: `start:${childId}`, d: { job_id: childId },
      } satisfies EngineMessage);
    }
    const [code] = await this.commit(plan);
    if (code === COMMIT.duplicateJob) await failParent(409, `child job ${childId} already exists`);
  }

  private async onWorkMessage(worker: WorkerOptions, streamMessage: StreamMessage): Promise<void> {
    const message = JSON.parse(streamMessage.payload) as WorkMessage;
    let result: { value?: unknown; error?: unknown };
    try {
      result = { value: await worker.callback(message.d, { jobId: message.jid, activityId: message.aid, topic: message.tpc, attempt: message.n, dad: message.dad }) };
    } catch (error) {
      result = { error: error ?? new Error('worker threw no error object') };
    }
    faultPoint('worker.after-callback');
    const outcome = toOutcome(result);
    if (outcome.status === 'error') {
      this.logger.warn('worker activity failed', { topic: worker.topic, jobId: message.jid, activityId: message.aid, attempt: message.n, code: outcome.code, err: (outcome.data as { message?: string }).message });
    }
    const response: EngineMessage = {
      t: 'response', jid: message.jid, aid: message.aid, dad: message.dad, n: message.n,
      st: outcome.status, c: outcome.code, d: outcome.data, mid: `${worker.topic}:${streamMessage.id}`,
    };
    // The worker runs leg 2 itself: one script, planned from the state the
    // message carries (a read only when that state is missing or overtaken).
    const ack = { stream: this.keys.workerStream(worker.topic), group: WORKER_GROUP, id: streamMessage.id };
    await this.runStep(message.jid, ack, response.mid, (step) => step.apply(response), Array.isArray(message.js) ? message.js : undefined);
  }

  private async deadLetterEngineMessage(streamMessage: StreamMessage): Promise<void> {
    const stream = this.keys.engineStream();
    let message: { jid?: string; t?: string; aid?: string } = {};
    try {
      message = JSON.parse(streamMessage.payload) as { jid?: string; t?: string; aid?: string };
    } catch {
      // an unreadable payload still goes to the dead-letter stream
    }
    await this.store.xadd(this.keys.deadLetterStream(), '*', 'stream', stream, 'id', streamMessage.id, 'deliveries', String(streamMessage.deliveries ?? 0), 'm', streamMessage.payload);
    if (typeof message.jid === 'string') {
      await this.failJob(message.jid, {
        message: `engine message ${streamMessage.id} (${message.t ?? 'unknown'} for activity ${message.aid ?? '?'}) failed ${streamMessage.deliveries} times and was moved to the dead-letter stream`,
        code: 999,
        kind: 'E_DEAD_LETTER',
      }, { stream, group: ENGINE_GROUP, id: streamMessage.id });
    } else {
      await this.store.xack(stream, ENGINE_GROUP, streamMessage.id);
      await this.store.xdel(stream, streamMessage.id);
    }
  }

  private async deadLetterWorkMessage(worker: WorkerOptions, streamMessage: StreamMessage): Promise<void> {
    const stream = this.keys.workerStream(worker.topic);
    await this.store.xadd(this.keys.deadLetterStream(), '*', 'stream', stream, 'id', streamMessage.id, 'deliveries', String(streamMessage.deliveries ?? 0), 'm', streamMessage.payload);
    const message = JSON.parse(streamMessage.payload) as WorkMessage;
    const response: EngineMessage = {
      t: 'response', jid: message.jid, aid: message.aid, dad: message.dad, n: message.n, st: 'error', c: 999,
      d: { message: `work message ${streamMessage.id} on topic ${worker.topic} failed ${streamMessage.deliveries} times and was moved to the dead-letter stream`, code: 999, kind: 'E_DEAD_LETTER' },
      mid: `${worker.topic}:${streamMessage.id}`,
    };
    await this.store.respond(this.keys.engineStream(), stream, this.keys.inflight(), WORKER_GROUP, streamMessage.id, JSON.stringify(response), message.jid);
  }

  // A pending entry whose message vanished (trimmed or deleted): its job can
  // never advance, so it fails with a clear kind instead of hanging.
  private async failLostMessage(stream: string, streamId: string): Promise<void> {
    const field = `${stream}|${streamId}`;
    const jobId = await this.store.hget(this.keys.inflight(), field);
    if (jobId !== null) {
      this.logger.error('job failed: its message was removed from the stream before it was handled', { jobId, stream, streamId });
      await this.failJob(jobId, { message: `message ${streamId} of stream ${stream} was trimmed or deleted before it was handled`, code: 999, kind: 'E_MESSAGE_LOST' }, undefined);
    }
    await this.store.hdel(this.keys.inflight(), field);
  }

  /** Ends a job at once with an error, whatever is still open. */
  private async failJob(jobId: string, error: Record<string, unknown>, ack: StepPlan['ack']): Promise<void> {
    await this.runStep(jobId, ack, `fail:${newId()}`, (step) => {
      const current = Number(step.job.fields[STATUS_FIELD] ?? 0);
      step.job.setMetadata('err', error);
      step.plan.checks.push([STATUS_FIELD, String(current)]);
      step.plan.statusDelta = -current - 1_000_000_000;
      step.finishPlan();
    });
  }

  // ---- quorum --------------------------------------------------------------

  private profile(): ProcessProfile {
    const throttles: Record<string, number> = {};
    const busy: Record<string, number> = {};
    for (const [consumer, topic] of this.consumerTopics) {
      throttles[topic ?? 'engine'] = consumer.options.throttleMs;
      busy[topic ?? 'engine'] = consumer.busy;
    }
    return {
      guid: this.guid,
      host: hostname(),
      pid: process.pid,
      engine: [...this.consumerTopics.values()].includes(undefined),
      topics: [...this.consumerTopics.values()].filter((topic): topic is string => topic !== undefined),
      version: this.versions.activeVersion,
      throttles,
      busy,
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
    };
  }

  // Writes the roll-call profile and re-reads what pub/sub may have missed:
  // the active version and the throttles.
  private async beat(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      const before = this.versions.activeVersion;
      const active = await this.versions.refreshActive();
      if (active !== before) this.logger.info('active version changed', { version: active, previous: before });
      await this.applyThrottles();
      // Client-only processes (no engine, no workers) are not part of the roll call.
      if (this.consumerTopics.size > 0) await this.quorum.heartbeat(this.profile());
    } catch (error) {
      this.logger.warn('heartbeat failed', { err: (error as Error).message });
    }
  }

  private async applyThrottles(): Promise<void> {
    const settings = await this.quorum.throttleSettings();
    for (const [consumer, topic] of this.consumerTopics) {
      const ms = effectiveThrottle(settings, this.guid, topic);
      if (ms !== consumer.options.throttleMs) {
        this.logger.info(ms === PAUSED ? 'consumer paused' : 'consumer throttle changed', { topic: topic ?? 'engine', throttleMs: ms });
        consumer.setThrottle(ms);
      }
    }
  }

  /** Lists the live engine and worker processes of the app, freshly asked. */
  async rollCall(waitMs = 300): Promise<ProcessProfile[]> {
    await this.quorum.requestHeartbeats();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return this.quorum.rollCall();
  }

  /**
   * Sets a pause before every read, in ms, for the whole app, one worker
   * topic, or one process. `pause` stops reading and `resume` removes the
   * setting. The setting is stored in Redis, so processes that start later
   * inherit it.
   */
  async throttle(setting: number | 'pause' | 'resume', scope: ThrottleScope = {}): Promise<void> {
    let ms: number;
    if (setting === 'pause') ms = PAUSED;
    else if (setting === 'resume') ms = 0;
    else ms = setting;
    if (!Number.isInteger(ms) || ms < PAUSED) throw new ConfigError(`throttle must be a whole number of ms ≥ 0, pause or resume; got ${String(setting)}`);
    await this.quorum.setThrottle(ms, scope);
    this.logger.info('throttle set', { throttleMs: ms, topic: scope.topic, target: scope.guid });
  }

  /** Returns a deployed version, compiled; throws VersionNotDeployedError. */
  async compiledVersion(version: string): Promise<CompiledApp> {
    return this.versions.get(version);
  }

  /** Lists the deployed versions with their digest, times, and live jobs. */
  async listVersions(): Promise<VersionRecord[]> {
    const fields = await this.store.hgetall(this.keys.app());
    const records: VersionRecord[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith('v:')) continue;
      const version = field.slice(2);
      const parsed = JSON.parse(value) as { digest: string; deployedAt: string; activatedAt?: string };
      records.push({ version, ...parsed, active: fields.active === version, liveJobs: Number(fields[`live:${version}`] ?? 0) });
    }
    // Two deploys in the same millisecond keep the order of their versions.
    return records.sort((a, b) => a.deployedAt.localeCompare(b.deployedAt) || a.version.localeCompare(b.version, 'en', { numeric: true }));
  }

  // ---- timers --------------------------------------------------------------

  // A timer this process just set may be due before the next poll: wake the
  // poller then, so short retries and sleeps are not rounded up to the poll.
  private wakeTimersIn(delayMs: number): void {
    if (!this.timerLoop) return;
    setTimeout(() => this.timerWake?.(), delayMs + 2).unref();
  }

  private async runTimers(maxPollMs: number): Promise<void> {
    while (this.state === 'starting' || this.state === 'running') {
      let waitMs = maxPollMs;
      try {
        const [moved, nextDue, redisNow] = await this.store.fireTimers(this.keys.timers(), this.keys.engineStream(), this.keys.inflight(), '1000');
        if (Number(moved) >= 1000) waitMs = 0;
        else if (Number(nextDue) >= 0) waitMs = Math.max(10, Math.min(maxPollMs, Number(nextDue) - Number(redisNow)));
      } catch (error) {
        this.logger.warn('timer poll failed', { err: (error as Error).message });
      }
      if (waitMs > 0) {
        await new Promise<void>((resolve) => {
          this.timerWake = resolve;
          setTimeout(resolve, waitMs).unref();
        });
      }
    }
  }
}

function parseRange(range: string): number {
  const match = /^(\d+)\s*(m|h|d)$/.exec(range.trim());
  if (!match) throw new ConfigError(`range must be minutes, hours or days such as 30m, 1h or 7d; got ${JSON.stringify(range)}`);
  const minutesPerUnit: Record<string, number> = { m: 1, h: 60, d: 1440 };
  return Number(match[1]) * minutesPerUnit[match[2]];
}

function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number; got ${JSON.stringify(text)}`);
  return value;
}

/** Stores a compiled version; shared by HotMesh and the operator. */
export async function deployCompiled(client: Redis, keys: AppKeys, app: CompiledApp, now: Date): Promise<DeployResult> {
  const store = defineScripts(client);
  const stored = JSON.stringify({ appId: app.appId, version: app.version, digest: app.digest, manifest: app.manifest });
  const streams = [keys.engineStream(), ...app.workerTopics.map((topic) => keys.workerStream(topic))];
  const groups = [ENGINE_GROUP, ...app.workerTopics.map(() => WORKER_GROUP)];
  const scriptKeys = [keys.app(), keys.version(app.version), ...streams];
  const [code, digest] = await store.deployVersion(scriptKeys.length, ...scriptKeys, app.version, app.digest, stored, now.toISOString(), ...groups);
  if (Number(code) === 2) throw new VersionConflictError(app.appId, app.version, String(digest), app.digest);
  return { appId: app.appId, version: app.version, digest: app.digest, status: Number(code) === 1 ? 'unchanged' : 'deployed' };
}

/** Activates a deployed version; shared by HotMesh and the operator. */
export async function activateVersion(client: Redis, keys: AppKeys, version: string, now: Date): Promise<{ previous: string | undefined }> {
  const store = defineScripts(client);
  const message = JSON.stringify({ type: 'activate', version });
  const [code, previous] = await store.activateVersion(keys.app(), keys.version(version), version, now.toISOString(), keys.quorumChannel(), message);
  if (Number(code) === 1) throw new VersionNotDeployedError(keys.appId, version);
  return { previous: previous === '' ? undefined : String(previous) };
}
