// Turns a Pod's first container into a local command line and environment
// for the pod runner, and builds the status bodies it patches.
import { join } from 'node:path';
import type { CoreV1Api, V1Container, V1ContainerStatus, V1EnvVar, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { repoRoot } from './binaries.ts';

/** The address every pod and the fake node report: processes run on this host. */
export const loopbackIp = '127.0.0.1';

/** A container setting the pod runner cannot carry out. The pod is marked Failed with this message. */
export class UnsupportedPodError extends Error {}

/** A missing ConfigMap or Secret. The kubelet retries these, so the pod runner does too. */
export class ContainerConfigError extends Error {}

/**
 * Maps the container's command and args to an executable and arguments.
 * The image is ignored, so only two commands can run: `hotmesh ...` runs the
 * repository's CLI and `node ...` runs Node, both on this process's Node.
 */
export function resolveCommand(container: V1Container, env: Record<string, string>): { file: string; args: string[] } {
  const words = [...(container.command ?? []), ...(container.args ?? [])].map((word) => expandVariables(word, env));
  if (!container.command || container.command.length === 0) {
    throw new UnsupportedPodError(`container ${container.name} has no command, and the pod runner ignores the image: set command to hotmesh or node`);
  }
  const [first, ...rest] = words;
  if (first === 'hotmesh') return { file: process.execPath, args: [join(repoRoot, 'src', 'cli', 'main.ts'), ...rest] };
  if (first === 'node' || first.endsWith('/node')) return { file: process.execPath, args: rest };
  throw new UnsupportedPodError(`unsupported command ${JSON.stringify(first)} in container ${container.name}: the pod runner only runs hotmesh and node`);
}

/**
 * Builds the container's environment the way the kubelet does: envFrom
 * first, then env in order, with `$(NAME)` references to earlier variables
 * expanded. PATH and HOME come from this process so `node` children work.
 */
export async function resolveEnvironment(core: CoreV1Api, pod: V1Pod, container: V1Container): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    HOSTNAME: pod.metadata?.name ?? '',
  };

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef) {
      const data = await readConfigMap(core, namespace, source.configMapRef.name, source.configMapRef.optional);
      for (const [key, value] of Object.entries(data)) env[prefix + key] = value;
    }
    if (source.secretRef) {
      const data = await readSecret(core, namespace, source.secretRef.name, source.secretRef.optional);
      for (const [key, value] of Object.entries(data)) env[prefix + key] = value;
    }
  }

  for (const variable of container.env ?? []) {
    const value = await resolveVariable(core, pod, variable, env);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

async function resolveVariable(core: CoreV1Api, pod: V1Pod, variable: V1EnvVar, env: Record<string, string>): Promise<string | undefined> {
  if (variable.valueFrom === undefined) return expandVariables(variable.value ?? '', env);

  const namespace = pod.metadata?.namespace ?? 'default';
  const { secretKeyRef, configMapKeyRef, fieldRef } = variable.valueFrom;
  if (secretKeyRef) {
    const data = await readSecret(core, namespace, secretKeyRef.name, secretKeyRef.optional);
    return lookupKey(data, secretKeyRef.key, `secret ${namespace}/${secretKeyRef.name}`, secretKeyRef.optional);
  }
  if (configMapKeyRef) {
    const data = await readConfigMap(core, namespace, configMapKeyRef.name, configMapKeyRef.optional);
    return lookupKey(data, configMapKeyRef.key, `configmap ${namespace}/${configMapKeyRef.name}`, configMapKeyRef.optional);
  }
  if (fieldRef) return resolveFieldPath(pod, fieldRef.fieldPath);
  throw new UnsupportedPodError(`env ${variable.name}: only secretKeyRef, configMapKeyRef and fieldRef are supported by the pod runner`);
}

function lookupKey(data: Record<string, string>, key: string, source: string, optional: boolean | undefined): string | undefined {
  if (key in data) return data[key];
  if (optional) return undefined;
  throw new ContainerConfigError(`couldn't find key ${key} in ${source}`);
}

function resolveFieldPath(pod: V1Pod, fieldPath: string): string {
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
  if (annotation) return pod.metadata?.annotations?.[annotation[1]] ?? '';
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label) return pod.metadata?.labels?.[label[1]] ?? '';

  switch (fieldPath) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.podIP': return loopbackIp;
    default: throw new UnsupportedPodError(`fieldRef ${fieldPath} is not supported by the pod runner`);
  }
}

async function readConfigMap(core: CoreV1Api, namespace: string, name: string | undefined, optional: boolean | undefined): Promise<Record<string, string>> {
  if (!name) throw new UnsupportedPodError(`a configmap reference has no name`);
  try {
    const configMap = await core.readNamespacedConfigMap({ name, namespace });
    return configMap.data ?? {};
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      if (optional) return {};
      throw new ContainerConfigError(`configmap ${JSON.stringify(name)} not found`);
    }
    throw error;
  }
}

