// CRD types and schemas of group hotmesh.io.
export { API_VERSION, GROUP, HOTMESH_APP, HOTMESH_WORKER, VERSION, allCrds, hotMeshAppCrd, hotMeshWorkerCrd, type HotMeshApp, type HotMeshWorker, type KindNames } from './crds.ts';
export type { AppVersionStatus, HotMeshAppSpec, HotMeshAppStatus } from './hotmesh-app.ts';
export type { HotMeshWorkerSpec, HotMeshWorkerStatus, ScalingSpec } from './hotmesh-worker.ts';
export type { Condition } from './condition.ts';
export { renderCrds } from './render.ts';
