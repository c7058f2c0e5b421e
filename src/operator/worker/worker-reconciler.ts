// Reconciles a HotMeshWorker: resolve its app and Redis settings, keep the
// backlog poller configured, pick the replicas (the poller's decision in
// Internal mode, spec.replicas in External mode), apply the workload and
// write what happened to the status.
import type { Logger } from 'winston';
import { AppKeys, DEFAULT_KEY_PREFIX } from '../../engine/store/keys.ts';
import { processNamePrefix } from '../../engine/hotmesh.ts';
import type { HotMeshApp, HotMeshWorker, HotMeshWorkerStatus } from '../api/index.ts';
import { resolveScaling, type Scaling } from '../autoscaler/decide.ts';
import { formatKey, type ObjectKey, type ReconcileResult, type Reconciler } from '../reconciler.ts';
import type { BacklogPoller, PollResult } from './backlog-poller.ts';
import { workerConditions, type WorkerOutcome } from './conditions.ts';
import { InvalidWorkloadError, type WorkerPlatform, type WorkerWorkloadState } from './platform.ts';
import { WORKER_REASON } from './reasons.ts';
import { formatSelector, workerSelectorLabels, workerWorkload, workloadName } from './workload.ts';

/** Options of a {@link WorkerReconciler}. */
export interface WorkerReconcilerOptions {
  platform: WorkerPlatform;
  poller: BacklogPoller;
  logger: Logger;
  now?: () => Date;
  /** Delay before looking again for a missing app or Secret, ms. @default 30000 */
  missingReferenceRetryMs?: number;
}

/** The replicas a reconcile applies, and why. */
interface ReplicaChoice {
  replicas: number;
  /** Event reason when this changes the replicas. */
  reason: string;
  message: string;
  warning: boolean;
}

/** Progress of the steps of one reconcile. */
interface Progress {
  outcome: WorkerOutcome;
  state?: WorkerWorkloadState;
  desired: number;
  scaled?: { at: string; reason: string };
  requeueAfterMs?: number;
}

/** Thrown by a step to end the reconcile with a status. */
class StepStop extends Error {
  readonly progress: Progress;
  constructor(progress: Progress) {
    super(progress.outcome.message);
    this.progress = progress;
  }
}

export class WorkerReconciler implements Reconciler {
  private readonly options: WorkerReconcilerOptions;
  private readonly platform: WorkerPlatform;
  private readonly poller: BacklogPoller;

  constructor(options: WorkerReconcilerOptions) {
    this.options = options;
    this.platform = options.platform;
    this.poller = options.poller;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const worker = await this.platform.getWorker(key);
    if (!worker || worker.metadata.deletionTimestamp) {
      // The Deployment goes with the worker through its owner reference.
      this.poller.remove(formatKey(key));
      return {};
    }
    const log = this.options.logger.child({ namespace: key.namespace, name: key.name });
    const progress = await this.converge(worker, log);
    await this.writeStatus(worker, this.statusOf(worker, progress));
    return { requeueAfterMs: progress.requeueAfterMs };
  }

  private async converge(worker: HotMeshWorker, log: Logger): Promise<Progress> {
    const scaling = resolveScaling(worker.spec.scaling);
    try {
      const app = await this.resolveApp(worker, scaling);
      const redisUrl = await this.resolveRedisUrl(worker, app, scaling);
      const current = await this.platform.readWorkload(worker, workloadName(worker));
      const polled = this.configurePoller(worker, app, redisUrl, scaling, current);
      const choice = this.chooseReplicas(worker, scaling, current, polled);
      if (current && choice.replicas > 0 && choice.replicas < current.specReplicas) await this.rankPods(worker, log);
      const state = await this.applyWorkload(worker, app, choice.replicas, scaling);
      this.poller.observe(formatKey(keyOf(worker)), choice.replicas, state.readyReplicas);
      const scaled = await this.recordScale(worker, current?.specReplicas ?? 0, choice, log);
      return {
        outcome: { ...this.baseOutcome(scaling), ready: true, reason: WORKER_REASON.reconciled, message: `Deployment ${state.name} has ${state.readyReplicas}/${choice.replicas} ready replicas`, polled },
        state,
        desired: choice.replicas,
        scaled,
      };
    } catch (error) {
      if (error instanceof StepStop) return error.progress;
      throw error;
    }
  }

  private baseOutcome(scaling: Scaling): Pick<WorkerOutcome, 'activationThreshold' | 'minReplicas'> {
    return { activationThreshold: scaling.activationThreshold, minReplicas: scaling.minReplicas };
  }

