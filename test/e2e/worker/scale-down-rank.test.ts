import { expect } from 'chai';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { processNamePrefix } from '../../../src/engine/hotmesh.ts';
import { WORKER_GROUP } from '../../../src/engine/store/keys.ts';
import { waitUntil } from '../../support/cluster/e2e.ts';
import {
  applyObject, createApp, deploymentReplicas, idleTemplate, publishJobs, useWorkerSuite, waitForJobs, workerObject, workerStream, workerTemplate,
} from './worker-harness.ts';

const COST = 'controller.kubernetes.io/pod-deletion-cost';

describe('HotMeshWorker: scale-down picks idle pods', function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();

  async function livePods(name: string): Promise<V1Pod[]> {
    const core = suite.cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: suite.namespace, labelSelector: `app.kubernetes.io/instance=${name}` });
    return list.items.filter((pod) => !pod.metadata?.deletionTimestamp);
  }

  it('keeps the pod that holds messages', async function () {
    await createApp(suite);
    const kubeConfig = suite.cluster.plane.kubeConfig();
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'rank', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      template: idleTemplate(),
      scaling: { minReplicas: 1, maxReplicas: 3, targetPerReplica: 10, pollingIntervalSeconds: 1, scaleDownStabilizationSeconds: 2 },
    }));
    const redis = suite.redisClient();
    const stream = workerStream(suite);
    const pipeline = redis.pipeline();
    for (let index = 0; index < 30; index++) pipeline.xadd(stream, '*', 'm', String(index));
    await pipeline.exec();
    await waitUntil('three worker pods run', async () => (await livePods('rank')).length === 3, 30_000);

    // The idle pods never read the stream, so the test reads 5 messages as a
    // consumer of the middle pod, the way `hotmesh worker` in that pod would.
    const names = (await livePods('rank')).map((pod) => pod.metadata!.name!).sort();
    const busy = names[1];
    await redis.xreadgroup('GROUP', WORKER_GROUP, `${processNamePrefix(busy)}1-test`, 'COUNT', 5, 'STREAMS', stream, '>');
    // The backlog is gone, but the 5 messages stay pending on that consumer.
    await redis.xtrim(stream, 'MAXLEN', 0);

    await waitUntil('the Deployment scales down to 1', async () => (await deploymentReplicas(kubeConfig, suite.namespace, 'rank-worker')) === 1, 20_000);
    await waitUntil('one pod is left', async () => (await livePods('rank')).length === 1, 20_000);
    const [left] = await livePods('rank');
    expect(left.metadata?.name).to.equal(busy);
    expect(left.metadata?.annotations?.[COST]).to.equal('5');
  });

  it('names stream consumers after the pod', async function () {
    await createApp(suite);
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'named', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      template: workerTemplate(5),
      scaling: { minReplicas: 1, maxReplicas: 1, targetPerReplica: 10, pollingIntervalSeconds: 1 },
    }));
    await waitUntil('one worker pod runs', async () => (await livePods('named')).length === 1, 30_000);
    const [pod] = await livePods('named');
    const prefix = processNamePrefix(pod.metadata!.name!);
    // The consumer shows up in XINFO once it has read a message, so one job runs.
    const ids = await publishJobs(suite, 1, 10);
    expect(await waitForJobs(suite, ids, 20_000)).to.equal(1);
    const consumers = await waitUntil('the pod reads the stream', async () => {
      const list = await suite.redisClient().xinfo('CONSUMERS', workerStream(suite), WORKER_GROUP) as unknown[][];
      const found = list.map((fields) => String(fields[fields.indexOf('name') + 1]));
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(consumers.some((name) => name.startsWith(prefix)), `consumers ${consumers.join(', ')} start with ${prefix}`).to.equal(true);
  });
});
