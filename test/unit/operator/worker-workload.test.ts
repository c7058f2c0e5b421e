import { expect } from 'chai';
import type { HotMeshApp, HotMeshWorker } from '../../../src/operator/api/index.ts';
import { workerDeployment } from '../../../src/operator/kube/kube-worker-platform.ts';
import { InvalidWorkloadError } from '../../../src/operator/worker/platform.ts';
import { formatSelector, shutdownGraceMs, workerWorkload } from '../../../src/operator/worker/workload.ts';

function app(redis: HotMeshApp['spec']['redis']): HotMeshApp {
  return { apiVersion: 'hotmesh.io/v1alpha1', kind: 'HotMeshApp', metadata: { name: 'orders', namespace: 'team-a' }, spec: { appId: 'orders', version: '1', manifest: '', redis } };
}

function worker(template: HotMeshWorker['spec']['template'], extra: Partial<HotMeshWorker['spec']> = {}): HotMeshWorker {
  return {
    apiVersion: 'hotmesh.io/v1alpha1',
    kind: 'HotMeshWorker',
    metadata: { name: 'pay', namespace: 'team-a', uid: 'uid-1' },
    spec: { appRef: { name: 'orders' }, topics: ['pay.charge', 'pay.refund'], template, scaling: { maxReplicas: 5 }, ...extra },
  };
}

const container = { name: 'worker', image: 'example.invalid/pay:1', command: ['hotmesh', 'worker'] };

describe('worker workload', () => {
  it('injects the app settings as variables', () => {
    const workload = workerWorkload(worker({ spec: { containers: [container] } }, { engine: false }), app({ url: 'redis://redis:6379', keyPrefix: 'team' }), 3);
    const deployment = workerDeployment(worker({ spec: { containers: [container] } }), workload);
    const env = deployment.spec?.template.spec?.containers[0].env;
    expect(env).to.deep.equal([
      { name: 'HOTMESH_APP_ID', value: 'orders' },
      { name: 'HOTMESH_REDIS_URL', value: 'redis://redis:6379' },
      { name: 'HOTMESH_KEY_PREFIX', value: 'team' },
      { name: 'HOTMESH_TOPICS', value: 'pay.charge,pay.refund' },
      { name: 'HOTMESH_ENGINE', value: 'false' },
      { name: 'HOTMESH_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'HOTMESH_SHUTDOWN_GRACE_MS', value: '25000' },
    ]);
    expect(deployment.spec?.replicas).to.equal(3);
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).to.equal(30);
  });

  it('refers to the Secret instead of copying the URL', () => {
    const spec = { urlFrom: { secretKeyRef: { name: 'redis', key: 'url' } } };
    const deployment = workerDeployment(worker({ spec: { containers: [container] } }), workerWorkload(worker({ spec: { containers: [container] } }), app(spec), 1));
    const env = deployment.spec?.template.spec?.containers[0].env ?? [];
    expect(env.find((entry) => entry.name === 'HOTMESH_REDIS_URL')).to.deep.equal({ name: 'HOTMESH_REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } } });
  });

  it('keeps template variables and replaces injected ones', () => {
    const own = { ...container, env: [{ name: 'HOTMESH_TOPICS', value: 'wrong' }, { name: 'HOTMESH_SHUTDOWN_GRACE_MS', value: '1000' }, { name: 'HOTMESH_WORKER_MODULE', value: '/app/workers.js' }] };
    const template = { spec: { containers: [own] } };
    const deployment = workerDeployment(worker(template), workerWorkload(worker(template), app({ url: 'redis://r:6379' }), 1));
    const env = deployment.spec?.template.spec?.containers[0].env ?? [];
    expect(env.filter((entry) => entry.name === 'HOTMESH_TOPICS')).to.deep.equal([{ name: 'HOTMESH_TOPICS', value: 'pay.charge,pay.refund' }]);
    expect(env.filter((entry) => entry.name === 'HOTMESH_SHUTDOWN_GRACE_MS')).to.deep.equal([{ name: 'HOTMESH_SHUTDOWN_GRACE_MS', value: '1000' }]);
    expect(env).to.deep.include({ name: 'HOTMESH_WORKER_MODULE', value: '/app/workers.js' });
  });

  it('injects into the container named worker', () => {
    const sidecar = { name: 'proxy', image: 'example.invalid/proxy:1' };
    const template = { spec: { containers: [sidecar, container] } };
    const deployment = workerDeployment(worker(template), workerWorkload(worker(template), app({ url: 'redis://r:6379' }), 1));
    const [first, second] = deployment.spec?.template.spec?.containers ?? [];
    expect(first.env).to.equal(undefined);
    expect(second.env?.length).to.equal(7);
  });

  it('selects its pods and is owned by the worker', () => {
    const template = { metadata: { labels: { team: 'a' } }, spec: { containers: [container], terminationGracePeriodSeconds: 90 } };
    const deployment = workerDeployment(worker(template), workerWorkload(worker(template), app({ url: 'redis://r:6379' }), 1));
    expect(deployment.metadata?.name).to.equal('pay-worker');
    expect(deployment.spec?.selector.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'hotmesh-worker', 'app.kubernetes.io/instance': 'pay' });
    expect(deployment.spec?.template.metadata?.labels).to.include({ team: 'a', 'app.kubernetes.io/instance': 'pay', 'hotmesh.io/app': 'orders' });
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).to.equal(90);
    expect(deployment.metadata?.ownerReferences?.[0]).to.include({ kind: 'HotMeshWorker', name: 'pay', uid: 'uid-1', controller: true });
    expect(formatSelector(deployment.spec!.selector.matchLabels!)).to.equal('app.kubernetes.io/instance=pay,app.kubernetes.io/name=hotmesh-worker');
  });

  it('rejects a template without containers', () => {
    const template = { spec: { containers: [] } };
    expect(() => workerDeployment(worker(template), workerWorkload(worker(template), app({ url: 'redis://r:6379' }), 1))).to.throw(InvalidWorkloadError, /containers is empty/);
  });

  it('keeps back a margin of the grace period', () => {
    expect(shutdownGraceMs(30)).to.equal(25_000);
    expect(shutdownGraceMs(10)).to.equal(8000);
    expect(shutdownGraceMs(0)).to.equal(0);
  });
});
