// HotMeshWorker: a worker Deployment for some topics of a HotMeshApp,
// scaled from the stream backlog. This file is the one source of its CRD
// schema and its types.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { conditionsSchema } from './condition.ts';
import { array, boolean, integer, map, object, preserved, string, type Infer } from './schema.ts';

export const scalingSchema = object({
  mode: string({ enum: ['Internal', 'External'], default: 'Internal', description: 'Internal: the operator scales. External: an HPA or KEDA writes /scale.' }),
  minReplicas: integer({ format: 'int32', minimum: 0, default: 0 }),
  maxReplicas: integer({ format: 'int32', minimum: 1, description: 'Required, with no default, so a misplaced field can never fall back to one.' }),
  metric: string({ enum: ['streamLength', 'lag', 'pending', 'drainTime'], default: 'streamLength', description: 'streamLength is XLEN, the backlog, because the engine deletes handled messages.' }),
  targetPerReplica: integer({ format: 'int32', minimum: 1, default: 100, description: 'Backlog per replica, for the count metrics.' }),
  drainSeconds: integer({ format: 'int32', minimum: 1, default: 60, description: 'For drainTime: drain the backlog within this time.' }),
  activationThreshold: integer({ format: 'int64', minimum: 0, default: 0, description: 'Scale from zero when the backlog is above this.' }),
  pollingIntervalSeconds: integer({ format: 'int32', minimum: 1, default: 5 }),
  scaleDownStabilizationSeconds: integer({ format: 'int32', minimum: 0, default: 300 }),
  cooldownSeconds: integer({ format: 'int32', minimum: 0, default: 300, description: 'Time with no backlog before scaling to zero.' }),
  scaleUpLimit: integer({ format: 'int32', minimum: 1, description: 'Most replicas added per polling interval; unlimited when unset.' }),
  fallback: object({
    failureThreshold: integer({ format: 'int32', minimum: 1, default: 3 }),
    replicas: integer({ format: 'int32', minimum: 0, default: 1 }),
  }, { required: ['replicas'], description: 'Replicas to run after this many failed metric reads in a row.' }),
}, {
  required: ['maxReplicas'],
  'x-kubernetes-validations': [{ rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas', message: 'minReplicas must be <= maxReplicas', fieldPath: '.minReplicas' }],
});

export const workerSpecSchema = object({
  appRef: object({ name: string({ minLength: 1, maxLength: 253 }) }, { required: ['name'], description: 'A HotMeshApp in the same namespace; the Redis settings come from it.' }),
  topics: array(string({ minLength: 1 }), { minItems: 1, 'x-kubernetes-list-type': 'set', description: 'Worker topics the pods serve.' }),
  engine: boolean({ default: true, description: 'The pods also run an engine for the app.' }),
  template: preserved<V1PodTemplateSpec>({ description: 'A PodTemplateSpec for the worker pods.' }),
  replicas: integer({ format: 'int32', minimum: 0, description: 'Replicas; written through /scale when scaling.mode is External.' }),
  scaling: scalingSchema,
}, { required: ['appRef', 'topics', 'template', 'scaling'] });

export const workerStatusSchema = object({
  observedGeneration: integer({ format: 'int64' }),
  replicas: integer({ format: 'int32' }),
  readyReplicas: integer({ format: 'int32' }),
  desiredReplicas: integer({ format: 'int32' }),
  selector: string({ description: 'Label selector of the pods, for /scale.' }),
  backlog: map(integer({ format: 'int64' }), { description: 'Backlog per topic at the last poll.' }),
  backlogTotal: integer({ format: 'int64', description: 'Sum of backlog, for the BACKLOG column.' }),
  metric: string(),
  lastScaleTime: string({ format: 'date-time' }),
  lastScaleReason: string(),
  conditions: conditionsSchema,
});

export type HotMeshWorkerSpec = Infer<typeof workerSpecSchema>;
export type HotMeshWorkerStatus = Infer<typeof workerStatusSchema>;
export type ScalingSpec = Infer<typeof scalingSchema>;
