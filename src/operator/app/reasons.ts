// Condition types and reasons of HotMeshApp, as users and GitOps health
// checks see them.

export const CONDITION = {
  /** Summary: the desired version is deployed and the requested one is active. */
  ready: 'Ready',
  /** The manifest was read and compiled. */
  compiled: 'Compiled',
  /** The requested version is the active one in Redis. */
  activated: 'Activated',
  /** The operator is working on the latest spec (kstatus reads it as in progress). */
  reconciling: 'Reconciling',
  /** The operator cannot make progress until the spec changes (kstatus reads it as failed). */
  stalled: 'Stalled',
} as const;

export const REASON = {
  activated: 'Activated',
  deployed: 'Deployed',
  compiled: 'Compiled',
  compileFailed: 'CompileFailed',
  manifestNotFound: 'ManifestNotFound',
  manifestMismatch: 'ManifestMismatch',
  versionConflict: 'VersionConflict',
  versionNotDeployed: 'VersionNotDeployed',
  awaitingActivation: 'AwaitingActivation',
  redisUnavailable: 'RedisUnavailable',
  redisUrlNotFound: 'RedisUrlNotFound',
  progressing: 'Progressing',
  reconciled: 'Reconciled',
  deleting: 'Deleting',
  cleanupWaiting: 'CleanupWaitingForJobs',
  cleanupSkipped: 'CleanupSkipped',
  cleanedUp: 'CleanedUp',
  versionPruned: 'VersionPruned',
  /** Redis no longer matched what the operator had applied; the operator applied it again. */
  redisDrift: 'RedisDrift',
} as const;

/** Reasons after which only a spec change helps; Ready=False with one of them is Degraded in Argo CD. */
export const STALLED_REASONS: readonly string[] = [
  REASON.compileFailed, REASON.manifestMismatch, REASON.versionConflict, REASON.versionNotDeployed,
];
