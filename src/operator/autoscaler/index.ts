// The autoscaler of HotMeshWorker: a pure decision and the Redis reader that
// feeds it.
export { decide, emptyHistory, recommend, resolveScaling, startingHistory, type MetricSample, type ScaleDecision, type Scaling, type ScalingHistory } from './decide.ts';
export { emptyThroughput, readBacklog, type ThroughputState } from './metrics.ts';

/** Default polling interval, ms (spec.scaling.pollingIntervalSeconds: 5). */
export const DEFAULT_POLL_INTERVAL_MS = 5000;
