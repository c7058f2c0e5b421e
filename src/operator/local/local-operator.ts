// The operator without a cluster: the HotMeshApp and HotMeshWorker
// reconcilers of `hotmesh operator`, run against a LocalCluster that reads
// custom resources from a folder and runs workloads as local processes.
import type { Logger } from 'winston';
import { RedisPool } from '../app/redis-pool.ts';
import { AppReconciler } from '../app/app-reconciler.ts';
import { Controller } from '../kube/controller.ts';
import { formatKey } from '../reconciler.ts';
import { BacklogPoller } from '../worker/backlog-poller.ts';
import { WorkerReconciler } from '../worker/worker-reconciler.ts';
import { LocalCluster, type LocalEvent } from './local-cluster.ts';

/** Options of a {@link LocalOperator}. */
export interface LocalOperatorOptions {
  /** Folder of HotMeshApp, HotMeshWorker, Secret and ConfigMap YAML files. */
  folder: string;
  /** Redis every app uses instead of the one its spec names. */
  redisUrl?: string;
  logger: Logger;
  onEvent?: (event: LocalEvent) => void;
}

export class LocalOperator {
  readonly cluster: LocalCluster;
  private readonly redis: RedisPool;
  private readonly poller: BacklogPoller;
  private readonly apps: Controller;
  private readonly workers: Controller;

  constructor(options: LocalOperatorOptions) {
    const logger = options.logger;
    this.cluster = new LocalCluster({
      folder: options.folder,
      logger,
      redisUrl: options.redisUrl,
      onEvent: options.onEvent,
      onChange: (kind, key) => (kind === 'HotMeshApp' ? this.apps : this.workers).queue.add(formatKey(key)),
    });
    this.redis = new RedisPool(logger.child({ component: 'redis' }));
    this.poller = new BacklogPoller({ redis: this.redis, logger: logger.child({ component: 'backlog-poller' }), onPolled: (key) => this.workers.queue.add(key) });
    this.apps = new Controller({ name: 'hotmeshapp', reconciler: new AppReconciler({ platform: this.cluster, redis: this.redis, logger }), logger });
    this.workers = new Controller({ name: 'hotmeshworker', reconciler: new WorkerReconciler({ platform: this.cluster, poller: this.poller, logger, missingReferenceRetryMs: 1000 }), logger });
  }

  /** Loads the folder, starts reconciling, and follows edits to its files. */
  start(): void {
    this.apps.start();
    this.workers.start();
    this.cluster.load();
    this.cluster.watch();
  }

  /** Stops reconciling and every process it started. */
  async stop(): Promise<void> {
    this.poller.stop();
    await this.apps.stop();
    await this.workers.stop();
    await this.cluster.close();
    await this.redis.close();
  }
}
