// A cluster without Kubernetes, for the local mode and the demo: custom
// resources, Secrets and ConfigMaps come from the YAML files of a folder,
// statuses and events stay in memory, and workloads run as local processes.
// It implements both platform interfaces, so the HotMeshApp and
// HotMeshWorker reconcilers run unchanged.
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import type { Logger } from 'winston';
import type { HotMeshApp, HotMeshAppStatus, HotMeshWorker, HotMeshWorkerStatus } from '../api/index.ts';
import type { AppPlatform, EngineWorkload, WorkloadEnv, WorkloadState } from '../app/platform.ts';
import { formatKey, type ObjectKey } from '../reconciler.ts';
import type { WorkerPlatform, WorkerWorkload, WorkerWorkloadState } from '../worker/platform.ts';
import { ProcessPool } from './process-pool.ts';

/** An event the local cluster recorded. */
export interface LocalEvent {
  at: Date;
  kind: string;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

type Resource = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string }; spec?: unknown; data?: Record<string, string>; stringData?: Record<string, string> };

/** Options of a {@link LocalCluster}. */
export interface LocalClusterOptions {
  folder: string;
  logger: Logger;
  /** Namespace of resources that name none. @default default */
  namespace?: string;
  /** Called when a resource appears, changes or goes away. */
  onChange?: (kind: 'HotMeshApp' | 'HotMeshWorker', key: ObjectKey) => void;
  /** Called for every event. */
  onEvent?: (event: LocalEvent) => void;
  /** Redis every app uses, replacing spec.redis.url and urlFrom (the samples name an in-cluster Redis). */
  redisUrl?: string;
}

export class LocalCluster implements AppPlatform, WorkerPlatform {
  readonly pool: ProcessPool;
  readonly events: LocalEvent[] = [];
  private readonly options: LocalClusterOptions;
  private readonly apps = new Map<string, HotMeshApp>();
  private readonly workers = new Map<string, HotMeshWorker>();
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly configMaps = new Map<string, Record<string, string>>();
  private watcher: FSWatcher | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(options: LocalClusterOptions) {
    this.options = options;
    this.pool = new ProcessPool(options.logger);
  }

  /** Reads every YAML file of the folder; resources whose spec changed get a new generation. */
  load(): void {
    const seen = new Set<string>();
    const files = readdirSync(this.options.folder).filter((file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml').sort();
    for (const file of files) {
      const text = readFileSync(join(this.options.folder, file), 'utf8');
      let documents: unknown[];
      try {
        documents = loadAll(text);
      } catch (error) {
        this.options.logger.error('cannot read a sample file; keeping what was loaded before', { file, err: (error as Error).message });
        for (const key of [...this.apps.keys(), ...this.workers.keys()]) seen.add(key);
        continue;
      }
      for (const document of documents) {
        if (document === null || typeof document !== 'object') continue;
        seen.add(this.store(document as Resource));
      }
    }
    for (const [key, app] of this.apps) {
      if (seen.has(`HotMeshApp/${key}`)) continue;
      this.apps.delete(key);
      this.options.onChange?.('HotMeshApp', keyOf(app));
    }
    for (const [key, worker] of this.workers) {
      if (seen.has(`HotMeshWorker/${key}`)) continue;
      this.workers.delete(key);
      this.options.onChange?.('HotMeshWorker', keyOf(worker));
    }
  }

  /** Reloads the folder when a file changes, as a Git sync would apply a commit. */
  watch(): void {
    this.watcher = watch(this.options.folder, () => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => this.load(), 200);
    });
  }

