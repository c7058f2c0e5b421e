// Runs a reconciler over the keys of a work queue and applies the
// reconcile contract (see Reconciler) in one place.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'winston';
import { formatKey, parseKey, TerminalError, type Reconciler } from '../reconciler.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue, type WorkQueueOptions } from './work-queue.ts';

/** Options of a {@link Controller}. */
export interface ControllerOptions {
  /** Name in logs and metrics, e.g. hotmeshapp. */
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  metrics?: OperatorMetrics;
  /** Keys reconciled at once; one key is never reconciled twice at once. @default 2 */
  workers?: number;
  queue?: Omit<WorkQueueOptions, 'metrics'>;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private loops: Promise<void>[] = [];
  private active = 0;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.log = options.logger.child({ controller: options.name });
    this.queue = new WorkQueue({ ...options.queue, metrics: options.metrics?.queue(options.name) });
  }

  /** Starts the workers. */
  start(): void {
    const workers = this.options.workers ?? 2;
    this.options.metrics?.workers(this.options.name, 0, workers);
    for (let index = 0; index < workers; index++) this.loops.push(this.work());
  }

  /** Stops handing out keys and waits for reconciles in progress. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.active++;
      this.options.metrics?.workers(this.options.name, this.active, this.options.workers ?? 2);
      try {
        await this.reconcileKey(key);
      } finally {
        this.active--;
        this.options.metrics?.workers(this.options.name, this.active, this.options.workers ?? 2);
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(text: string): Promise<void> {
    const key = parseKey(text);
    const log = this.log.child({ namespace: key.namespace, name: key.name, reconcileId: randomUUID() });
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await this.options.reconciler.reconcile(key);
      this.queue.forget(text);
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.addAfter(text, result.requeueAfterMs);
        this.options.metrics?.reconciled(this.options.name, 'requeue_after', seconds());
      } else {
        this.options.metrics?.reconciled(this.options.name, 'success', seconds());
      }
      log.debug('reconciled', { requeueAfterMs: result.requeueAfterMs, seconds: seconds() });
    } catch (error) {
      if (error instanceof TerminalError) {
        this.queue.forget(text);
        this.options.metrics?.reconciled(this.options.name, 'error', seconds(), true);
        log.error('reconcile failed; not retrying until the object changes', { err: error.message });
        return;
      }
      const delayMs = this.queue.addRateLimited(text);
      this.options.metrics?.reconciled(this.options.name, 'error', seconds());
      log.error('reconcile failed; retrying', { err: (error as Error).message, retries: this.queue.retries(text), delayMs });
    }
  }

  /** Queues an object's key. */
  enqueue(namespace: string, name: string): void {
    this.queue.add(formatKey({ namespace, name }));
  }
}
