// Builds the workload of a HotMeshWorker from its spec and its app: the
// pod template, the injected environment and the grace period.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { DEFAULT_KEY_PREFIX } from '../../engine/store/keys.ts';
import type { HotMeshApp, HotMeshWorker } from '../api/index.ts';
import type { WorkloadEnv } from '../app/platform.ts';
import type { WorkerWorkload } from './platform.ts';

/** Pod grace period when the template sets none, seconds; the Kubernetes default. */
export const DEFAULT_GRACE_SECONDS = 30;
/** Maximum part of the grace period kept back from the drain for the process to exit, ms. */
const MAX_EXIT_MARGIN_MS = 5000;

/** Name of a worker's Deployment. The suffix keeps it apart from `<app>-engine`. */
export function workloadName(worker: HotMeshWorker): string {
  return `${worker.metadata.name}-worker`;
}

/** Labels that select a worker's pods. */
export function workerSelectorLabels(worker: HotMeshWorker): Record<string, string> {
  return { 'app.kubernetes.io/name': 'hotmesh-worker', 'app.kubernetes.io/instance': worker.metadata.name! };
}

/** `status.selector`: the selector labels as `k=v,k=v`, sorted, for /scale. */
export function formatSelector(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((key) => `${key}=${labels[key]}`).join(',');
}

/**
 * Time `hotmesh worker` gives the messages in hand after SIGTERM, ms: the
 * grace period minus a margin (a fifth, at most 5 s) for the process to
 * exit before the kubelet sends SIGKILL.
 */
export function shutdownGraceMs(graceSeconds: number): number {
  const graceMs = graceSeconds * 1000;
  return Math.max(0, graceMs - Math.min(MAX_EXIT_MARGIN_MS, Math.floor(graceMs / 5)));
}

/** The Redis URL variable: a Secret reference when the app uses one, so the URL is never copied. */
export function redisUrlEnv(app: HotMeshApp): WorkloadEnv {
  const ref = app.spec.redis.urlFrom?.secretKeyRef;
  return ref ? { name: 'HOTMESH_REDIS_URL', secretKeyRef: { name: ref.name, key: ref.key } } : { name: 'HOTMESH_REDIS_URL', value: app.spec.redis.url };
}

/** Builds the workload of `worker` with `replicas`. */
export function workerWorkload(worker: HotMeshWorker, app: HotMeshApp, replicas: number): WorkerWorkload {
  const source = worker.spec.template ?? {};
  const graceSeconds = source.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  const selectorLabels = workerSelectorLabels(worker);
  const template: V1PodTemplateSpec = {
    ...source,
    metadata: { ...source.metadata, labels: { ...source.metadata?.labels, ...selectorLabels, 'hotmesh.io/app': app.spec.appId } },
    spec: { containers: [], ...source.spec, terminationGracePeriodSeconds: graceSeconds },
  };
  return {
    name: workloadName(worker),
    replicas,
    selectorLabels,
    template,
    env: [
      { name: 'HOTMESH_APP_ID', value: app.spec.appId },
      redisUrlEnv(app),
      { name: 'HOTMESH_KEY_PREFIX', value: app.spec.redis.keyPrefix ?? DEFAULT_KEY_PREFIX },
      { name: 'HOTMESH_TOPICS', value: worker.spec.topics.join(',') },
      { name: 'HOTMESH_ENGINE', value: worker.spec.engine === false ? 'false' : 'true' },
      // Names the process's stream consumers after its pod, which ranks pods for scale-down.
      { name: 'HOTMESH_POD_NAME', fieldRef: 'metadata.name' },
    ],
    defaultEnv: [{ name: 'HOTMESH_SHUTDOWN_GRACE_MS', value: String(shutdownGraceMs(graceSeconds)) }],
  };
}
