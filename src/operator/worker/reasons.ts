// Condition types and reasons of HotMeshWorker, as users and GitOps health
// checks see them. They follow KEDA's ScaledObject: Ready, Active, Fallback.

export const WORKER_CONDITION = {
  /** The operator can scale the worker: the app resolved and the Deployment is applied. */
  ready: 'Ready',
  /** The backlog is above the activation threshold. */
  active: 'Active',
  /** The last backlog read succeeded and every topic's stream and group exist. */
  metricsAvailable: 'MetricsAvailable',
  /** Backlog reads failed failureThreshold times in a row, so the fallback replicas run. */
  fallback: 'Fallback',
} as const;

export const WORKER_REASON = {
  reconciled: 'Reconciled',
  appNotFound: 'AppNotFound',
  redisUrlNotFound: 'RedisUrlNotFound',
  invalidTemplate: 'InvalidTemplate',
  externalScaling: 'ExternalScaling',
  backlogRead: 'BacklogRead',
  streamsNotFound: 'StreamsNotFound',
  metricsFailed: 'MetricsFailed',
  awaitingFirstPoll: 'AwaitingFirstPoll',
  aboveThreshold: 'BacklogAboveThreshold',
  atOrBelowThreshold: 'BacklogAtOrBelowThreshold',
  fallbackActive: 'FallbackReplicas',
  metricsHealthy: 'MetricsHealthy',
  scaledUp: 'ScaledUp',
  scaledDown: 'ScaledDown',
  scaledToZero: 'ScaledToZero',
  scaledByFallback: 'ScaledByFallback',
  scaledExternally: 'ScaledExternally',
} as const;
