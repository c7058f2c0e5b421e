// Prometheus metrics under controller-runtime's names, so dashboards made
// for Go operators work unchanged, plus a few of the operator's own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatcherMetrics, WatchRestartReason } from './resource-watcher.ts';
import type { WorkQueueMetrics } from './work-queue.ts';

/** Outcome label of controller_runtime_reconcile_total, as controller-runtime names them. */
export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly terminalErrors: Counter<'controller'>;
  private readonly reconcileTime: Histogram<'controller'>;
  private readonly activeWorkers: Gauge<'controller'>;
  private readonly maxConcurrent: Gauge<'controller'>;
  private readonly queueDepth: Gauge<'name' | 'controller'>;
  private readonly queueAdds: Counter<'name' | 'controller'>;
  private readonly queueRetries: Counter<'name' | 'controller'>;
  private readonly leaderStatus: Gauge<'name'>;
  private readonly watchRestarts: Counter<'resource' | 'reason'>;
  private readonly watchLists: Counter<'resource'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.terminalErrors = new Counter({ name: 'controller_runtime_terminal_reconcile_errors_total', help: 'Total number of terminal reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60],
      registers,
    });
    this.activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.maxConcurrent = new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers });
    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.leaderStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master', labelNames: ['name'], registers });
    this.watchRestarts = new Counter({ name: 'hotmesh_operator_watch_restarts_total', help: 'Watch requests ended, by why: closed, error, expired (410), stalled, relist', labelNames: ['resource', 'reason'], registers });
    this.watchLists = new Counter({ name: 'hotmesh_operator_watch_lists_total', help: 'Full lists of a watched resource', labelNames: ['resource'], registers });
  }

  /** Records one reconcile of `controller`. */
  reconciled(controller: string, result: ReconcileResultLabel, seconds: number, terminal = false): void {
    this.reconcileTotal.inc({ controller, result });
    this.reconcileTime.observe({ controller }, seconds);
    if (result === 'error') this.reconcileErrors.inc({ controller });
    if (terminal) this.terminalErrors.inc({ controller });
  }

  workers(controller: string, active: number, max: number): void {
    this.activeWorkers.set({ controller }, active);
    this.maxConcurrent.set({ controller }, max);
  }

  /** Hooks for the work queue of `controller`. */
  queue(controller: string): WorkQueueMetrics {
    const labels = { name: controller, controller };
    return {
      depth: (value) => this.queueDepth.set(labels, value),
      added: () => this.queueAdds.inc(labels),
      retried: () => this.queueRetries.inc(labels),
    };
  }

  /** Hooks for watchers. */
  watcher(): WatcherMetrics {
    return {
      restarted: (resource: string, reason: WatchRestartReason) => this.watchRestarts.inc({ resource, reason }),
      listed: (resource: string) => this.watchLists.inc({ resource }),
    };
  }

  leader(lease: string, leading: boolean): void {
    this.leaderStatus.set({ name: lease }, leading ? 1 : 0);
  }
}
