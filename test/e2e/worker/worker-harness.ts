// Helpers shared by the HotMeshWorker e2e suites: an app whose graph calls
// worker topic work.item, worker objects, and a recorder of the worker
// Deployment's replicas over time.
import { join } from 'node:path';
import { expect } from 'chai';
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { HotMesh } from '../../../src/index.ts';
import { AppKeys } from '../../../src/engine/store/keys.ts';
import type { Condition, HotMeshWorker } from '../../../src/operator/api/index.ts';
import type { Operator } from '../../../src/operator/manager.ts';
import {
  createNamespace, deleteNamespace, kubectl, skipUnlessBuilt, testCluster, waitUntil, type ControlPlane, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { quietLogger } from '../../support/logger.ts';
import { RedisServer } from '../../support/redis-server.ts';
import { appObject, condition, installCrds, readApp, startOperator } from '../operator/operator-harness.ts';

/** Worker topic of the test app. */
export const TOPIC = 'work.item';
/** Module the worker pods load. */
export const WORKER_MODULE = join(import.meta.dirname, 'fixtures', 'sleep-worker.ts');

/** Returns an app manifest: trigger work.start → worker work.item, which sleeps `ms`. */
export function workManifest(appId: string): string {
  return `app:
  id: ${appId}
  version: '1'
  graphs:
    - subscribes: work.start
      expire: 600
      activities:
        t1:
          type: trigger
        work:
          type: worker
          topic: ${TOPIC}
          input:
            maps:
              ms: '{t1.output.data.ms}'
          job:
            maps:
              done: '{$self.output.data.done}'
      transitions:
        t1:
          - to: work
`;
}

/** A pod template that runs `hotmesh worker` on the fixture module, one message at a time. */
export function workerTemplate(graceSeconds: number, env: Array<{ name: string; value: string }> = []): Record<string, unknown> {
  return {
    spec: {
      terminationGracePeriodSeconds: graceSeconds,
      containers: [{
        name: 'worker',
        image: 'example.invalid/hotmesh-worker:test',
        command: ['hotmesh', 'worker'],
        env: [{ name: 'HOTMESH_WORKER_MODULE', value: WORKER_MODULE }, { name: 'HOTMESH_CONCURRENCY', value: '1' }, ...env],
      }],
    },
  };
}

/** Returns a pod template whose process only sleeps, for tests that set the backlog by hand. */
export function idleTemplate(): Record<string, unknown> {
  return {
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'worker', image: 'example.invalid/idle:test', command: ['node', '-e', 'setInterval(() => {}, 60000); process.on("SIGTERM", () => process.exit(0))'] }],
    },
  };
}

/** Returns a HotMeshWorker as JSON for kubectl apply. */
export function workerObject(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'hotmesh.io/v1alpha1', kind: 'HotMeshWorker', metadata: { name, namespace }, spec });
}

/** Applies an object with kubectl and expects success. */
export async function applyObject(plane: ControlPlane, json: string): Promise<void> {
  const result = await kubectl(plane, ['apply', '-f', '-'], json);
  expect(result.code, result.stderr).to.equal(0);
}

/** Reads a HotMeshWorker. */
export async function readWorker(kubeConfig: KubeConfig, namespace: string, name: string): Promise<HotMeshWorker> {
  return await kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'hotmesh.io', version: 'v1alpha1', plural: 'hotmeshworkers', namespace, name }) as HotMeshWorker;
}

/** Returns a condition of a worker, if set. */
export function workerCondition(worker: HotMeshWorker, type: string): Condition | undefined {
  return worker.status?.conditions?.find((entry) => entry.type === type);
}

/** Reads the Deployment's spec.replicas; undefined while it does not exist. */
export async function deploymentReplicas(kubeConfig: KubeConfig, namespace: string, name: string): Promise<number | undefined> {
  try {
    const deployment = await kubeConfig.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace, name });
    return deployment.spec?.replicas ?? 0;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** One change of the Deployment's replicas, as a {@link ReplicaRecorder} saw it. */
export interface ReplicaChange {
  at: number;
  replicas: number;
}

/** Records every change of a Deployment's spec.replicas, read every 100 ms. */
export class ReplicaRecorder {
  readonly changes: ReplicaChange[] = [];
  private readonly kubeConfig: KubeConfig;
  private readonly namespace: string;
  private readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(kubeConfig: KubeConfig, namespace: string, name: string) {
    this.kubeConfig = kubeConfig;
    this.namespace = namespace;
    this.name = name;
    this.timer = setInterval(() => void this.read(), 100);
  }

