// A stand-in kubelet for the test control plane, which has no scheduler and
// no kubelet. It binds ReplicaSet pods to one fake node and runs each pod's
// first container as a local Node process. It reports the pod Running and
// Ready, and stops the process when the pod is deleted.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api, makeInformer, PatchStrategy, setHeaderOptions,
  type Informer, type KubeConfig, type ObjectCache, type V1Pod,
} from '@kubernetes/client-node';
import winston from 'winston';
import { repoRoot } from './binaries.ts';
import {
  ContainerConfigError, finishedPodStatus, loopbackIp, podStatus, resolveCommand, resolveEnvironment,
  UnsupportedPodError, type ContainerState,
} from './pod-spec.ts';

/** Options for {@link PodRunner.start}. */
export interface PodRunnerOptions {
  kubeConfig: KubeConfig;
  /** Namespace whose pods to run. All namespaces when omitted. */
  namespace?: string;
  /** Name of the Node object the runner registers and binds pods to. @default 'hotmesh-local' */
  nodeName?: string;
  /** Folder for process logs and the runner's own log. A new temp folder when omitted. */
  logDir?: string;
  /** First delay before restarting an exited container, doubled on each restart. @default 1000 */
  restartBackoffMs?: number;
  /** Maximum restart delay. The kubelet backs off from 10 s to 300 s, which is too slow for tests. @default 30000 */
  maxRestartBackoffMs?: number;
  /** Also print the runner's log lines on stderr. @default false */
  verbose?: boolean;
}

/** A process the runner started for a pod. */
export interface PodProcess {
  namespace: string;
  name: string;
  uid: string;
  pid: number;
  logPath: string;
}

/** Everything the runner tracks for one pod, keyed by its uid. */
interface PodRecord {
  pod: V1Pod;
  child?: ChildProcess;
  exited?: Promise<void>;
  container: ContainerState;
  startTime: Date;
  restartTimer?: NodeJS.Timeout;
  nextBackoffMs: number;
  terminating: boolean;
  finished: boolean;
  /** Serializes the work on this pod, since watch events arrive while a step awaits the API. */
  queue: Promise<void>;
}

const fieldManager = 'hotmesh-pod-runner';
/** A container that ran this long before exiting restarts with the initial backoff again. */
const backoffResetMs = 60_000;

export class PodRunner {
  readonly logDir: string;
  readonly nodeName: string;
  /** Whether logDir is a temp folder made here, removed again on stop. */
  private readonly ownsLogDir: boolean;
  private readonly options: PodRunnerOptions;
  private readonly core: CoreV1Api;
  private readonly informer: Informer<V1Pod> & ObjectCache<V1Pod>;
  private readonly records = new Map<string, PodRecord>();
  private readonly logger: winston.Logger;
  private restartInformerTimer?: NodeJS.Timeout;
  private stopped = false;

  private constructor(options: PodRunnerOptions) {
    this.options = options;
    this.nodeName = options.nodeName ?? 'hotmesh-local';
    this.ownsLogDir = options.logDir === undefined;
    this.logDir = options.logDir ?? mkdtempSync(join(tmpdir(), 'hotmesh-pods-'));
    mkdirSync(this.logDir, { recursive: true });
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);

    const transports: winston.transport[] = [new winston.transports.File({ filename: join(this.logDir, 'pod-runner.log') })];
    if (options.verbose) transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
    this.logger = winston.createLogger({
      level: 'info',
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      defaultMeta: { component: 'pod-runner', node: this.nodeName },
      transports,
    });

