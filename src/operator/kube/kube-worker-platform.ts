// WorkerPlatform on a Kubernetes apiserver: HotMeshWorker reads and status
// writes, and the worker Deployment by server-side apply under its own
// field manager.
import {
  PatchStrategy, setHeaderOptions,
  type AppsV1Api, type CoreV1Api, type CustomObjectsApi, type V1Container, type V1Deployment, type V1EnvVar,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, HOTMESH_APP, HOTMESH_WORKER, VERSION, type HotMeshApp, type HotMeshWorker, type HotMeshWorkerStatus } from '../api/index.ts';
import type { ObjectKey } from '../reconciler.ts';
import { InvalidWorkloadError, type WorkerPlatform, type WorkerWorkload, type WorkerWorkloadState } from '../worker/platform.ts';
import { apiMessage, httpStatus, readSecretKey } from './api-errors.ts';
import type { EventRecorder } from './event-recorder.ts';
import { FIELD_MANAGER, MANAGED_BY_LABEL, toEnvVar } from './kube-app-platform.ts';

/**
 * Field manager of the worker Deployments. It owns their replicas: a
 * server-side apply of replicas by another manager gets a 409 conflict, and
 * any other write of them is undone by the next reconcile.
 */
export const WORKER_FIELD_MANAGER = 'hotmesh-operator-worker';
/** Annotation by which a ReplicaSet removes pods with a lower cost first when it scales down. */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
/** Container that receives the injected variables when the template has several; else the first. */
export const WORKER_CONTAINER = 'worker';

/** Options of a {@link KubeWorkerPlatform}. */
export interface KubeWorkerPlatformOptions {
  custom: CustomObjectsApi;
  core: CoreV1Api;
  apps: AppsV1Api;
  events: EventRecorder;
}

export class KubeWorkerPlatform implements WorkerPlatform {
  private readonly options: KubeWorkerPlatformOptions;

  constructor(options: KubeWorkerPlatformOptions) {
    this.options = options;
  }

  async getWorker(key: ObjectKey): Promise<HotMeshWorker | undefined> {
    return await this.getCustom<HotMeshWorker>(HOTMESH_WORKER.plural, key);
  }

  async getApp(key: ObjectKey): Promise<HotMeshApp | undefined> {
    return await this.getCustom<HotMeshApp>(HOTMESH_APP.plural, key);
  }

  private async getCustom<T>(plural: string, key: ObjectKey): Promise<T | undefined> {
    try {
      return await this.options.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace: key.namespace, name: key.name }) as T;
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    return readSecretKey(this.options.core, namespace, name, key);
  }

  // A merge patch of /status without a resourceVersion, as for HotMeshApp.
  // Topics no longer in the backlog are sent as null so the merge removes them.
  async writeStatus(worker: HotMeshWorker, status: HotMeshWorkerStatus): Promise<void> {
    const backlog: Record<string, number | null> = { ...status.backlog };
    for (const topic of Object.keys(worker.status?.backlog ?? {})) {
      if (!(topic in backlog)) backlog[topic] = null;
    }
    const body = { status: status.backlog || worker.status?.backlog ? { ...status, backlog } : status };
    try {
      await this.options.custom.patchNamespacedCustomObjectStatus({
        group: GROUP, version: VERSION, plural: HOTMESH_WORKER.plural, namespace: worker.metadata.namespace!, name: worker.metadata.name!,
        body, fieldManager: FIELD_MANAGER,
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (error) {
      if (httpStatus(error) !== 404) throw error;
    }
  }

  async applyWorkload(worker: HotMeshWorker, workload: WorkerWorkload): Promise<WorkerWorkloadState> {
    const body = workerDeployment(worker, workload);
    try {
      const applied = await this.options.apps.patchNamespacedDeployment({
        namespace: worker.metadata.namespace!, name: workload.name, body, fieldManager: WORKER_FIELD_MANAGER, force: true,
      }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply));
      return stateOf(applied, workload.name);
    } catch (error) {
      const status = httpStatus(error);
      if (status === 422 || status === 400) throw new InvalidWorkloadError(apiMessage(error), { cause: error });
      throw error;
    }
  }

  async readWorkload(worker: HotMeshWorker, name: string): Promise<WorkerWorkloadState | undefined> {
    try {
      return stateOf(await this.options.apps.readNamespacedDeployment({ namespace: worker.metadata.namespace!, name }), name);
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw error;
    }
  }

  async rankPodsForScaleDown(worker: HotMeshWorker, selectorLabels: Record<string, string>, costOf: (podName: string) => number): Promise<number> {
    const namespace = worker.metadata.namespace!;
    const labelSelector = Object.entries(selectorLabels).map(([name, value]) => `${name}=${value}`).join(',');
    const pods = await this.options.core.listNamespacedPod({ namespace, labelSelector });
    let patched = 0;
    for (const pod of pods.items) {
      const name = pod.metadata?.name;
      if (!name || pod.metadata?.deletionTimestamp) continue;
      const cost = String(costOf(name));
      if (pod.metadata?.annotations?.[POD_DELETION_COST] === cost) continue;
      try {
        await this.options.core.patchNamespacedPod({
          namespace, name, body: { metadata: { annotations: { [POD_DELETION_COST]: cost } } },
        }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        patched++;
      } catch (error) {
        // A pod that went away meanwhile needs no rank.
        if (httpStatus(error) !== 404) throw error;
      }
    }
    return patched;
  }

  async emitEvent(worker: HotMeshWorker, type: 'Normal' | 'Warning', reason: string, action: string, message: string, every = false): Promise<void> {
    await this.options.events.emit(worker, type, reason, action, message, { skipRepeatCheck: every });
  }
}

function stateOf(deployment: V1Deployment, name: string): WorkerWorkloadState {
  return {
    name,
    specReplicas: deployment.spec?.replicas ?? 0,
    replicas: deployment.status?.replicas ?? 0,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
  };
}

/**
 * Returns the container's env with the injected variables first (so the
 * template's own entries may refer to them as $(NAME)), then the template's
 * entries except those the injection replaces, then the defaults the
 * template does not set.
 */
function mergeEnv(container: V1Container, workload: WorkerWorkload): V1EnvVar[] {
  const injected = new Set(workload.env.map((entry) => entry.name));
  const own = (container.env ?? []).filter((entry) => !injected.has(entry.name));
  const present = new Set([...injected, ...own.map((entry) => entry.name)]);
  const defaults = workload.defaultEnv.filter((entry) => !present.has(entry.name));
  return [...workload.env.map(toEnvVar), ...own, ...defaults.map(toEnvVar)];
}

/** Builds the Deployment of a worker for server-side apply. */
export function workerDeployment(worker: HotMeshWorker, workload: WorkerWorkload): V1Deployment {
  const containers = workload.template.spec?.containers ?? [];
  if (containers.length === 0) throw new InvalidWorkloadError('spec.template.spec.containers is empty; add the worker container');
  const target = containers.find((container) => container.name === WORKER_CONTAINER) ?? containers[0];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: workload.name,
      namespace: worker.metadata.namespace,
      labels: { ...workload.selectorLabels, [MANAGED_BY_LABEL]: FIELD_MANAGER },
      ownerReferences: [{ apiVersion: API_VERSION, kind: HOTMESH_WORKER.kind, name: worker.metadata.name!, uid: worker.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: workload.replicas,
      selector: { matchLabels: workload.selectorLabels },
      template: {
        ...workload.template,
        spec: {
          ...workload.template.spec!,
          containers: containers.map((container) => (container === target ? { ...container, env: mergeEnv(container, workload) } : container)),
        },
      },
    },
  };
}
