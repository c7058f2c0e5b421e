// AppPlatform on a Kubernetes apiserver.
import {
  PatchStrategy, setHeaderOptions,
  type AppsV1Api, type CoreV1Api, type CustomObjectsApi, type V1Deployment, type V1EnvVar,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, HOTMESH_APP, VERSION, type HotMeshApp, type HotMeshAppStatus } from '../api/index.ts';
import type { AppPlatform, EngineWorkload, WorkloadEnv, WorkloadState } from '../app/platform.ts';
import type { ObjectKey } from '../reconciler.ts';
import { httpStatus, readSecretKey } from './api-errors.ts';
import type { EventRecorder } from './event-recorder.ts';

/** Field manager of every write the operator makes. */
export const FIELD_MANAGER = 'hotmesh-operator';
/** Label on every object the operator creates, for its watches. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** Attempts of a finalizer write that loses a 409 race before the reconcile fails and backs off. */
const CONFLICT_ATTEMPTS = 3;

/** Options of a {@link KubeAppPlatform}. */
export interface KubeAppPlatformOptions {
  custom: CustomObjectsApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  events: EventRecorder;
  /** Image of the engine pods; they run `hotmesh engine`. */
  engineImage: string;
  /** Hook called before each finalizer write, for tests that race it. */
  beforeFinalizerWrite?: (app: HotMeshApp) => Promise<void>;
}

export class KubeAppPlatform implements AppPlatform {
  private readonly options: KubeAppPlatformOptions;

  constructor(options: KubeAppPlatformOptions) {
    this.options = options;
  }

  async getApp(key: ObjectKey): Promise<HotMeshApp | undefined> {
    try {
      return await this.options.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: HOTMESH_APP.plural, namespace: key.namespace, name: key.name }) as HotMeshApp;
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async addFinalizer(app: HotMeshApp, finalizer: string): Promise<HotMeshApp> {
    return await this.patchFinalizers(app, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
  }

  async removeFinalizer(app: HotMeshApp, finalizer: string): Promise<void> {
    await this.patchFinalizers(app, (list) => (list.includes(finalizer) ? list.filter((entry) => entry !== finalizer) : undefined));
  }

  /**
   * Writes the finalizer list computed by `change` with the read
   * resourceVersion as a precondition. On 409 it reads the object again and
   * retries, so a concurrent spec edit never loses another finalizer.
   */
  private async patchFinalizers(app: HotMeshApp, change: (list: string[]) => string[] | undefined): Promise<HotMeshApp> {
    let current: HotMeshApp | undefined = app;
    for (let attempt = 1; ; attempt++) {
      const next = change(current.metadata.finalizers ?? []);
      if (next === undefined) return current;
      await this.options.beforeFinalizerWrite?.(current);
      try {
        return await this.options.custom.patchNamespacedCustomObject({
          group: GROUP, version: VERSION, plural: HOTMESH_APP.plural, namespace: current.metadata.namespace!, name: current.metadata.name!,
          body: { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: next } },
          fieldManager: FIELD_MANAGER,
        }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as HotMeshApp;
      } catch (error) {
        const status = httpStatus(error);
        if (status === 404) return current;
        if (status !== 409 || attempt >= CONFLICT_ATTEMPTS) throw error;
      }
      current = await this.getApp({ namespace: app.metadata.namespace!, name: app.metadata.name! });
      if (!current) return app;
    }
  }

  // A merge patch of /status without a resourceVersion: it cannot conflict,
  // and the operator is the only writer of the status.
  async writeStatus(app: HotMeshApp, status: HotMeshAppStatus): Promise<void> {
    try {
      await this.options.custom.patchNamespacedCustomObjectStatus({
        group: GROUP, version: VERSION, plural: HOTMESH_APP.plural, namespace: app.metadata.namespace!, name: app.metadata.name!,
        body: { status }, fieldManager: FIELD_MANAGER,
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (error) {
      if (httpStatus(error) !== 404) throw error;
    }
  }

  async readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    try {
      const configMap = await this.options.core.readNamespacedConfigMap({ namespace, name });
      return configMap.data?.[key];
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    return readSecretKey(this.options.core, namespace, name, key);
  }

  async applyEngine(app: HotMeshApp, workload: EngineWorkload): Promise<WorkloadState> {
    const applied = await this.options.apps.patchNamespacedDeployment({
      namespace: app.metadata.namespace!, name: workload.name, body: engineDeployment(app, workload, this.options.engineImage),
      fieldManager: FIELD_MANAGER, force: true,
    }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply));
    return { name: workload.name, replicas: applied.status?.replicas ?? 0, readyReplicas: applied.status?.readyReplicas ?? 0 };
  }

  async emitEvent(app: HotMeshApp, type: 'Normal' | 'Warning', reason: string, action: string, message: string): Promise<void> {
    await this.options.events.emit(app, type, reason, action, message);
  }
}

/** Labels of an app's engine pods. */
export function engineLabels(app: HotMeshApp): Record<string, string> {
  return { 'app.kubernetes.io/name': 'hotmesh-engine', 'app.kubernetes.io/instance': app.metadata.name!, 'hotmesh.io/app': app.spec.appId };
}

/** Turns an injected variable into a container's env entry. */
export function toEnvVar(entry: WorkloadEnv): V1EnvVar {
  if (entry.secretKeyRef) return { name: entry.name, valueFrom: { secretKeyRef: { name: entry.secretKeyRef.name, key: entry.secretKeyRef.key } } };
  if (entry.fieldRef) return { name: entry.name, valueFrom: { fieldRef: { fieldPath: entry.fieldRef } } };
  return { name: entry.name, value: entry.value ?? '' };
}

/** Builds the Deployment of an app's engines for server-side apply. */
export function engineDeployment(app: HotMeshApp, workload: EngineWorkload, image: string): V1Deployment {
  const labels = engineLabels(app);
  const env = workload.env.map(toEnvVar);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: workload.name,
      namespace: app.metadata.namespace,
      labels: { ...labels, [MANAGED_BY_LABEL]: FIELD_MANAGER },
      ownerReferences: [{ apiVersion: API_VERSION, kind: HOTMESH_APP.kind, name: app.metadata.name!, uid: app.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: workload.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [{ name: 'engine', image, command: ['hotmesh', 'engine'], env }],
        },
      },
    },
  };
}
