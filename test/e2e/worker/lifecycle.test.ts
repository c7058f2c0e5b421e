import { expect } from 'chai';
import { kubectl, waitUntil } from '../../support/cluster/e2e.ts';
import { appObject } from '../operator/operator-harness.ts';
import {
  applyObject, deploymentReplicas, idleTemplate, readWorker, ReplicaRecorder, useWorkerSuite, workerCondition, workerObject, workerStream, workManifest,
} from './worker-harness.ts';

describe('HotMeshWorker: lifecycle and External mode', function () {
  this.timeout(90_000);
  const suite = useWorkerSuite();

  it('waits at its minimum until the streams exist', async function () {
    const kubeConfig = suite.cluster.plane.kubeConfig();
    const plane = suite.cluster.plane;
    await applyObject(plane, workerObject(suite.namespace, 'early', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      template: idleTemplate(),
      scaling: { minReplicas: 0, maxReplicas: 3, targetPerReplica: 10, pollingIntervalSeconds: 1 },
    }));
    // 1. The app does not exist yet.
    const missingApp = await waitUntil('the worker reports the missing app', async () => {
      const worker = await readWorker(kubeConfig, suite.namespace, 'early');
      return workerCondition(worker, 'Ready')?.reason === 'AppNotFound' ? worker : undefined;
    }, 15_000);
    expect(workerCondition(missingApp, 'Ready')?.status).to.equal('False');
    expect(workerCondition(missingApp, 'MetricsAvailable')?.message).to.contain('staying at minReplicas 0');
    expect(missingApp.status?.desiredReplicas).to.equal(0);

    // 2. The app exists, but its manifest ConfigMap does not, so nothing is deployed.
    await applyObject(plane, appObject(suite.namespace, 'orders', {
      appId: suite.appId, version: '1', manifestFrom: { configMapKeyRef: { name: 'orders-manifest', key: 'app.yaml' } }, redis: { url: suite.redis.url }, engine: { replicas: 0 },
    }));
    const waiting = await waitUntil('the worker reports the missing streams', async () => {
      const worker = await readWorker(kubeConfig, suite.namespace, 'early');
      return workerCondition(worker, 'MetricsAvailable')?.reason === 'StreamsNotFound' ? worker : undefined;
    }, 15_000);
    expect(workerCondition(waiting, 'MetricsAvailable')?.status).to.equal('False');
    expect(workerCondition(waiting, 'MetricsAvailable')?.message).to.contain('work.item');
    expect(workerCondition(waiting, 'Ready')?.status).to.equal('True');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await deploymentReplicas(kubeConfig, suite.namespace, 'early-worker')).to.equal(0);
    expect(await suite.redisClient().exists(workerStream(suite))).to.equal(0);

    // 3. The manifest arrives; the app deploys and creates the streams.
    const created = await kubectl(plane, ['create', 'configmap', 'orders-manifest', '-n', suite.namespace, `--from-literal=app.yaml=${workManifest(suite.appId)}`]);
    expect(created.code, created.stderr).to.equal(0);
    const touched = await kubectl(plane, ['annotate', 'hma/orders', '-n', suite.namespace, 'test/retry=1']);
    expect(touched.code, touched.stderr).to.equal(0);
    await waitUntil('the worker reads the streams', async () => {
      const worker = await readWorker(kubeConfig, suite.namespace, 'early');
      return workerCondition(worker, 'MetricsAvailable')?.status === 'True';
    }, 20_000);
    const pipeline = suite.redisClient().pipeline();
    for (let index = 0; index < 25; index++) pipeline.xadd(workerStream(suite), '*', 'test', String(index));
    await pipeline.exec();
    await waitUntil('the Deployment scales for the backlog', async () => (await deploymentReplicas(kubeConfig, suite.namespace, 'early-worker')) === 3, 5000);
    // The reconcile scales the Deployment before it writes the status.
    const worker = await waitUntil('the status shows the backlog', async () => {
      const read = await readWorker(kubeConfig, suite.namespace, 'early');
      return read.status?.desiredReplicas === 3 ? read : undefined;
    }, 5000);
    expect(worker.status?.backlog).to.deep.equal({ 'work.item': 25 });
    expect(workerCondition(worker, 'Active')?.status).to.equal('True');
  });

  it('External mode copies kubectl scale and keeps it', async function () {
    const kubeConfig = suite.cluster.plane.kubeConfig();
    const plane = suite.cluster.plane;
    await applyObject(plane, appObject(suite.namespace, 'orders', {
      appId: suite.appId, version: '1', manifest: workManifest(suite.appId), redis: { url: suite.redis.url }, engine: { replicas: 0 },
    }));
    await applyObject(plane, workerObject(suite.namespace, 'ext', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      template: idleTemplate(),
      scaling: { mode: 'External', minReplicas: 0, maxReplicas: 5, targetPerReplica: 10, pollingIntervalSeconds: 1 },
    }));
    const recorder = new ReplicaRecorder(kubeConfig, suite.namespace, 'ext-worker');
    try {
      await waitUntil('the Deployment exists at 0', () => recorder.current === 0, 20_000);
      const scaled = await kubectl(plane, ['scale', 'hmw/ext', '-n', suite.namespace, '--replicas', '3']);
      expect(scaled.code, scaled.stderr).to.equal(0);
      await waitUntil('the Deployment follows /scale', () => recorder.current === 3, 10_000);

      // A backlog that Internal mode would scale to 5 changes nothing here.
      const pipeline = suite.redisClient().pipeline();
      for (let index = 0; index < 200; index++) pipeline.xadd(workerStream(suite), '*', 'test', String(index));
      await pipeline.exec();
      await waitUntil('the status shows the backlog', async () => (await readWorker(kubeConfig, suite.namespace, 'ext')).status?.backlogTotal === 200, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(recorder.changes.map((change) => change.replicas)).to.deep.equal([0, 3]);

      const scale = await kubectl(plane, ['get', '--raw', `/apis/hotmesh.io/v1alpha1/namespaces/${suite.namespace}/hotmeshworkers/ext/scale`]);
      expect(scale.code, scale.stderr).to.equal(0);
      const body = JSON.parse(scale.stdout) as { spec: { replicas: number }; status: { replicas: number; selector: string } };
      expect(body.spec.replicas).to.equal(3);
      expect(body.status.selector).to.equal('app.kubernetes.io/instance=ext,app.kubernetes.io/name=hotmesh-worker');
      await waitUntil('status.replicas reaches 3', async () => (await readWorker(kubeConfig, suite.namespace, 'ext')).status?.replicas === 3, 15_000);
      const worker = await readWorker(kubeConfig, suite.namespace, 'ext');
      expect(worker.status?.desiredReplicas).to.equal(3);
      expect(worker.status?.lastScaleReason).to.match(/^ScaledExternally: 0 → 3 replicas/);
    } finally {
      recorder.stop();
    }
  });
});
