// The platform interface of the HotMeshApp reconcile. The Kubernetes
// implementation (kube/kube-app-platform.ts) talks to the apiserver; a local
// one can read a folder and run processes, with the same reconcile steps.
import type { HotMeshApp, HotMeshAppStatus } from '../api/index.ts';
import type { ObjectKey } from '../reconciler.ts';

/** An environment variable of a workload: a value, or a reference to a Secret key. */
export interface WorkloadEnv {
  name: string;
  value?: string;
  secretKeyRef?: { name: string; key: string };
  /** A field of the pod itself, such as `metadata.name` (Kubernetes' downward API). */
  fieldRef?: string;
}

/** The engine processes of one app. */
export interface EngineWorkload {
  /** Name of the workload, unique in the namespace. */
  name: string;
  appId: string;
  replicas: number;
  /** Runs `hotmesh engine` with this environment. */
  env: WorkloadEnv[];
}

/** Replicas of a workload as last observed. */
export interface WorkloadState {
  name: string;
  replicas: number;
  readyReplicas: number;
}

export interface AppPlatform {
  /** Reads an app; undefined when it does not exist. */
  getApp(key: ObjectKey): Promise<HotMeshApp | undefined>;
  /** Adds the finalizer, surviving write conflicts; returns the updated app. */
  addFinalizer(app: HotMeshApp, finalizer: string): Promise<HotMeshApp>;
  /** Removes the finalizer, surviving write conflicts. */
  removeFinalizer(app: HotMeshApp, finalizer: string): Promise<void>;
  /** Replaces the app's status. */
  writeStatus(app: HotMeshApp, status: HotMeshAppStatus): Promise<void>;
  /** Reads a ConfigMap key in the app's namespace; undefined when the ConfigMap or key is missing. */
  readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  /** Reads a Secret key in the app's namespace; undefined when the Secret or key is missing. */
  readSecretKey(namespace: string, name: string, key: string): Promise<string | undefined>;
  /** Creates or updates the app's engine workload, owned by the app. */
  applyEngine(app: HotMeshApp, workload: EngineWorkload): Promise<WorkloadState>;
  /** Records an event about the app for people. */
  emitEvent(app: HotMeshApp, type: 'Normal' | 'Warning', reason: string, action: string, message: string): Promise<void>;
}
