// HotMeshApp: an app manifest that the operator compiles into Redis and
// activates. This file is the one source of its CRD schema and its types.
import { conditionsSchema } from './condition.ts';
import { array, integer, object, string, type Infer } from './schema.ts';

/** A key of a Secret or ConfigMap in the object's namespace. */
const keyRefSchema = object({
  name: string({ minLength: 1, maxLength: 253, description: 'Name of the object in the same namespace.' }),
  key: string({ minLength: 1, maxLength: 253, description: 'Key within the object.' }),
}, { required: ['name', 'key'] });

export const appSpecSchema = object({
  appId: string({
    description: 'The app id in Redis; must equal the manifest\'s app.id. Immutable.',
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$',
    'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'appId is immutable; create a new HotMeshApp for another app id' }],
  }),
  version: string({
    description: 'The version to deploy; must equal the manifest\'s app.version. A string, so "1.10" stays "1.10".',
    maxLength: 63,
    'x-kubernetes-validations': [{ rule: 'self.size() > 0', message: 'version must be a non-empty string such as "2"' }],
  }),
  manifest: string({ description: 'The app manifest as YAML text (a block scalar), so no YAML 1.1 word is coerced before the compiler reads it.' }),
  manifestFrom: object({
    configMapKeyRef: keyRefSchema,
  }, { required: ['configMapKeyRef'], description: 'Reads the manifest from a ConfigMap key instead of spec.manifest.' }),
  redis: object({
    url: string({ description: 'redis://[user:password@]host:port[/db]. Prefer urlFrom when the URL holds a password.', minLength: 1 }),
    urlFrom: object({
      secretKeyRef: keyRefSchema,
    }, { required: ['secretKeyRef'], description: 'Reads the URL from a Secret key; engine pods get it by reference, never copied.' }),
    keyPrefix: string({ description: 'Namespace in front of every key of the app. Defaults to hmsh.', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_.-]+$' }),
  }, {
    description: 'How the operator and the app\'s pods reach Redis.',
    'x-kubernetes-validations': [{ rule: 'has(self.url) != has(self.urlFrom)', message: 'set exactly one of redis.url and redis.urlFrom' }],
  }),
  engine: object({
    replicas: integer({ format: 'int32', minimum: 0, default: 1, description: 'Engine pods the operator runs for the app, so timers, hooks and signals fire while workers are scaled to zero.' }),
  }, { default: {} }),
  activation: string({ enum: ['Auto', 'Manual'], default: 'Auto', description: 'Auto activates spec.version once it is deployed. Manual deploys and activates spec.activeVersion only.' }),
  activeVersion: string({ description: 'With activation Manual: the deployed version to activate.', minLength: 1, maxLength: 63 }),
  versionHistoryLimit: integer({ format: 'int32', minimum: 1, default: 10, description: 'Deployed versions kept in Redis, besides the active and desired ones. Older versions are removed once no running job uses them.' }),
  deletionPolicy: string({ enum: ['Retain', 'Delete'], default: 'Retain', description: 'What deleting the HotMeshApp does to the app\'s Redis keys.' }),
}, {
  required: ['appId', 'version', 'redis'],
  'x-kubernetes-validations': [
    { rule: 'has(self.manifest) != has(self.manifestFrom)', message: 'set exactly one of manifest and manifestFrom' },
    { rule: '!has(self.activeVersion) || self.activation == \'Manual\'', message: 'activeVersion is only read with activation: Manual', fieldPath: '.activeVersion' },
  ],
});

export const appVersionSchema = object({
  version: string(),
  digest: string({ description: 'Content digest of the compiled manifest, sha256:….' }),
  sourceDigest: string({ description: 'Digest of the manifest text the version was deployed from; the same text is not compiled again.' }),
  deployedAt: string({ format: 'date-time' }),
  activatedAt: string({ format: 'date-time' }),
  liveJobs: integer({ format: 'int64', description: 'Jobs started on this version that have not finished, when last read.' }),
}, { required: ['version', 'digest', 'deployedAt'] });

export const appStatusSchema = object({
  observedGeneration: integer({ format: 'int64', description: 'The metadata.generation the status describes.' }),
  activeVersion: string({ description: 'The version new jobs start on.' }),
  versions: array(appVersionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['version'], description: 'Versions deployed in Redis, oldest first.' }),
  engine: object({
    deployment: string(),
    replicas: integer({ format: 'int32' }),
    readyReplicas: integer({ format: 'int32' }),
  }, { description: 'The engine Deployment the operator keeps for the app.' }),
  conditions: conditionsSchema,
});

export type HotMeshAppSpec = Infer<typeof appSpecSchema>;
export type HotMeshAppStatus = Infer<typeof appStatusSchema>;
export type AppVersionStatus = Infer<typeof appVersionSchema>;
