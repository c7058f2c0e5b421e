import { array, integer, object, string, type Infer } from './schema.ts';

/** metav1.Condition, the shape Kubernetes tools (kstatus, Argo CD) read. */
export const conditionSchema = object({
  type: string({ description: 'Condition type in CamelCase, e.g. Ready.', maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
  status: string({ enum: ['True', 'False', 'Unknown'] }),
  observedGeneration: integer({ format: 'int64', minimum: 0, description: 'The metadata.generation this condition was computed from.' }),
  lastTransitionTime: string({ format: 'date-time', description: 'When the status last changed.' }),
  reason: string({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'One-word CamelCase category of the status.' }),
  message: string({ maxLength: 32768, description: 'Human-readable details.' }),
}, { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] });

/** One status condition. */
export type Condition = Infer<typeof conditionSchema>;

/** `status.conditions`: a list keyed by type, so patches merge per condition. */
export const conditionsSchema = array(conditionSchema, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  description: 'Latest observations of the object, one per type.',
});
