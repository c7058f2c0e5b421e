// The public API of the engine library, for users' worker and client code.
export {
  HotMesh,
  type DeployResult,
  type EngineOptions,
  type HotMeshConfig,
  type HotMeshState,
  type JobListener,
  type PubOptions,
  type PubSubOptions,
  type RedisConnection,
  type WorkerOptions,
} from './engine/hotmesh.ts';
export { reply, WorkerReply, type WorkerCallback, type WorkerContext } from './engine/worker-reply.ts';
export { compileManifest } from './engine/compiler/compile.ts';
export type { CompiledApp } from './engine/compiler/types.ts';
export type { JobMetadata, JobOutput } from './engine/store/job-codec.ts';
export {
  ConfigError,
  DuplicateJobError,
  HotMeshError,
  IllegalStateError,
  JobFailedError,
  JobNotFoundError,
  JobTimeoutError,
  ManifestError,
  NoActiveVersionError,
  UnknownHookTopicError,
  UnknownTopicError,
  VersionConflictError,
  VersionNotDeployedError,
  type ManifestIssue,
} from './engine/errors.ts';
