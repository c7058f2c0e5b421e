// The platform interface of the HotMeshWorker reconcile, shaped like
// AppPlatform: the Kubernetes implementation (kube/kube-worker-platform.ts)
// talks to the apiserver, and a local one can run processes with the same
// reconcile steps.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { HotMeshApp, HotMeshWorker, HotMeshWorkerStatus } from '../api/index.ts';
import type { WorkloadEnv, WorkloadState } from '../app/platform.ts';
import type { ObjectKey } from '../reconciler.ts';

/** The worker processes of one HotMeshWorker. */
export interface WorkerWorkload {
  /** Name of the workload, unique in the namespace. */
  name: string;
  replicas: number;
  /** Labels that select the workload's pods; `status.selector` is built from them. */
  selectorLabels: Record<string, string>;
  /** The user's pod template with the grace period set; env is not yet injected. */
  template: V1PodTemplateSpec;
  /** Variables injected into the worker container, replacing entries of the same name. */
  env: WorkloadEnv[];
  /** Variables added only where the template does not set them. */
  defaultEnv: WorkloadEnv[];
}

/** Replicas of a worker workload: the requested count and the pods observed. */
export interface WorkerWorkloadState extends WorkloadState {
  /** Replicas the workload is set to (a Deployment's spec.replicas). */
  specReplicas: number;
}

/** Thrown by {@link WorkerPlatform.applyWorkload} when the platform rejects the workload as invalid. */
export class InvalidWorkloadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidWorkloadError';
  }
}

export interface WorkerPlatform {
  /** Reads a worker; undefined when it does not exist. */
  getWorker(key: ObjectKey): Promise<HotMeshWorker | undefined>;
  /** Reads the app a worker refers to; undefined when it does not exist. */
  getApp(key: ObjectKey): Promise<HotMeshApp | undefined>;
  /** Reads a Secret key; undefined when the Secret or key is missing. */
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  /** Merges `status` into the worker's status. */
  writeStatus(worker: HotMeshWorker, status: HotMeshWorkerStatus): Promise<void>;
  /** Creates or updates the worker's workload, owned by the worker; throws InvalidWorkloadError on a rejected template. */
  applyWorkload(worker: HotMeshWorker, workload: WorkerWorkload): Promise<WorkerWorkloadState>;
  /** Reads the workload's replicas; undefined when it does not exist. */
  readWorkload(worker: HotMeshWorker, name: string): Promise<WorkerWorkloadState | undefined>;
  /**
   * Sets each pod's deletion cost to `costOf(podName)` before a scale-down,
   * so the workload removes its idlest pods first; returns the pods changed.
   * Optional: a platform without pods leaves it out.
   */
  rankPodsForScaleDown?(worker: HotMeshWorker, selectorLabels: Record<string, string>, costOf: (podName: string) => number): Promise<number>;
  /** Records an event about the worker for people; `every` writes it even when an identical one was written recently. */
  emitEvent(worker: HotMeshWorker, type: 'Normal' | 'Warning', reason: string, action: string, message: string, every?: boolean): Promise<void>;
}