    const namespace = options.namespace;
    const path = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    const list = namespace
      ? () => this.core.listNamespacedPod({ namespace })
      : () => this.core.listPodForAllNamespaces();
    this.informer = makeInformer(options.kubeConfig, path, list);
  }

  /** Registers the fake node and starts watching pods. Resolves once the first list is handled. */
  static async start(options: PodRunnerOptions): Promise<PodRunner> {
    const runner = new PodRunner(options);
    await runner.registerNode();
    runner.informer.on('add', (pod) => runner.onPodChanged(pod));
    runner.informer.on('update', (pod) => runner.onPodChanged(pod));
    runner.informer.on('delete', (pod) => runner.onPodDeleted(pod));
    runner.informer.on('error', (error) => runner.onInformerError(error));
    await runner.informer.start();
    runner.logger.info('pod runner started', { namespace: options.namespace ?? '(all)', logDir: runner.logDir });
    return runner;
  }

  /** Returns the log file that contains the stdout and stderr of a pod's process, across restarts. */
  logPath(namespace: string, name: string): string {
    return join(this.logDir, `${namespace}_${name}.log`);
  }

  /** Returns the processes that are running now. */
  processes(): PodProcess[] {
    const running: PodProcess[] = [];
    for (const [uid, record] of this.records) {
      const pid = record.child?.pid;
      if (pid === undefined || !isRunning(record.child)) continue;
      const namespace = record.pod.metadata?.namespace ?? '';
      const name = record.pod.metadata?.name ?? '';
      running.push({ namespace, name, uid, pid, logPath: this.logPath(namespace, name) });
    }
    return running;
  }

  /**
   * Stops watching and stops every process: SIGTERM to its process group,
   * SIGKILL after 5 s. Pod objects are left as they are. A temp log folder
   * made by the runner is removed, so read logs before this.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.restartInformerTimer);
    await this.informer.stop();
    await Promise.all([...this.records.values()].map(async (record) => {
      clearTimeout(record.restartTimer);
      record.terminating = true;
      await this.stopProcess(record, 5);
    }));
    this.logger.info('pod runner stopped');
    await new Promise<void>((resolve) => {
      this.logger.on('finish', () => resolve());
      this.logger.end();
    });
    if (this.ownsLogDir) rmSync(this.logDir, { recursive: true, force: true });
  }

  /** Sends SIGKILL to every process group at once, for `process.on('exit')` where nothing can wait. */
  killSync(): void {
    this.stopped = true;
    for (const record of this.records.values()) {
      clearTimeout(record.restartTimer);
      record.terminating = true;
      killGroup(record.child, 'SIGKILL');
    }
    if (this.ownsLogDir) rmSync(this.logDir, { recursive: true, force: true });
  }

  private async registerNode(): Promise<void> {
    try {
      await this.core.createNode({
        body: {
          metadata: { name: this.nodeName, labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux' } },
        },
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
    const now = new Date();
    await this.core.patchNodeStatus({
      name: this.nodeName,
      body: {
        status: {
          addresses: [{ type: 'InternalIP', address: loopbackIp }, { type: 'Hostname', address: this.nodeName }],
          conditions: [{ type: 'Ready', status: 'True', reason: 'PodRunnerReady', message: 'pods run as local processes', lastHeartbeatTime: now, lastTransitionTime: now }],
          capacity: { cpu: '64', memory: '256Gi', pods: '1000' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '1000' },
        },
      },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }

  private onInformerError(error: unknown): void {
    if (this.stopped) return;
    // The informer stops on any error other than 410 and timeouts, so restart it.
    this.logger.warn('pod watch failed, restarting in 1 s', { error: String(error) });
    this.restartInformerTimer = setTimeout(() => {
      if (this.stopped) return;
      this.informer.start().catch((startError: unknown) => this.onInformerError(startError));
    }, 1_000);
  }

  private onPodChanged(pod: V1Pod): void {
    if (this.stopped || !isOwnedByReplicaSet(pod)) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (pod.spec?.nodeName && pod.spec.nodeName !== this.nodeName) return;

    let record = this.records.get(uid);
    if (!record) {
      if (pod.metadata?.deletionTimestamp) {
        // Never started here, for example left over from an earlier runner.
        this.enqueueNew(uid, pod, async (created) => { await this.terminate(created); });
        return;
      }
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      this.enqueueNew(uid, pod, async (created) => { await this.startPod(created); });
      return;
    }

    record.pod = pod;
    if (pod.metadata?.deletionTimestamp && !record.terminating) {
      record.terminating = true;
      this.enqueue(record, async () => { await this.terminate(record); });
    }
  }

  private onPodDeleted(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    const record = uid ? this.records.get(uid) : undefined;
    if (!record || !uid) return;
    // Deleted without a grace period (force delete): stop the process all the same.
    record.pod = pod;
    record.terminating = true;
    this.enqueue(record, async () => {
      await this.stopProcess(record, gracePeriodSeconds(pod));
      this.records.delete(uid);
    });
  }

  private enqueueNew(uid: string, pod: V1Pod, step: (record: PodRecord) => Promise<void>): void {
    const record: PodRecord = {
      pod,
      container: { restartCount: 0 },
      startTime: new Date(),
      nextBackoffMs: this.options.restartBackoffMs ?? 1_000,
      terminating: Boolean(pod.metadata?.deletionTimestamp),
      finished: false,
      queue: Promise.resolve(),
    };
    this.records.set(uid, record);
    this.enqueue(record, () => step(record));
  }

  private enqueue(record: PodRecord, step: () => Promise<void>): void {
    record.queue = record.queue.then(step).catch((error: unknown) => {
      this.logger.error('pod step failed', { pod: podKey(record.pod), error: String(error) });
    });
  }

  /** Binds the pod to the fake node, then starts its process. */
  private async startPod(record: PodRecord): Promise<void> {
    const pod = record.pod;
    if (!pod.spec?.nodeName) {
      try {
        await this.core.createNamespacedPodBinding({
          name: pod.metadata!.name!,
          namespace: pod.metadata!.namespace!,
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: pod.metadata!.name! },
            target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
          },
        });
        this.logger.info('pod bound', { pod: podKey(pod) });
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === 404) return; // deleted meanwhile, and the delete event cleans up
        if (code !== 409) throw error;
      }
    }
    await this.runContainer(record);
  }

  /** Resolves the command and environment, spawns the process and reports the pod Running. */
  private async runContainer(record: PodRecord): Promise<void> {
    if (record.terminating || this.stopped) return;
    const pod = record.pod;
    const container = pod.spec?.containers?.[0];
    if (!container) {
      await this.finish(record, 'Failed', 'NoContainer', 'pod has no containers');
      return;
    }

    let file: string;
    let args: string[];
    let env: Record<string, string>;
    try {
      env = await resolveEnvironment(this.core, pod, container);
      ({ file, args } = resolveCommand(container, env));
    } catch (error) {
      if (error instanceof UnsupportedPodError) {
        this.logger.warn('pod cannot run here', { pod: podKey(pod), error: error.message });
        if ((pod.spec?.restartPolicy ?? 'Always') === 'Never') {
          await this.finish(record, 'Failed', 'UnsupportedByPodRunner', error.message);
          return;
        }
        // A ReplicaSet replaces a Failed pod at once, which would loop
        // forever, so report it the way the kubelet reports a container
        // it cannot create: Pending, with the container waiting.
        record.container.waitingReason = 'CreateContainerError';
        record.container.waitingMessage = error.message;
        await this.patchStatus(record, podStatus(pod, record.container, record.startTime, 'Pending'));
        return;
      }
      if (error instanceof ContainerConfigError) {
        // The kubelet keeps retrying until the ConfigMap or Secret exists.
        record.container.startedAt = undefined;
        record.container.waitingReason = 'CreateContainerConfigError';
        record.container.waitingMessage = error.message;
        this.logger.warn('container config missing, retrying', { pod: podKey(pod), error: error.message, retryInMs: record.nextBackoffMs });
        await this.patchStatus(record, podStatus(pod, record.container, record.startTime, 'Pending'));
        this.scheduleRestart(record);
        return;
      }
      throw error;
    }

    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const logPath = this.logPath(namespace, name);
    const log = openSync(logPath, 'a');
    // detached: its own process group, so SIGTERM also reaches its children.
    const child = spawn(file, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    const startedAt = new Date();
    record.child = child;
    record.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        this.onProcessExit(record, child, startedAt, code, signal);
      });
    });
    child.once('error', (error) => this.logger.error('process failed to start', { pod: podKey(pod), error: error.message }));
    if (child.pid === undefined) return;

    record.container.startedAt = startedAt;
    record.container.waitingReason = undefined;
    record.container.waitingMessage = undefined;
    this.logger.info('process started', { pod: podKey(pod), pid: child.pid, command: [file, ...args].join(' '), logPath });
    await this.patchStatus(record, podStatus(pod, record.container, record.startTime));
  }

  private onProcessExit(record: PodRecord, child: ChildProcess, startedAt: Date, code: number | null, signal: NodeJS.Signals | null): void {
    const pod = record.pod;
    const finishedAt = new Date();
    const exitCode = code ?? 128 + signalNumber(signal);
    this.logger.info('process exited', { pod: podKey(pod), pid: child.pid, exitCode, signal });
    // Children the process left in its group.
    killGroup(child, 'SIGKILL');
    if (record.terminating || this.stopped) return;

    record.container.startedAt = undefined;
    record.container.lastExit = { exitCode, signal: signal ?? undefined, startedAt, finishedAt };
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    this.enqueue(record, async () => {
      if (!restart) {
        const phase = exitCode === 0 ? 'Succeeded' : 'Failed';
        await this.finish(record, phase, phase === 'Failed' ? 'Error' : 'Completed', `container exited with code ${exitCode}`, record.container.lastExit);
        return;
      }
      if (finishedAt.getTime() - startedAt.getTime() >= backoffResetMs) {
        record.nextBackoffMs = this.options.restartBackoffMs ?? 1_000;
      }
      record.container.waitingReason = 'CrashLoopBackOff';
      record.container.waitingMessage = `back-off ${record.nextBackoffMs} ms restarting failed container`;
      await this.patchStatus(record, podStatus(pod, record.container, record.startTime));
      this.scheduleRestart(record);
    });
  }

  private scheduleRestart(record: PodRecord): void {
    const delay = record.nextBackoffMs;
    record.nextBackoffMs = Math.min(delay * 2, this.options.maxRestartBackoffMs ?? 30_000);
    record.restartTimer = setTimeout(() => {
      record.restartTimer = undefined;
      if (record.terminating || this.stopped) return;
      record.container.restartCount += record.container.lastExit ? 1 : 0;
      this.logger.info('restarting container', { pod: podKey(record.pod), restartCount: record.container.restartCount });
      this.enqueue(record, () => this.runContainer(record));
    }, delay);
  }

  /** Stops the process within the pod's grace period, then deletes the pod object for good. */
  private async terminate(record: PodRecord): Promise<void> {
    record.terminating = true;
    clearTimeout(record.restartTimer);
    const pod = record.pod;
    await this.stopProcess(record, gracePeriodSeconds(pod));
    if (this.stopped) return;
    try {
      // What the kubelet does once the containers are gone. Finalizers set by
      // other controllers still hold the object until they remove them.
      await this.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
      this.logger.info('pod deleted', { pod: podKey(pod) });
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== 404 && code !== 409) throw error;
    }
  }

  /** Sends SIGTERM to the process group and SIGKILL after `graceSeconds`, and waits for the exit. */
  private async stopProcess(record: PodRecord, graceSeconds: number): Promise<void> {
    const child = record.child;
    if (!child || !isRunning(child)) return;
    this.logger.info('stopping process', { pod: podKey(record.pod), pid: child.pid, graceSeconds });
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => {
      this.logger.warn('process ignored SIGTERM, sending SIGKILL', { pod: podKey(record.pod), pid: child.pid, graceSeconds });
      killGroup(child, 'SIGKILL');
    }, graceSeconds * 1000);
    await record.exited;
    clearTimeout(timer);
  }

  private async finish(record: PodRecord, phase: 'Succeeded' | 'Failed', reason: string, message: string, lastExit?: ContainerState['lastExit']): Promise<void> {
    record.finished = true;
    this.logger.info('pod finished', { pod: podKey(record.pod), phase, reason, message });
    await this.patchStatus(record, finishedPodStatus(record.pod, phase, reason, message, lastExit));
  }

  private async patchStatus(record: PodRecord, body: object): Promise<void> {
    if (this.stopped) return;
    try {
      await this.core.patchNamespacedPodStatus({
        name: record.pod.metadata!.name!,
        namespace: record.pod.metadata!.namespace!,
        body,
        fieldManager,
      }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 404) return; // the pod is gone
      throw error;
    }
  }
}

function isOwnedByReplicaSet(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((owner) => owner.kind === 'ReplicaSet' && owner.controller === true);
}

function gracePeriodSeconds(pod: V1Pod): number {
  return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function isRunning(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : osConstants.signals[signal] ?? 0;
}
