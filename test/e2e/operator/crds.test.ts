import { join } from 'node:path';
import { expect } from 'chai';
import {
  createNamespace, deleteNamespace, kubectl, skipUnlessBuilt, testCluster, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { installCrds } from './operator-harness.ts';

const crdsDir = join(import.meta.dirname, '..', '..', '..', 'crds');

function worker(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'hotmesh.io/v1alpha1', kind: 'HotMeshWorker', metadata: { name, namespace }, spec });
}

function app(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'hotmesh.io/v1alpha1', kind: 'HotMeshApp', metadata: { name, namespace }, spec });
}

const template = { spec: { containers: [{ name: 'worker', image: 'example.invalid/worker:1', command: ['hotmesh', 'worker'] }] } };
const appSpec = { appId: 'orders', version: '1', manifest: 'app:\n  id: orders\n', redis: { url: 'redis://127.0.0.1:6379' } };

describe('operator: CRD validation', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
    await installCrds(cluster.plane);
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'crds');
  });

  afterEach(async function () {
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    namespace = undefined;
  });

  it('crds/ files apply with server-side apply', async function () {
    const result = await kubectl(cluster.plane, ['apply', '--server-side', '--dry-run=server', '-f', crdsDir]);
    expect(result.code, result.stderr).to.equal(0);
  });

  it('misplaced maxReplicas is rejected as unknown', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], worker(namespace!, 'misplaced', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { minReplicas: 1 }, maxReplicas: 20,
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('unknown field "spec.maxReplicas"');
  });

  it('misplaced maxReplicas without validation is pruned and rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '--validate=false', '-f', '-'], worker(namespace!, 'pruned', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { minReplicas: 1 }, maxReplicas: 20,
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('spec.scaling.maxReplicas: Required value');
  });

  it('missing maxReplicas is rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], worker(namespace!, 'missing', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { minReplicas: 1 },
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('spec.scaling.maxReplicas: Required value');
  });

  it('minReplicas above maxReplicas is rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], worker(namespace!, 'inverted', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { minReplicas: 5, maxReplicas: 2 },
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('minReplicas must be <= maxReplicas');
  });

  it('string maxReplicas is rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], worker(namespace!, 'typed', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { maxReplicas: '10' },
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('spec.scaling.maxReplicas: Invalid value: "string": spec.scaling.maxReplicas in body must be of type integer');
  });

  it('valid worker gets defaults and columns', async function () {
    const created = await kubectl(cluster.plane, ['apply', '-f', '-'], worker(namespace!, 'pay', {
      appRef: { name: 'orders' }, topics: ['pay.charge'], template, scaling: { maxReplicas: 10 },
    }));
    expect(created.code, created.stderr).to.equal(0);
    const read = await kubectl(cluster.plane, ['get', '-n', namespace!, 'hmw', 'pay', '-o', 'json']);
    const spec = JSON.parse(read.stdout).spec;
    expect(spec.engine).to.equal(true);
    expect(spec.scaling.minReplicas).to.equal(0);
    expect(spec.scaling.metric).to.equal('streamLength');
    expect(spec.template.spec.containers[0].command).to.deep.equal(['hotmesh', 'worker']);
    const table = await kubectl(cluster.plane, ['get', '-n', namespace!, 'hotmesh']);
    expect(table.stdout.split('\n')[0]).to.match(/^NAME\s+APP\s+TOPICS\s+REPLICAS\s+READY\s+BACKLOG\s+AGE/);
  });

  it('app id is immutable', async function () {
    const created = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'orders', appSpec));
    expect(created.code, created.stderr).to.equal(0);
    const changed = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'orders', { ...appSpec, appId: 'billing' }));
    expect(changed.code).to.not.equal(0);
    expect(changed.stderr).to.contain('appId is immutable');
  });

  it('empty version is rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'empty', { ...appSpec, version: '' }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('version must be a non-empty string');
  });

  it('numeric version is rejected as a number', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'number', { ...appSpec, version: 2 }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('spec.version in body must be of type string');
  });

  it('manifest and manifestFrom together are rejected', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'both', {
      ...appSpec, manifestFrom: { configMapKeyRef: { name: 'graph', key: 'app.yaml' } },
    }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('set exactly one of manifest and manifestFrom');
  });

  it('app columns and wide reason', async function () {
    const created = await kubectl(cluster.plane, ['apply', '-f', '-'], app(namespace!, 'columns', appSpec));
    expect(created.code, created.stderr).to.equal(0);
    const table = await kubectl(cluster.plane, ['get', '-n', namespace!, 'hma', '-o', 'wide']);
    expect(table.stdout.split('\n')[0]).to.match(/^NAME\s+APP\s+ACTIVE\s+DESIRED\s+READY\s+REASON\s+AGE/);
    const applied = JSON.parse((await kubectl(cluster.plane, ['get', '-n', namespace!, 'hma', 'columns', '-o', 'json'])).stdout);
    expect(applied.spec.activation).to.equal('Auto');
    expect(applied.spec.deletionPolicy).to.equal('Retain');
    expect(applied.spec.versionHistoryLimit).to.equal(10);
    expect(applied.spec.engine.replicas).to.equal(1);
  });
});