  // ---- steps ----------------------------------------------------------------

  private async resolveApp(worker: HotMeshWorker, scaling: Scaling): Promise<HotMeshApp> {
    const name = worker.spec.appRef.name;
    const app = await this.platform.getApp({ namespace: worker.metadata.namespace!, name });
    if (app) return app;
    const message = `HotMeshApp ${name} not found in namespace ${worker.metadata.namespace}; create it or fix spec.appRef.name`;
    this.poller.remove(formatKey(keyOf(worker)));
    throw new StepStop({
      outcome: { ...this.baseOutcome(scaling), ready: false, reason: WORKER_REASON.appNotFound, message, metricsBlocked: { reason: WORKER_REASON.appNotFound, message: `HotMeshApp ${name} not found, so its streams cannot be read` } },
      desired: scaling.minReplicas,
      requeueAfterMs: this.missingRetryMs,
    });
  }

  private async resolveRedisUrl(worker: HotMeshWorker, app: HotMeshApp, scaling: Scaling): Promise<string> {
    if (app.spec.redis.url) return app.spec.redis.url;
    const ref = app.spec.redis.urlFrom?.secretKeyRef;
    const url = ref ? await this.platform.readSecretKey(worker.metadata.namespace!, ref.name, ref.key) : undefined;
    if (url !== undefined) return url;
    const message = `Secret ${ref?.name} has no key ${ref?.key} in namespace ${worker.metadata.namespace}; HotMeshApp ${app.metadata.name} reads its Redis URL from it`;
    this.poller.remove(formatKey(keyOf(worker)));
    throw new StepStop({
      outcome: { ...this.baseOutcome(scaling), ready: false, reason: WORKER_REASON.redisUrlNotFound, message, metricsBlocked: { reason: WORKER_REASON.redisUrlNotFound, message } },
      desired: scaling.minReplicas,
      requeueAfterMs: this.missingRetryMs,
    });
  }

  private get missingRetryMs(): number {
    return this.options.missingReferenceRetryMs ?? 30_000;
  }

  private configurePoller(worker: HotMeshWorker, app: HotMeshApp, redisUrl: string, scaling: Scaling, current: WorkerWorkloadState | undefined): PollResult | undefined {
    const key = formatKey(keyOf(worker));
    this.poller.configure(key, {
      redisUrl,
      keys: new AppKeys(app.spec.appId, app.spec.redis.keyPrefix ?? DEFAULT_KEY_PREFIX),
      topics: [...worker.spec.topics],
      scaling,
      mode: worker.spec.scaling.mode === 'External' ? 'External' : 'Internal',
    }, current?.specReplicas ?? 0, current?.readyReplicas ?? 0);
    return this.poller.latest(key);
  }

  /**
   * Internal mode: the poller's latest decision, clamped to the current
   * bounds in case the spec changed since. Before the first poll: the
   * replicas the workload has, or minReplicas for a new one. External mode:
   * spec.replicas as an HPA or KEDA wrote it through /scale, unclamped.
   */
  private chooseReplicas(worker: HotMeshWorker, scaling: Scaling, current: WorkerWorkloadState | undefined, polled: PollResult | undefined): ReplicaChoice {
    const clamp = (value: number): number => Math.min(scaling.maxReplicas, Math.max(scaling.minReplicas, value));
    if (worker.spec.scaling.mode === 'External') {
      const replicas = worker.spec.replicas ?? current?.specReplicas ?? scaling.minReplicas;
      return { replicas, reason: WORKER_REASON.scaledExternally, message: `spec.replicas is ${replicas}, written through /scale (scaling.mode External)`, warning: false };
    }
    const decision = polled?.decision;
    if (!decision) {
      const replicas = clamp(current?.specReplicas ?? scaling.minReplicas);
      return { replicas, reason: WORKER_REASON.scaledUp, message: `minReplicas ${scaling.minReplicas} and maxReplicas ${scaling.maxReplicas} bound the replicas before the first backlog read`, warning: false };
    }
    const replicas = clamp(decision.replicas);
    if (decision.fallback) return { replicas, reason: WORKER_REASON.scaledByFallback, message: decision.message, warning: true };
    const reason = replicas === 0 ? WORKER_REASON.scaledToZero : replicas > (current?.specReplicas ?? 0) ? WORKER_REASON.scaledUp : WORKER_REASON.scaledDown;
    return { replicas, reason, message: decision.message, warning: false };
  }

