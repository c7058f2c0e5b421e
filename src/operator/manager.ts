// The controller manager behind `hotmesh operator`: watches, work queues,
// the HotMeshApp and HotMeshWorker reconcilers with the worker backlog
// poller, leader election, probes and metrics.
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import {
  AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api,
  type KubeConfig, type KubernetesObject, type V1Deployment,
} from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { GROUP, HOTMESH_APP, HOTMESH_WORKER, VERSION, type HotMeshApp, type HotMeshWorker } from './api/index.ts';
import { AppReconciler } from './app/app-reconciler.ts';
import type { CleanupOptions } from './app/finalize.ts';
import { RedisPool } from './app/redis-pool.ts';
import type { BackoffOptions } from './kube/backoff.ts';
import { Controller } from './kube/controller.ts';
import { EventRecorder } from './kube/event-recorder.ts';
import { FIELD_MANAGER, KubeAppPlatform, MANAGED_BY_LABEL } from './kube/kube-app-platform.ts';
import { KubeWorkerPlatform } from './kube/kube-worker-platform.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { OperatorMetrics } from './kube/metrics.ts';
import { probeRoute, serve, type ListenAddress } from './kube/probe-server.ts';
import { ResourceWatcher, type ListResult } from './kube/resource-watcher.ts';
import { BacklogPoller } from './worker/backlog-poller.ts';
import { WorkerReconciler } from './worker/worker-reconciler.ts';

/** Leader election settings; see LeaderElector for the timing rules. */
export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** Watch tuning; the defaults suit production, tests shorten them. */
export interface WatchSettings {
  timeoutSeconds?: number;
  idleTimeoutMs?: number;
  relistIntervalMs?: number;
  backoff?: BackoffOptions;
  minRestartIntervalMs?: number;
}

/** Options of an {@link Operator}. */
export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string;
  healthAddress?: ListenAddress;
  metricsAddress?: ListenAddress;
  /** Run only while holding this Lease; absent: always run. */
  leaderElection?: LeaderElectionSettings;
  engineImage: string;
  logger: Logger;
  watch?: WatchSettings;
  cleanup?: Partial<CleanupOptions>;
  /** Called when leadership is lost; the process should exit, as controller-runtime's does. */
  onLeadershipLost?: () => void;
  /** Test hook before each finalizer write. */
  beforeFinalizerWrite?: (app: HotMeshApp) => Promise<void>;
  /** Delay before a worker looks again for its missing app or Secret, ms. @default 30000 */
  workerMissingReferenceRetryMs?: number;
  /** How often each converged HotMeshApp is reconciled again to repair drift in Redis, ms. @default 300000 */
  appResyncMs?: number;
}

/** A watch with no success for this long fails /healthz, ms. */
const WATCH_STALE_MS = 10 * 60_000;
const APP_CONTROLLER = 'hotmeshapp';
const WORKER_CONTROLLER = 'hotmeshworker';

/** Fields whose change needs a reconcile; status-only updates do not. */
function appFingerprint(object: KubernetesObject & { metadata?: { generation?: number; deletionTimestamp?: unknown } }): string {
  const metadata = object.metadata ?? {};
  return JSON.stringify([metadata.generation, metadata.deletionTimestamp, metadata.annotations, metadata.labels, metadata.finalizers]);
}

export class Operator {
  readonly metrics = new OperatorMetrics();
  private readonly options: OperatorOptions;
  private readonly log: Logger;
  private readonly redis: RedisPool;
  private readonly appController: Controller;
  private readonly workerController: Controller;
  private readonly poller: BacklogPoller;
  /** Per worker key `namespace/name`: the name of the HotMeshApp it refers to, so an app change queues its workers. */
  private readonly workerApps = new Map<string, string>();
  private readonly watchers: ResourceWatcher[] = [];
  private readonly fingerprints = new Map<string, string>();
  private readonly servers: Server[] = [];
  private elector: LeaderElector | undefined;
  private leading = false;
  private stopping = false;

  private constructor(options: OperatorOptions) {
    this.options = options;
    this.log = options.logger;
    this.redis = new RedisPool(this.log.child({ component: 'redis' }));
    const kubeConfig = options.kubeConfig;
    const identity = options.leaderElection?.identity ?? `${hostname()}-${process.pid}`;
    const events = new EventRecorder({ client: kubeConfig.makeApiClient(EventsV1Api), controller: 'hotmesh.io/operator', instance: identity, logger: this.log });
    const platform = new KubeAppPlatform({
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      core: kubeConfig.makeApiClient(CoreV1Api),
      apps: kubeConfig.makeApiClient(AppsV1Api),
      events,
      engineImage: options.engineImage,
      beforeFinalizerWrite: options.beforeFinalizerWrite,
    });
    const reconciler = new AppReconciler({ platform, redis: this.redis, logger: this.log.child({ controller: APP_CONTROLLER }), cleanup: options.cleanup, resyncMs: options.appResyncMs });
    this.appController = new Controller({ name: APP_CONTROLLER, reconciler, logger: this.log, metrics: this.metrics });

    const workerPlatform = new KubeWorkerPlatform({
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      core: kubeConfig.makeApiClient(CoreV1Api),
      apps: kubeConfig.makeApiClient(AppsV1Api),
      events,
    });
    this.poller = new BacklogPoller({
      redis: this.redis,
      logger: this.log.child({ component: 'backlog-poller' }),
      onPolled: (key) => this.workerController.queue.add(key),
    });
    const workerReconciler = new WorkerReconciler({
      platform: workerPlatform, poller: this.poller, logger: this.log.child({ controller: WORKER_CONTROLLER }), missingReferenceRetryMs: options.workerMissingReferenceRetryMs,
    });
    this.workerController = new Controller({ name: WORKER_CONTROLLER, reconciler: workerReconciler, logger: this.log, metrics: this.metrics });
  }