async function readSecret(core: CoreV1Api, namespace: string, name: string | undefined, optional: boolean | undefined): Promise<Record<string, string>> {
  if (!name) throw new UnsupportedPodError(`a secret reference has no name`);
  try {
    const secret = await core.readNamespacedSecret({ name, namespace });
    const decoded: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) decoded[key] = Buffer.from(value, 'base64').toString('utf8');
    for (const [key, value] of Object.entries(secret.stringData ?? {})) decoded[key] = value;
    return decoded;
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      if (optional) return {};
      throw new ContainerConfigError(`secret ${JSON.stringify(name)} not found`);
    }
    throw error;
  }
}

/** Expands `$(NAME)` from env as Kubernetes does: unknown names stay as written and `$$` escapes a `$`. */
export function expandVariables(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return name in env ? env[name] : match;
  });
}

/** State of a container for {@link podStatus}. */
export interface ContainerState {
  /** Start time of the current process, unset while waiting. */
  startedAt?: Date;
  /** Reason the container is not running, e.g. CrashLoopBackOff. */
  waitingReason?: string;
  waitingMessage?: string;
  restartCount: number;
  lastExit?: { exitCode: number; signal?: string; startedAt: Date; finishedAt: Date };
}

/**
 * Builds the status of a pod whose first container is in `state`. Other
 * containers are reported as waiting, since the runner never starts them,
 * so such a pod is never Ready.
 */
export function podStatus(pod: V1Pod, state: ContainerState, podStartTime: Date, phase: 'Pending' | 'Running' = 'Running'): object {
  const now = new Date();
  const containers = pod.spec?.containers ?? [];
  const running = state.startedAt !== undefined;
  const ready = running && containers.length === 1;

  const containerStatuses: V1ContainerStatus[] = containers.map((container, index) => {
    const image = container.image ?? '';
    if (index > 0) {
      return {
        name: container.name, image, imageID: '', ready: false, started: false, restartCount: 0,
        state: { waiting: { reason: 'NotRunByPodRunner', message: 'the pod runner only runs the first container' } },
      };
    }
    const status: V1ContainerStatus = {
      name: container.name, image, imageID: '', ready: running, started: running, restartCount: state.restartCount,
      state: running
        ? { running: { startedAt: state.startedAt } }
        : { waiting: { reason: state.waitingReason ?? 'ContainerCreating', message: state.waitingMessage } },
    };
    if (state.lastExit) {
      status.lastState = {
        terminated: {
          exitCode: state.lastExit.exitCode,
          reason: state.lastExit.exitCode === 0 ? 'Completed' : 'Error',
          message: state.lastExit.signal ? `killed by ${state.lastExit.signal}` : undefined,
          startedAt: state.lastExit.startedAt,
          finishedAt: state.lastExit.finishedAt,
        },
      };
    }
    return status;
  });

  const condition = (type: string, value: boolean): V1PodCondition => ({
    type, status: value ? 'True' : 'False', lastTransitionTime: now,
  });
  return {
    status: {
      phase,
      hostIP: loopbackIp, hostIPs: [{ ip: loopbackIp }],
      podIP: loopbackIp, podIPs: [{ ip: loopbackIp }],
      startTime: podStartTime,
      conditions: [
        condition('PodScheduled', true),
        condition('Initialized', true),
        condition('PodReadyToStartContainers', true),
        condition('ContainersReady', ready),
        condition('Ready', ready),
      ],
      containerStatuses,
    },
  };
}

/** Builds the status of a pod whose container finished for good (restartPolicy Never or OnFailure). */
export function finishedPodStatus(pod: V1Pod, phase: 'Succeeded' | 'Failed', reason: string, message: string, lastExit?: ContainerState['lastExit']): object {
  const now = new Date();
  const containerStatuses = (pod.spec?.containers ?? []).map((container, index) => ({
    name: container.name, image: container.image ?? '', imageID: '', ready: false, started: false, restartCount: 0,
    state: index === 0 && lastExit
      ? { terminated: { exitCode: lastExit.exitCode, reason: lastExit.exitCode === 0 ? 'Completed' : 'Error', startedAt: lastExit.startedAt, finishedAt: lastExit.finishedAt } }
      : { waiting: { reason, message } },
  }));
  return {
    status: {
      phase, reason, message,
      hostIP: loopbackIp, hostIPs: [{ ip: loopbackIp }],
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'False', lastTransitionTime: now, reason: 'PodCompleted' },
        { type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'PodCompleted' },
      ],
      containerStatuses,
    },
  };
}
