// One poller per HotMeshWorker: every pollingIntervalSeconds it reads the
// backlog of the worker's topics from Redis and runs the autoscaler's
// decision, then asks for a reconcile, which applies the decision. Polls
// share the operator's Redis connection per endpoint and each is bounded by
// a timeout, so a slow Redis delays one worker's poll and nothing else.
import type { Logger } from 'winston';
import { isNoGroupError } from '../../engine/errors.ts';
import { WORKER_GROUP, type AppKeys } from '../../engine/store/keys.ts';
import type { RedisPool } from '../app/redis-pool.ts';
import { decide, startingHistory, type MetricSample, type ScaleDecision, type Scaling, type ScalingHistory } from '../autoscaler/decide.ts';
import { emptyThroughput, readBacklog, type ThroughputState } from '../autoscaler/metrics.ts';

/** What one worker's poller reads and how it decides. */
export interface PollTarget {
  redisUrl: string;
  keys: AppKeys;
  topics: string[];
  scaling: Scaling;
  /** External: read the backlog for the status, but leave the replicas to an HPA or KEDA. */
  mode: 'Internal' | 'External';
}

/** The outcome of the latest poll of one worker. */
export interface PollResult {
  sample: MetricSample;
  /** Undefined in External mode. */
  decision?: ScaleDecision;
  /** When the poll finished, ms since the epoch. */
  at: number;
}

/** Options of a {@link BacklogPoller}. */
export interface BacklogPollerOptions {
  redis: RedisPool;
  logger: Logger;
  /** Called after every poll with the worker's key, so its reconcile applies the result. */
  onPolled: (key: string) => void;
  now?: () => number;
  /** Maximum wait for one poll's Redis replies, ms; never above half the polling interval. @default 2000 */
  pollTimeoutMs?: number;
}

interface PollerState {
  target: PollTarget;
  timer?: NodeJS.Timeout;
  history: ScalingHistory;
  throughput: ThroughputState;
  /** Replicas the workload has now, as the reconcile last applied them. */
  current: number;
  ready: number;
  latest?: PollResult;
  polling: boolean;
}

export class BacklogPoller {
  private readonly options: BacklogPollerOptions;
  private readonly states = new Map<string, PollerState>();

  constructor(options: BacklogPollerOptions) {
    this.options = options;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Starts polling `key`, or updates its target. A new poller, or a change
   * of what is read or how it is decided, polls at once; a change of the
   * endpoint, topics or metric also drops the throughput measured so far.
   */
  configure(key: string, target: PollTarget, current: number, ready: number): void {
    const previous = this.states.get(key);
    if (previous && sameTarget(previous.target, target)) {
      previous.target = target;
      return;
    }
    const sameSource = previous !== undefined && previous.target.redisUrl === target.redisUrl && previous.target.keys.workerStream('') === target.keys.workerStream('')
      && previous.target.topics.join(',') === target.topics.join(',') && previous.target.scaling.metric === target.scaling.metric;
    if (previous) clearTimeout(previous.timer);
    const state: PollerState = {
      target,
      history: previous && sameSource ? previous.history : startingHistory(previous?.current ?? current, this.now()),
      throughput: previous && sameSource ? previous.throughput : emptyThroughput(),
      current: previous?.current ?? current,
      ready: previous?.ready ?? ready,
      latest: previous && sameSource ? previous.latest : undefined,
      polling: false,
    };
    this.states.set(key, state);
    this.schedule(key, state, 0);
  }

  /** Records the replicas the workload has after a reconcile; the next decision starts from them. */
  observe(key: string, current: number, ready: number): void {
    const state = this.states.get(key);
    if (!state) return;
    state.current = current;
    state.ready = ready;
  }

  /** The latest poll of `key`; undefined before its first poll. */
  latest(key: string): PollResult | undefined {
    return this.states.get(key)?.latest;
  }

  /**
   * Reads how many messages each consumer has not acknowledged on the
   * worker's topics (XPENDING), by consumer name; empty before `key` is
   * configured. A topic whose stream or group is missing counts nothing.
   */
  async pendingByConsumer(key: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const state = this.states.get(key);
    if (!state) return counts;
    const { target } = state;
    const client = await this.options.redis.ready(target.redisUrl, this.options.pollTimeoutMs ?? 2000);
    const pipeline = client.pipeline();
    for (const topic of target.topics) pipeline.xpending(target.keys.workerStream(topic), WORKER_GROUP);
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, reply] of replies) {
      if (error) {
        if (isNoGroupError(error)) continue;
        throw error;
      }
      const summary = reply as [number, string | null, string | null, Array<[string, string]> | null];
      for (const [consumer, count] of summary[3] ?? []) counts.set(consumer, (counts.get(consumer) ?? 0) + Number(count));
    }
    return counts;
  }

  /** Stops polling `key`, e.g. after its HotMeshWorker was deleted. */
  remove(key: string): void {
    const state = this.states.get(key);
    if (!state) return;
    clearTimeout(state.timer);
    this.states.delete(key);
  }

  /** Stops every poller; polls in progress finish but schedule nothing. A later configure starts again. */
  stop(): void {
    for (const state of this.states.values()) clearTimeout(state.timer);
    this.states.clear();
  }

  private schedule(key: string, state: PollerState, delayMs: number): void {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => void this.poll(key, state), delayMs);
    state.timer.unref();
  }

  private async poll(key: string, state: PollerState): Promise<void> {
    if (this.states.get(key) !== state || state.polling) return;
    state.polling = true;
    const { target } = state;
    const intervalMs = target.scaling.pollingIntervalSeconds * 1000;
    try {
      const sample = await this.read(state, intervalMs);
      const at = this.now();
      let decision: ScaleDecision | undefined;
      if (target.mode === 'Internal') {
        decision = decide(target.scaling, state.current, sample, state.history, at);
        state.history = decision.history;
      }
      state.latest = { sample, decision, at };
      this.options.logger.debug('backlog polled', {
        key, ok: sample.ok, backlog: sample.ok ? sample.backlog : undefined, err: sample.ok ? undefined : sample.error,
        current: state.current, replicas: decision?.replicas, reason: decision?.reason,
      });
    } finally {
      state.polling = false;
    }
    if (this.states.get(key) !== state) return;
    this.schedule(key, state, intervalMs);
    this.options.onPolled(key);
  }

  private async read(state: PollerState, intervalMs: number): Promise<MetricSample> {
    const { target } = state;
    const timeoutMs = Math.max(100, Math.min(this.options.pollTimeoutMs ?? 2000, intervalMs / 2));
    try {
      const client = await this.options.redis.ready(target.redisUrl, timeoutMs);
      return await readBacklog(client, target.keys, target.topics, target.scaling, state.ready, state.throughput, this.now(), timeoutMs);
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }
}

function sameTarget(a: PollTarget, b: PollTarget): boolean {
  return a.redisUrl === b.redisUrl && a.mode === b.mode && a.keys.workerStream('') === b.keys.workerStream('')
    && a.topics.join(',') === b.topics.join(',') && JSON.stringify(a.scaling) === JSON.stringify(b.scaling);
}
