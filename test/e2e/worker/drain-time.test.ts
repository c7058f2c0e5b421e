import { expect } from 'chai';
import { waitUntil } from '../../support/cluster/e2e.ts';
import {
  applyObject, createApp, publishJobs, readWorker, ReplicaRecorder, streamLength, useWorkerSuite, workerCondition, workerObject, workerTemplate,
} from './worker-harness.ts';

const JOB_MS = 500;
const DRAIN_SECONDS = 60;

describe('HotMeshWorker: drainTime', function () {
  this.timeout(200_000);
  const suite = useWorkerSuite();

  it('sizes replicas to drain within drainSeconds', async function () {
    await createApp(suite);
    const kubeConfig = suite.cluster.plane.kubeConfig();
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'slow', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      engine: false,
      template: workerTemplate(5),
      // targetPerReplica only sizes the fleet until throughput is measured;
      // set high so that the first decisions keep the one replica measuring.
      scaling: { minReplicas: 1, maxReplicas: 16, metric: 'drainTime', drainSeconds: DRAIN_SECONDS, targetPerReplica: 100_000, pollingIntervalSeconds: 2, scaleDownStabilizationSeconds: 120 },
    }));
    const recorder = new ReplicaRecorder(kubeConfig, suite.namespace, 'slow-worker');
    try {
      await waitUntil('one worker is ready', async () => {
        const worker = await readWorker(kubeConfig, suite.namespace, 'slow');
        return workerCondition(worker, 'MetricsAvailable')?.status === 'True' && worker.status?.readyReplicas === 1;
      }, 30_000);

      // One replica handles 1000 / JOB_MS = 2 messages/s, so 1,140 messages
      // take it 9.5 minutes; draining them in 60 s takes ceil(1140 / 120) = 10.
      await publishJobs(suite, 1140, JOB_MS);
      const scaled = await waitUntil('the worker scales out', async () => {
        const worker = await readWorker(kubeConfig, suite.namespace, 'slow');
        return (worker.status?.desiredReplicas ?? 0) > 1 ? worker : undefined;
      }, 30_000);
      const scaledAt = Date.now();
      const backlog = scaled.status?.backlogTotal ?? 0;
      const needed = Math.ceil(backlog / ((1000 / JOB_MS) * DRAIN_SECONDS));
      expect(backlog, 'backlog at the scale-out').to.be.above(1000);
      expect(scaled.status?.desiredReplicas, `replicas for a backlog of ${backlog}`).to.be.within(needed - 1, needed + 1);

      await waitUntil('the backlog is drained', async () => (await streamLength(suite)) === 0, (DRAIN_SECONDS + 30) * 1000);
      const drainedInMs = Date.now() - scaledAt;
      const peak = Math.max(...recorder.changes.map((change) => change.replicas));
      expect(peak, 'most replicas while draining').to.be.within(needed - 1, needed + 1);
      expect(drainedInMs, 'ms to drain after the scale-out').to.be.at.most((DRAIN_SECONDS + 20) * 1000);
    } finally {
      recorder.stop();
    }
  });
});
