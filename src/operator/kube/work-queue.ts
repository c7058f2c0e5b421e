// A work queue of object keys in the shape of client-go's: a key is queued
// at most once, a key re-added while it is being processed is processed once
// more afterwards, two workers never hold the same key, and failed keys come
// back after a per-key exponential backoff.
import { backoffDelay, type BackoffOptions } from './backoff.ts';

/** Hooks for the workqueue_* metrics. */
export interface WorkQueueMetrics {
  depth(value: number): void;
  added(): void;
  retried(): void;
}

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Backoff of keys that failed. @default { baseMs: 500, maxMs: 300000, jitter: 0.1 } */
  backoff?: BackoffOptions;
  metrics?: WorkQueueMetrics;
}

/** Default backoff: 0.5 s doubling to 5 min, slower than client-go's 5 ms start because a reconcile talks to Redis. */
export const DEFAULT_QUEUE_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 300_000, jitter: 0.1 };

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly backoff: BackoffOptions;
  private readonly metrics: WorkQueueMetrics | undefined;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = options.backoff ?? DEFAULT_QUEUE_BACKOFF;
    this.metrics = options.metrics;
  }

  /** Keys waiting to be processed. */
  get length(): number {
    return this.queue.length;
  }

  /** Queues a key now, unless it is queued already. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.added();
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  // Hands a dirty key to a waiting worker, or queues it.
  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.metrics?.depth(this.queue.length);
  }

  /** Queues a key after `delayMs`; an earlier pending add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Queues a key after its backoff, which doubles with each call until {@link forget}. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    this.metrics?.retried();
    const delay = backoffDelay(failures, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure count after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures of a key since it last succeeded. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; resolves undefined once the queue shuts down. Call {@link done} after. */
  async get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.metrics?.depth(this.queue.length);
      this.dirty.delete(key);
      this.processing.add(key);
      return key;
    }
    if (this.shuttingDown) return undefined;
    return await new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key processed; a key added meanwhile is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
  }

  /** Stops handing out keys: pending and future `get` calls resolve undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
