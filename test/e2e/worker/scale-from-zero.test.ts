import { expect } from 'chai';
import { waitUntil } from '../../support/cluster/e2e.ts';
import {
  applyObject, createApp, publishJobs, readWorker, ReplicaRecorder, streamLength, useWorkerSuite, waitForJobs, workerCondition, workerObject, workerTemplate,
} from './worker-harness.ts';

const POLL_SECONDS = 2;

describe('HotMeshWorker: scale from zero', function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();

  it('one message wakes one worker within one poll', async function () {
    await createApp(suite);
    const kubeConfig = suite.cluster.plane.kubeConfig();
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'charge', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      engine: false,
      template: workerTemplate(10),
      scaling: { minReplicas: 0, maxReplicas: 3, targetPerReplica: 10, activationThreshold: 0, pollingIntervalSeconds: POLL_SECONDS, cooldownSeconds: 300 },
    }));
    const recorder = new ReplicaRecorder(kubeConfig, suite.namespace, 'charge-worker');
    try {
      await waitUntil('the worker reads an empty backlog', async () => {
        const worker = await readWorker(kubeConfig, suite.namespace, 'charge');
        return workerCondition(worker, 'MetricsAvailable')?.status === 'True' && worker.status?.backlogTotal === 0 && recorder.current === 0;
      }, 20_000);

      const [id] = await publishJobs(suite, 1, 0);
      await waitUntil('the message is in the worker stream', async () => (await streamLength(suite)) === 1, 10_000);
      const queuedAt = Date.now();
      await waitUntil('the Deployment is scaled to 1', () => recorder.current === 1, 10_000);
      const wokeAfterMs = recorder.reachedAt(1)! - queuedAt;
      expect(wokeAfterMs, 'ms from the message to replicas 1').to.be.at.most(POLL_SECONDS * 1000 + 500);

      expect(await waitForJobs(suite, [id], 30_000)).to.equal(1);
      const worker = await readWorker(kubeConfig, suite.namespace, 'charge');
      expect(worker.status?.lastScaleReason).to.match(/^ScaledUp: 0 → 1 replicas/);
      expect(workerCondition(worker, 'Ready')?.status).to.equal('True');
      expect(recorder.changes.map((change) => change.replicas)).to.deep.equal([0, 1]);
    } finally {
      recorder.stop();
    }
  });
});