  get current(): number | undefined {
    return this.changes.at(-1)?.replicas;
  }

  /** Time of the first change to `replicas` after `since`; undefined when none happened yet. */
  reachedAt(replicas: number, since = 0): number | undefined {
    return this.changes.find((change) => change.at >= since && change.replicas === replicas)?.at;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const replicas = await deploymentReplicas(this.kubeConfig, this.namespace, this.name);
      if (replicas !== undefined && replicas !== this.current) this.changes.push({ at: Date.now(), replicas });
    } catch {
      // The next read tries again.
    } finally {
      this.reading = false;
    }
  }
}

/** What each test of a worker suite gets: its namespace, operator, Redis and an in-process engine. */
export interface WorkerSuite {
  cluster: TestCluster;
  redis: RedisServer;
  namespace: string;
  appId: string;
  /** An engine and client for the app in the test process; it runs triggers, the worker pods run work.item. */
  client: () => Promise<HotMesh>;
  /** Runs a Redis command on the suite's server. */
  redisClient: () => Redis;
}

let suiteCount = 0;

/**
 * Registers the hooks of a worker suite: a control plane, a Redis server, and
 * per test a namespace with an operator in this process. Skips with the
 * reason when the control plane is not built.
 */
export function useWorkerSuite(): WorkerSuite {
  const suite = {} as WorkerSuite;
  let operator: Operator | undefined;
  let hotMesh: HotMesh | undefined;
  let admin: Redis | undefined;

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    suite.cluster = await testCluster();
    await installCrds(suite.cluster.plane);
    suite.redis = await RedisServer.start();
  });

  after(async function () {
    await suite.redis?.stop();
  });

  beforeEach(async function () {
    suiteCount++;
    suite.appId = `work${process.pid}x${suiteCount}`;
    suite.namespace = await createNamespace(suite.cluster.plane.kubeConfig(), 'hmw');
    operator = await startOperator(suite.cluster.plane.kubeConfig(), suite.namespace, { workerMissingReferenceRetryMs: 2000 });
    suite.client = async () => {
      hotMesh ??= await HotMesh.init({ appId: suite.appId, redis: { url: suite.redis.url }, logger: quietLogger(), engine: { timerPollMs: 100 } });
      return hotMesh;
    };
    suite.redisClient = () => {
      admin ??= suite.redis.client();
      return admin;
    };
  });

  afterEach(async function () {
    this.timeout(60_000);
    await hotMesh?.stop(500);
    hotMesh = undefined;
    admin?.disconnect();
    admin = undefined;
    await operator?.stop();
    operator = undefined;
    await deleteNamespace(suite.cluster.plane.kubeConfig(), suite.namespace);
  });

  return suite;
}

/** Applies the test app `orders` with no engine pods and waits until its streams exist in Redis. */
export async function createApp(suite: WorkerSuite, name = 'orders'): Promise<void> {
  await applyObject(suite.cluster.plane, appObject(suite.namespace, name, {
    appId: suite.appId, version: '1', manifest: workManifest(suite.appId), redis: { url: suite.redis.url }, engine: { replicas: 0 },
  }));
  await waitUntil(`app ${name} is Ready`, async () => {
    const app = await readApp(suite.cluster.plane.kubeConfig(), suite.namespace, name);
    return condition(app, 'Ready')?.status === 'True';
  }, 30_000);
}

/** Returns the worker stream key of the test topic. */
export function workerStream(suite: WorkerSuite): string {
  return new AppKeys(suite.appId).workerStream(TOPIC);
}

/** Messages in the worker stream now: the backlog by streamLength. */
export async function streamLength(suite: WorkerSuite): Promise<number> {
  return await suite.redisClient().xlen(workerStream(suite));
}

/** Publishes `count` jobs that each sleep `ms` in the worker; returns their ids. */
export async function publishJobs(suite: WorkerSuite, count: number, ms: number): Promise<string[]> {
  const hotMesh = await suite.client();
  const ids: string[] = [];
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, () => hotMesh.pub('work.start', { ms }));
    ids.push(...await Promise.all(batch));
  }
  return ids;
}

/** Waits until every job has completed, and returns how many did. */
export async function waitForJobs(suite: WorkerSuite, ids: string[], timeoutMs: number): Promise<number> {
  const hotMesh = await suite.client();
  const open = new Set(ids);
  await waitUntil(`${ids.length} jobs complete`, async () => {
    for (const id of [...open]) {
      if ((await hotMesh.getStatus(id)) === 0) open.delete(id);
    }
    return open.size === 0;
  }, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}; ${open.size} of ${ids.length} still open`);
  });
  return ids.length - open.size;
}
