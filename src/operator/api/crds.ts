// The CustomResourceDefinitions of group hotmesh.io, built from the schemas
// in this folder. `npm run crds` writes them to crds/*.yaml.
import type { V1CustomResourceDefinition, V1ObjectMeta } from '@kubernetes/client-node';
import { appSpecSchema, appStatusSchema, type HotMeshAppSpec, type HotMeshAppStatus } from './hotmesh-app.ts';
import { workerSpecSchema, workerStatusSchema, type HotMeshWorkerSpec, type HotMeshWorkerStatus } from './hotmesh-worker.ts';
import { object, string, type JsonSchema } from './schema.ts';

export const GROUP = 'hotmesh.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = 'hotmesh';

/** Names of one kind, as the apiserver serves it. */
export interface KindNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortName: string;
}

export const HOTMESH_APP: KindNames = { kind: 'HotMeshApp', listKind: 'HotMeshAppList', plural: 'hotmeshapps', singular: 'hotmeshapp', shortName: 'hma' };
export const HOTMESH_WORKER: KindNames = { kind: 'HotMeshWorker', listKind: 'HotMeshWorkerList', plural: 'hotmeshworkers', singular: 'hotmeshworker', shortName: 'hmw' };

/** A HotMeshApp as read from the apiserver. */
export interface HotMeshApp {
  apiVersion: typeof API_VERSION;
  kind: 'HotMeshApp';
  metadata: V1ObjectMeta;
  spec: HotMeshAppSpec;
  status?: HotMeshAppStatus;
}

/** A HotMeshWorker as read from the apiserver. */
export interface HotMeshWorker {
  apiVersion: typeof API_VERSION;
  kind: 'HotMeshWorker';
  metadata: V1ObjectMeta;
  spec: HotMeshWorkerSpec;
  status?: HotMeshWorkerStatus;
}

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

const readyColumn = (priority?: number): PrinterColumn[] => [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: priority ?? 1 },
];

function rootSchema(spec: JsonSchema, status: JsonSchema, description: string): JsonSchema {
  return object({
    apiVersion: string(),
    kind: string(),
    metadata: { type: 'object' },
    spec,
    status,
  }, { required: ['spec'], description });
}

function crd(names: KindNames, schema: JsonSchema, columns: PrinterColumn[], subresources: Record<string, unknown>): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: names.kind, listKind: names.listKind, plural: names.plural, singular: names.singular, shortNames: [names.shortName], categories: [CATEGORY] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: schema as never },
        subresources: subresources as never,
        additionalPrinterColumns: columns,
      }],
    },
  };
}

/** The HotMeshApp CRD. */
export function hotMeshAppCrd(): V1CustomResourceDefinition {
  return crd(HOTMESH_APP, rootSchema(appSpecSchema, appStatusSchema, 'An app manifest compiled into Redis and activated by the HotMesh operator.'), [
    { name: 'App', type: 'string', jsonPath: '.spec.appId' },
    { name: 'Active', type: 'string', jsonPath: '.status.activeVersion', description: 'The version new jobs start on.' },
    { name: 'Desired', type: 'string', jsonPath: '.spec.version' },
    ...readyColumn(),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ], { status: {} });
}

/** The HotMeshWorker CRD. */
export function hotMeshWorkerCrd(): V1CustomResourceDefinition {
  return crd(HOTMESH_WORKER, rootSchema(workerSpecSchema, workerStatusSchema, 'Worker pods for topics of a HotMeshApp, scaled from the stream backlog.'), [
    { name: 'App', type: 'string', jsonPath: '.spec.appRef.name' },
    { name: 'Topics', type: 'string', jsonPath: '.spec.topics' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Backlog', type: 'integer', jsonPath: '.status.backlogTotal' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ], {
    status: {},
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  });
}

/** Every CRD of the group, with the file name `npm run crds` writes it to. */
export function allCrds(): { file: string; crd: V1CustomResourceDefinition }[] {
  return [
    { file: `${GROUP}_${HOTMESH_APP.plural}.yaml`, crd: hotMeshAppCrd() },
    { file: `${GROUP}_${HOTMESH_WORKER.plural}.yaml`, crd: hotMeshWorkerCrd() },
  ];
}
