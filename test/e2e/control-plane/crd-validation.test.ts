import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  createNamespace, deleteNamespace, helm, kubectl, skipUnlessBuilt, testCluster, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { kubernetesVersion } from '../../support/cluster/binaries.ts';

const crdPath = join(import.meta.dirname, '..', 'fixtures', 'widget-crd.yaml');
const group = 'e2e.hotmesh.io';

function widgetManifest(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, namespace }, spec });
}

describe('control plane: CRD validation', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();

    const applied = await kubectl(cluster.plane, ['apply', '-f', crdPath]);
    expect(applied.code, applied.stderr).to.equal(0);
    const established = await kubectl(cluster.plane, ['wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=30s']);
    expect(established.code, established.stderr).to.equal(0);
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'crd');
  });

  afterEach(async function () {
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    namespace = undefined;
  });

  it('kubectl and helm report the built versions', async function () {
    const version = await kubectl(cluster.plane, ['version', '-o', 'json']);
    expect(version.code, version.stderr).to.equal(0);
    const parsed = JSON.parse(version.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(parsed.serverVersion.gitVersion).to.equal(kubernetesVersion());
    expect(parsed.clientVersion.gitVersion).to.equal(kubernetesVersion());

    const releases = await helm(cluster.plane, ['list', '--namespace', namespace!, '--output', 'json']);
    expect(releases.code, releases.stderr).to.equal(0);
    expect(JSON.parse(releases.stdout)).to.deep.equal([]);
  });

  it('kubectl apply accepts a valid widget', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], widgetManifest(namespace!, 'good', { replicas: 2, color: 'red' }));
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('widget.e2e.hotmesh.io/good created');
  });

  it('kubectl apply rejects a widget breaking the schema', async function () {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], widgetManifest(namespace!, 'bad', { replicas: 0, color: 'green' }));
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('is invalid');
    expect(result.stderr).to.contain('spec.replicas');
    expect(result.stderr).to.contain('should be greater than or equal to 1');
    expect(result.stderr).to.contain('spec.color');
    expect(result.stderr).to.contain('Unsupported value: "green"');
  });

  it('widget missing spec.replicas gets 422', async function () {
    const api = cluster.plane.kubeConfig().makeApiClient(CustomObjectsApi);
    let caught: { code?: number; body?: string } | undefined;
    try {
      await api.createNamespacedCustomObject({
        group, version: 'v1', namespace: namespace!, plural: 'widgets',
        body: JSON.parse(widgetManifest(namespace!, 'no-replicas', { color: 'blue' })),
      });
    } catch (error) {
      caught = error as { code?: number; body?: string };
    }
    expect(caught, 'create should have been rejected').to.not.equal(undefined);
    expect(caught!.code).to.equal(422);
    const status = JSON.parse(String(caught!.body)) as { reason: string; message: string };
    expect(status.reason).to.equal('Invalid');
    expect(status.message).to.contain('spec.replicas');
    expect(status.message).to.contain('Required value');
  });
});