  /**
   * Before a scale-down, gives each pod a deletion cost equal to the work
   * messages its processes have not acknowledged yet, so the ReplicaSet stops idle
   * pods first. Best effort: a failure is logged and the scale-down goes on,
   * because a stopped pod drains its messages anyway.
   */
  private async rankPods(worker: HotMeshWorker, log: Logger): Promise<void> {
    if (!this.platform.rankPodsForScaleDown) return;
    try {
      const pending = await this.poller.pendingByConsumer(formatKey(keyOf(worker)));
      const costOf = (podName: string): number => {
        const prefix = processNamePrefix(podName);
        let total = 0;
        for (const [consumer, count] of pending) if (consumer.startsWith(prefix)) total += count;
        return total;
      };
      const changed = await this.platform.rankPodsForScaleDown(worker, workerSelectorLabels(worker), costOf);
      log.debug('pods ranked for scale-down', { changed, busyConsumers: pending.size });
    } catch (error) {
      log.warn('ranking pods for scale-down failed; scaling down without it', { err: (error as Error).message });
    }
  }

  private async applyWorkload(worker: HotMeshWorker, app: HotMeshApp, replicas: number, scaling: Scaling): Promise<WorkerWorkloadState> {
    try {
      return await this.platform.applyWorkload(worker, workerWorkload(worker, app, replicas));
    } catch (error) {
      if (!(error instanceof InvalidWorkloadError)) throw error;
      const message = `the Deployment was rejected: ${error.message}; fix spec.template`;
      this.options.logger.warn('worker Deployment rejected', { namespace: worker.metadata.namespace, name: worker.metadata.name, err: error.message });
      await this.platform.emitEvent(worker, 'Warning', WORKER_REASON.invalidTemplate, 'Apply', message);
      // Only a spec change helps, and a spec change queues the worker again.
      throw new StepStop({ outcome: { ...this.baseOutcome(scaling), ready: false, reason: WORKER_REASON.invalidTemplate, message, polled: this.poller.latest(formatKey(keyOf(worker))) }, desired: replicas });
    }
  }

  /** Writes an Event for a change of replicas and returns the status fields that record it. */
  private async recordScale(worker: HotMeshWorker, previous: number, choice: ReplicaChoice, log: Logger): Promise<{ at: string; reason: string } | undefined> {
    if (previous === choice.replicas) return undefined;
    const message = `${previous} → ${choice.replicas} replicas: ${choice.message}`;
    log.info('worker scaled', { from: previous, to: choice.replicas, reason: choice.reason });
    await this.platform.emitEvent(worker, choice.warning ? 'Warning' : 'Normal', choice.reason, 'Scale', message, true);
    return { at: this.now().toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: `${choice.reason}: ${message}` };
  }

  // ---- status ---------------------------------------------------------------

  private statusOf(worker: HotMeshWorker, progress: Progress): HotMeshWorkerStatus {
    const generation = worker.metadata.generation ?? 0;
    const scaling = resolveScaling(worker.spec.scaling);
    const status: HotMeshWorkerStatus = {
      ...worker.status,
      observedGeneration: generation,
      replicas: progress.state?.replicas ?? worker.status?.replicas ?? 0,
      readyReplicas: progress.state?.readyReplicas ?? worker.status?.readyReplicas ?? 0,
      desiredReplicas: progress.desired,
      selector: formatSelector(workerSelectorLabels(worker)),
      metric: scaling.metric,
      conditions: workerConditions(worker.status?.conditions ?? [], progress.outcome, generation, this.now()),
    };
    const sample = progress.outcome.polled?.sample;
    if (sample?.ok) {
      status.backlog = sample.backlog;
      status.backlogTotal = Object.values(sample.backlog).reduce((sum, value) => sum + value, 0);
    }
    if (progress.scaled) {
      status.lastScaleTime = progress.scaled.at;
      status.lastScaleReason = progress.scaled.reason;
    }
    return status;
  }

  // Skips the write when nothing changed, so our own write does not trigger
  // a chain of watch events and reconciles.
  private async writeStatus(worker: HotMeshWorker, status: HotMeshWorkerStatus): Promise<void> {
    if (canonicalJson(status) === canonicalJson(worker.status ?? {})) return;
    await this.platform.writeStatus(worker, status);
    worker.status = status;
  }
}

function keyOf(worker: HotMeshWorker): ObjectKey {
  return { namespace: worker.metadata.namespace!, name: worker.metadata.name! };
}

/** JSON with object keys sorted, because the apiserver returns them sorted. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return entry;
    return Object.fromEntries(Object.entries(entry).sort(([a], [b]) => a.localeCompare(b)));
  });
}