  /** Stops watching and stops every process. */
  async close(): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.reloadTimer);
    await this.pool.stopAll();
  }

  listApps(): HotMeshApp[] {
    return [...this.apps.values()];
  }

  listWorkers(): HotMeshWorker[] {
    return [...this.workers.values()];
  }

  private store(resource: Resource): string {
    const namespace = resource.metadata?.namespace ?? this.options.namespace ?? 'default';
    const name = resource.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    switch (resource.kind) {
      case 'Secret': {
        const data: Record<string, string> = {};
        for (const [field, value] of Object.entries(resource.data ?? {})) data[field] = Buffer.from(value, 'base64').toString('utf8');
        Object.assign(data, resource.stringData ?? {});
        this.secrets.set(key, data);
        return `Secret/${key}`;
      }
      case 'ConfigMap':
        this.configMaps.set(key, resource.data ?? {});
        return `ConfigMap/${key}`;
      case 'HotMeshApp':
      case 'HotMeshWorker': {
        const map = (resource.kind === 'HotMeshApp' ? this.apps : this.workers) as Map<string, HotMeshApp | HotMeshWorker>;
        const previous = map.get(key);
        if (resource.kind === 'HotMeshApp' && this.options.redisUrl && resource.spec && typeof resource.spec === 'object') {
          const spec = resource.spec as { redis?: Record<string, unknown> };
          spec.redis = { ...(spec.redis ?? {}), url: this.options.redisUrl };
          delete spec.redis.urlFrom;
        }
        if (previous && JSON.stringify(previous.spec) === JSON.stringify(resource.spec)) return `${resource.kind}/${key}`;
        const generation = (previous?.metadata.generation ?? 0) + 1;
        const object = {
          ...resource,
          metadata: { ...resource.metadata, name, namespace, generation, uid: previous?.metadata.uid ?? `local-${name}`, finalizers: previous?.metadata.finalizers ?? [], creationTimestamp: previous?.metadata.creationTimestamp ?? new Date() },
          status: previous?.status,
        } as HotMeshApp | HotMeshWorker;
        map.set(key, object);
        this.options.onChange?.(resource.kind, { namespace, name });
        return `${resource.kind}/${key}`;
      }
      default:
        return `${resource.kind}/${key}`;
    }
  }

  // ---- both platforms ------------------------------------------------------

  async getApp(key: ObjectKey): Promise<HotMeshApp | undefined> {
    return this.apps.get(formatKey(key));
  }

  async getWorker(key: ObjectKey): Promise<HotMeshWorker | undefined> {
    return this.workers.get(formatKey(key));
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    return this.secrets.get(`${namespace}/${name}`)?.[key];
  }

  async readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    return this.configMaps.get(`${namespace}/${name}`)?.[key];
  }

  async writeStatus(object: HotMeshApp | HotMeshWorker, status: HotMeshAppStatus | HotMeshWorkerStatus): Promise<void> {
    const map = (object.kind === 'HotMeshApp' ? this.apps : this.workers) as Map<string, HotMeshApp | HotMeshWorker>;
    const current = map.get(formatKey(keyOf(object)));
    if (current) current.status = { ...(current.status ?? {}), ...status } as never;
  }

  async emitEvent(object: HotMeshApp | HotMeshWorker, type: 'Normal' | 'Warning', reason: string, _action: string, message: string): Promise<void> {
    const event: LocalEvent = { at: new Date(), kind: object.kind, name: object.metadata.name ?? '', type, reason, message };
    this.events.push(event);
    this.options.onEvent?.(event);
  }

  // ---- AppPlatform ---------------------------------------------------------

  async addFinalizer(app: HotMeshApp, finalizer: string): Promise<HotMeshApp> {
    const finalizers = new Set(app.metadata.finalizers ?? []);
    finalizers.add(finalizer);
    app.metadata.finalizers = [...finalizers];
    return app;
  }

  async removeFinalizer(app: HotMeshApp, finalizer: string): Promise<void> {
    app.metadata.finalizers = (app.metadata.finalizers ?? []).filter((name) => name !== finalizer);
  }

  async applyEngine(app: HotMeshApp, workload: EngineWorkload): Promise<WorkloadState> {
    const env = await this.resolveEnv(app.metadata.namespace ?? 'default', workload.env);
    this.pool.scale(workload.name, workload.replicas, { command: ['hotmesh', 'engine'], env: { ...env, HOTMESH_LOG_LEVEL: process.env.HOTMESH_LOG_LEVEL ?? 'warn' }, graceMs: 10_000 });
    return { name: workload.name, ...(this.pool.state(workload.name) ?? { replicas: 0, readyReplicas: 0 }) };
  }

  // ---- WorkerPlatform ------------------------------------------------------

  async applyWorkload(worker: HotMeshWorker, workload: WorkerWorkload): Promise<WorkerWorkloadState> {
    const container = workload.template.spec?.containers?.[0];
    const namespace = worker.metadata.namespace ?? 'default';
    const templateEnv: WorkloadEnv[] = (container?.env ?? []).map((entry) => ({ name: entry.name, value: entry.value, secretKeyRef: entry.valueFrom?.secretKeyRef ? { name: entry.valueFrom.secretKeyRef.name ?? '', key: entry.valueFrom.secretKeyRef.key } : undefined }));
    const merged = new Map<string, WorkloadEnv>();
    for (const entry of workload.defaultEnv) merged.set(entry.name, entry);
    for (const entry of templateEnv) merged.set(entry.name, entry);
    for (const entry of workload.env) merged.set(entry.name, entry);
    const env = await this.resolveEnv(namespace, [...merged.values()]);
    const command = [...(container?.command ?? []), ...(container?.args ?? [])];
    const graceMs = (workload.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    this.pool.scale(workload.name, workload.replicas, { command, env: { HOTMESH_LOG_LEVEL: process.env.HOTMESH_LOG_LEVEL ?? 'warn', ...env }, graceMs });
    return { name: workload.name, specReplicas: workload.replicas, ...(this.pool.state(workload.name) ?? { replicas: 0, readyReplicas: 0 }) };
  }

  async readWorkload(_worker: HotMeshWorker, name: string): Promise<WorkerWorkloadState | undefined> {
    const state = this.pool.state(name);
    return state ? { name, specReplicas: state.replicas, ...state } : undefined;
  }

  private async resolveEnv(namespace: string, entries: WorkloadEnv[]): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const entry of entries) {
      if (entry.value !== undefined) env[entry.name] = entry.value;
      else if (entry.secretKeyRef) {
        const value = await this.readSecretKey(namespace, entry.secretKeyRef.name, entry.secretKeyRef.key);
        if (value !== undefined) env[entry.name] = value;
      }
    }
    return env;
  }
}

function keyOf(object: { metadata: { namespace?: string; name?: string } }): ObjectKey {
  return { namespace: object.metadata.namespace ?? 'default', name: object.metadata.name ?? '' };
}