  /** Starts the probe and metrics servers, then the controllers (after winning the lease, when leader election is on). */
  static async start(options: OperatorOptions): Promise<Operator> {
    const operator = new Operator(options);
    await operator.startServers();
    const election = options.leaderElection;
    if (!election) {
      operator.startControllers();
      return operator;
    }
    operator.elector = new LeaderElector({
      client: options.kubeConfig.makeApiClient(CoordinationV1Api),
      namespace: election.namespace,
      name: election.name,
      identity: election.identity ?? `${hostname()}-${process.pid}`,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      logger: operator.log.child({ component: 'leader-election' }),
      onStatus: (leading) => operator.metrics.leader(election.name, leading),
      onStartedLeading: () => operator.startControllers(),
      onStoppedLeading: () => {
        if (operator.stopping) return;
        void operator.stopControllers();
        options.onLeadershipLost?.();
      },
    });
    operator.elector.start();
    return operator;
  }

  /** Addresses the probe and metrics servers listen on, `host:port`. */
  get addresses(): { health?: string; metrics?: string } {
    const describe = (server: Server | undefined): string | undefined => {
      const address = server?.address();
      return address && typeof address === 'object' ? `${address.address}:${address.port}` : undefined;
    };
    return { health: describe(this.servers.find((server) => (server as Server & { role?: string }).role === 'health')), metrics: describe(this.servers.find((server) => (server as Server & { role?: string }).role === 'metrics')) };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Stops the controllers, releases the lease, closes servers and Redis connections. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.stopControllers();
    await this.elector?.stop();
    await Promise.allSettled(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await this.redis.close();
    this.log.info('operator stopped', {});
  }

  private async startServers(): Promise<void> {
    const { healthAddress, metricsAddress } = this.options;
    if (healthAddress) {
      const server = await serve(healthAddress, {
        '/healthz': probeRoute({ watches: () => this.watchHealth() }),
        '/readyz': probeRoute({ caches: () => this.cacheReadiness() }),
      });
      Object.assign(server, { role: 'health' });
      this.servers.push(server);
    }
    if (metricsAddress) {
      const server = await serve(metricsAddress, {
        '/metrics': async () => ({ status: 200, type: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
      });
      Object.assign(server, { role: 'metrics' });
      this.servers.push(server);
    }
  }

  private watchHealth(): string | undefined {
    if (!this.leading) return undefined;
    const stale = this.watchers.filter((watcher) => watcher.synced && Date.now() - watcher.lastSuccessAt > WATCH_STALE_MS);
    return stale.length > 0 ? `no list or watch succeeded for ${WATCH_STALE_MS / 60_000} min` : undefined;
  }

  private cacheReadiness(): string | undefined {
    if (!this.leading) return undefined;
    return this.watchers.every((watcher) => watcher.synced) ? undefined : 'initial list not done yet';
  }

  private startControllers(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    this.log.info('starting controllers', { namespace: this.options.namespace ?? '(all)' });
    this.watchers.push(this.appWatcher(), this.workerWatcher(), this.deploymentWatcher());
    for (const watcher of this.watchers) watcher.start();
    this.appController.start();
    this.workerController.start();
  }

  private async stopControllers(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    await Promise.all(this.watchers.map((watcher) => watcher.stop()));
    this.watchers.length = 0;
    await this.appController.stop();
    await this.workerController.stop();
    this.poller.stop();
  }

  private appWatcher(): ResourceWatcher {
    const custom = this.options.kubeConfig.makeApiClient(CustomObjectsApi);
    const namespace = this.options.namespace;
    const base = `/apis/${GROUP}/${VERSION}`;
    return new ResourceWatcher({
      resource: HOTMESH_APP.plural,
      kubeConfig: this.options.kubeConfig,
      path: namespace ? `${base}/namespaces/${namespace}/${HOTMESH_APP.plural}` : `${base}/${HOTMESH_APP.plural}`,
      list: async (): Promise<ListResult> => {
        const list = (namespace
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: HOTMESH_APP.plural, namespace })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: HOTMESH_APP.plural })) as { items: KubernetesObject[]; metadata: { resourceVersion: string } };
        return { items: list.items, resourceVersion: list.metadata.resourceVersion };
      },
      onChange: (object, deleted) => this.onAppChange(object, deleted),
      logger: this.log.child({ component: 'watch' }),
      metrics: this.metrics.watcher(),
      ...this.watchTuning(),
    });
  }

  private workerWatcher(): ResourceWatcher {
    const custom = this.options.kubeConfig.makeApiClient(CustomObjectsApi);
    const namespace = this.options.namespace;
    const base = `/apis/${GROUP}/${VERSION}`;
    return new ResourceWatcher({
      resource: HOTMESH_WORKER.plural,
      kubeConfig: this.options.kubeConfig,
      path: namespace ? `${base}/namespaces/${namespace}/${HOTMESH_WORKER.plural}` : `${base}/${HOTMESH_WORKER.plural}`,
      list: async (): Promise<ListResult> => {
        const list = (namespace
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: HOTMESH_WORKER.plural, namespace })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: HOTMESH_WORKER.plural })) as { items: KubernetesObject[]; metadata: { resourceVersion: string } };
        return { items: list.items, resourceVersion: list.metadata.resourceVersion };
      },
      onChange: (object, deleted) => this.onWorkerChange(object as HotMeshWorker, deleted),
      logger: this.log.child({ component: 'watch' }),
      metrics: this.metrics.watcher(),
      ...this.watchTuning(),
    });
  }

  /** Watches the Deployments the operator owns and queues the app or worker that owns each. */
  private deploymentWatcher(): ResourceWatcher {
    const apps = this.options.kubeConfig.makeApiClient(AppsV1Api);
    const namespace = this.options.namespace;
    const labelSelector = `${MANAGED_BY_LABEL}=${FIELD_MANAGER}`;
    return new ResourceWatcher({
      resource: 'deployments',
      kubeConfig: this.options.kubeConfig,
      path: namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments',
      labelSelector,
      list: async (): Promise<ListResult> => {
        const list = namespace ? await apps.listNamespacedDeployment({ namespace, labelSelector }) : await apps.listDeploymentForAllNamespaces({ labelSelector });
        return { items: list.items as KubernetesObject[], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      onChange: (object) => {
        const owner = (object as V1Deployment).metadata?.ownerReferences?.find((reference) => reference.controller);
        if (owner?.kind === HOTMESH_APP.kind) this.appController.enqueue(object.metadata?.namespace ?? '', owner.name);
        if (owner?.kind === HOTMESH_WORKER.kind) this.workerController.enqueue(object.metadata?.namespace ?? '', owner.name);
      },
      logger: this.log.child({ component: 'watch' }),
      metrics: this.metrics.watcher(),
      ...this.watchTuning(),
    });
  }

  private watchTuning(): Partial<ConstructorParameters<typeof ResourceWatcher>[0]> {
    const watch = this.options.watch ?? {};
    return {
      watchTimeoutSeconds: watch.timeoutSeconds,
      idleTimeoutMs: watch.idleTimeoutMs,
      relistIntervalMs: watch.relistIntervalMs,
      backoff: watch.backoff,
      minRestartIntervalMs: watch.minRestartIntervalMs,
    };
  }

  private onAppChange(object: KubernetesObject, deleted: boolean): void {
    const key = `${object.metadata?.namespace}/${object.metadata?.name}`;
    if (deleted) {
      this.fingerprints.delete(key);
      this.enqueueWorkersOf(object.metadata?.namespace ?? '', object.metadata?.name ?? '');
      return;
    }
    const fingerprint = appFingerprint(object);
    if (this.fingerprints.get(key) === fingerprint) return;
    this.fingerprints.set(key, fingerprint);
    this.appController.enqueue(object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    this.enqueueWorkersOf(object.metadata?.namespace ?? '', object.metadata?.name ?? '');
  }

  // Workers read their app's Redis settings, so an app change, including its
  // creation after the worker's, queues them.
  private enqueueWorkersOf(namespace: string, appName: string): void {
    for (const [key, referenced] of this.workerApps) {
      const slash = key.indexOf('/');
      if (referenced === appName && key.slice(0, slash) === namespace) this.workerController.enqueue(namespace, key.slice(slash + 1));
    }
  }

  private onWorkerChange(worker: HotMeshWorker, deleted: boolean): void {
    const namespace = worker.metadata?.namespace ?? '';
    const name = worker.metadata?.name ?? '';
    const key = `worker:${namespace}/${name}`;
    if (deleted) {
      this.fingerprints.delete(key);
      this.workerApps.delete(`${namespace}/${name}`);
      this.workerController.enqueue(namespace, name);
      return;
    }
    this.workerApps.set(`${namespace}/${name}`, worker.spec?.appRef?.name ?? '');
    const fingerprint = appFingerprint(worker);
    if (this.fingerprints.get(key) === fingerprint) return;
    this.fingerprints.set(key, fingerprint);
    this.workerController.enqueue(namespace, name);
  }
}
