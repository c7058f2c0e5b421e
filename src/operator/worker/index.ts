// The HotMeshWorker controller: its reconcile, the backlog poller that
// drives the autoscaler, and the platform interface they run on.
export { BacklogPoller, type BacklogPollerOptions, type PollResult, type PollTarget } from './backlog-poller.ts';
export { workerConditions, type WorkerOutcome } from './conditions.ts';
export { InvalidWorkloadError, type WorkerPlatform, type WorkerWorkload, type WorkerWorkloadState } from './platform.ts';
export { WORKER_CONDITION, WORKER_REASON } from './reasons.ts';
export { WorkerReconciler, type WorkerReconcilerOptions } from './worker-reconciler.ts';
export { DEFAULT_GRACE_SECONDS, formatSelector, shutdownGraceMs, workerSelectorLabels, workerWorkload, workloadName } from './workload.ts';
