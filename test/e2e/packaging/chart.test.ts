// The Helm chart and the kustomize manifests against the built helm and
// kubectl and the real apiserver: lint, render, server-side dry runs, and
// the samples applied after the CRDs. The copy and staleness checks at the
// top need no control plane.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadAll, load } from 'js-yaml';
import { crdCopyDifferences } from '../../../scripts/copy-crds.ts';
import { renderReference } from '../../../scripts/crd-docs.ts';
import { parseListenAddress } from '../../../src/operator/kube/probe-server.ts';
import { kubernetesVersion } from '../../support/cluster/binaries.ts';
import {
  createNamespace, deleteNamespace, helm, kubectl, skipUnlessBuilt, testCluster, type TestCluster,
} from '../../support/cluster/e2e.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const chartDir = join(repoRoot, 'charts', 'hotmesh-operator');

/** A rendered Kubernetes object, loosely typed for assertions. */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  stringData?: Record<string, string>;
}

function parseManifests(text: string): Manifest[] {
  return (loadAll(text) as (Manifest | null)[]).filter((entry): entry is Manifest => entry !== null);
}

function findOne(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((entry) => entry.kind === kind && (name === undefined || entry.metadata.name === name));
  expect(found, `rendered ${kind}${name ? ` ${name}` : ''}`).to.have.length(1);
  return found[0];
}

function operatorContainer(manifests: Manifest[]): any {
  return findOne(manifests, 'Deployment').spec.template.spec.containers[0];
}

describe('packaging: CRD copies and reference', function () {
  it('chart and config CRDs equal crds/', function () {
    expect(crdCopyDifferences(), 'run node scripts/copy-crds.ts').to.deep.equal([]);
  });

  it('CRD reference is current', function () {
    const page = readFileSync(join(repoRoot, 'docs', 'crd-reference.md'), 'utf8');
    expect(page === renderReference(), 'docs/crd-reference.md is stale: run npm run crd-docs').to.equal(true);
  });

  it('sample app inlines examples/orders/app.yaml', function () {
    const sample = load(readFileSync(join(repoRoot, 'config', 'samples', 'orders-app.yaml'), 'utf8')) as Manifest;
    expect(sample.spec.manifest).to.equal(readFileSync(join(repoRoot, 'examples', 'orders', 'app.yaml'), 'utf8'));
  });
});

describe('packaging: Helm chart', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;
  let watched: string | undefined;

  /** Runs helm template for the chart in `releaseNamespace`, for the control plane's Kubernetes version. */
  async function render(releaseNamespace: string, ...values: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const sets = values.flatMap((value) => ['--set', value]);
    return await helm(cluster.plane, ['template', 'hm', chartDir, '-n', releaseNamespace, '--kube-version', kubernetesVersion(), ...sets]);
  }

  async function dryRun(text: string): Promise<void> {
    const result = await kubectl(cluster.plane, ['apply', '--server-side', '--dry-run=server', '-f', '-'], text);
    expect(result.code, `server-side dry run failed:\n${result.stderr}`).to.equal(0);
  }

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'chart');
  });

  afterEach(async function () {
    for (const name of [namespace, watched]) {
      if (name) await deleteNamespace(cluster.plane.kubeConfig(), name);
    }
    namespace = undefined;
    watched = undefined;
  });

  it('helm lint passes in strict mode', async function () {
    const result = await helm(cluster.plane, ['lint', '--strict', chartDir, '--kube-version', kubernetesVersion()]);
    expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.contain('0 chart(s) failed');
  });

  it('default values render a cluster-wide install', async function () {
    const result = await render(namespace!);
    expect(result.code, result.stderr).to.equal(0);
    const manifests = parseManifests(result.stdout);
    const kinds = manifests.map((entry) => entry.kind).sort();
    expect(kinds).to.deep.equal(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);

    const deployment = findOne(manifests, 'Deployment');
    expect(deployment.spec.replicas).to.equal(2);
    const container = operatorContainer(manifests);
    expect(container.command).to.deep.equal(['hotmesh']);
    expect(container.args[0]).to.equal('operator');
    expect(container.args).to.include('--leader-elect');
    expect(container.args).to.include(`--leader-election-namespace=${namespace}`);
    expect(container.args.some((arg: string) => arg.startsWith('--namespace'))).to.equal(false);
    expect(container.args).to.include('--engine-image=hotmesh-operator:0.1.0');

    const rules = findOne(manifests, 'ClusterRole').rules!;
    expect(rules.flatMap((rule) => rule.resources)).to.include.members(['hotmeshapps', 'hotmeshworkers/scale', 'deployments', 'events', 'pods']);
    expect(rules.flatMap((rule) => rule.verbs), 'no wildcard verbs').to.not.include('*');
    const lease = findOne(manifests, 'Role').rules!;
    expect(lease).to.deep.equal([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);

    await dryRun(result.stdout);
  });

  it('probe and metrics flags bind all interfaces', async function () {
    const result = await render(namespace!);
    expect(result.code, result.stderr).to.equal(0);
    const container = operatorContainer(parseManifests(result.stdout));
    const flag = (name: string): string => {
      const arg = (container.args as string[]).find((entry) => entry.startsWith(`${name}=`));
      expect(arg, `${name} in the operator's args`).to.be.a('string');
      return arg!.slice(name.length + 1);
    };
    // Parsed with the operator's own parser, because `:PORT` alone binds 127.0.0.1 there.
    expect(parseListenAddress(flag('--health-addr'), '--health-addr')).to.deep.equal({ host: '0.0.0.0', port: 8081 });
    expect(parseListenAddress(flag('--metrics-addr'), '--metrics-addr')).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(container.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'health' });
    expect(container.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'health' });

    const ipv6 = await render(namespace!, 'bindAddress=::');
    expect(parseListenAddress((operatorContainer(parseManifests(ipv6.stdout)).args as string[]).find((arg) => arg.startsWith('--health-addr='))!.slice('--health-addr='.length), '--health-addr'))
      .to.deep.equal({ host: '::', port: 8081 });
  });

  it('pod runs hardened and non-root', async function () {
    const result = await render(namespace!);
    expect(result.code, result.stderr).to.equal(0);
    const pod = findOne(parseManifests(result.stdout), 'Deployment').spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).to.equal(true);
    expect(pod.securityContext.seccompProfile).to.deep.equal({ type: 'RuntimeDefault' });
    const container = pod.containers[0];
    expect(container.securityContext.readOnlyRootFilesystem).to.equal(true);
    expect(container.securityContext.allowPrivilegeEscalation).to.equal(false);
    expect(container.securityContext.capabilities.drop).to.deep.equal(['ALL']);
    expect(container.volumeMounts).to.deep.include({ name: 'tmp', mountPath: '/tmp' });
  });

  it('one watch namespace uses a Role there', async function () {
    watched = await createNamespace(cluster.plane.kubeConfig(), 'watched');
    const result = await render(namespace!, `watchNamespaces={${watched}}`);
    expect(result.code, result.stderr).to.equal(0);
    const manifests = parseManifests(result.stdout);
    expect(manifests.filter((entry) => entry.kind.startsWith('Cluster')), 'cluster-scoped RBAC').to.deep.equal([]);
    const role = findOne(manifests, 'Role', 'hm-hotmesh-operator');
    expect(role.metadata.namespace).to.equal(watched);
    expect(role.rules!.flatMap((rule) => rule.resources)).to.include('hotmeshapps');
    const binding = findOne(manifests, 'RoleBinding', 'hm-hotmesh-operator');
    expect(binding.metadata.namespace).to.equal(watched);
    expect(operatorContainer(manifests).args).to.include(`--namespace=${watched}`);

    await dryRun(result.stdout);
  });

  it('two watch namespaces are rejected', async function () {
    const result = await render(namespace!, 'watchNamespaces={a,b}');
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('at most one namespace per process');
  });

  it('replicas without leader election are rejected', async function () {
    const result = await render(namespace!, 'leaderElection.enabled=false');
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.contain('need leaderElection.enabled');
    const single = await render(namespace!, 'leaderElection.enabled=false', 'replicas=1');
    expect(single.code, single.stderr).to.equal(0);
    const manifests = parseManifests(single.stdout);
    expect(operatorContainer(manifests).args).to.not.include('--leader-elect');
    expect(manifests.filter((entry) => entry.kind === 'Role'), 'leader-election Role').to.deep.equal([]);
  });

  it('ServiceMonitor renders when enabled', async function () {
    const result = await render(namespace!, 'metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.additionalLabels.release=prometheus');
    expect(result.code, result.stderr).to.equal(0);
    const monitor = findOne(parseManifests(result.stdout), 'ServiceMonitor');
    expect(monitor.metadata.labels!.release).to.equal('prometheus');
    expect(monitor.spec.endpoints[0]).to.include({ port: 'metrics', path: '/metrics' });
    const off = await render(namespace!, 'metrics.enabled=false');
    const manifests = parseManifests(off.stdout);
    expect(manifests.filter((entry) => entry.kind === 'Service')).to.deep.equal([]);
    expect(operatorContainer(manifests).args).to.include('--metrics-addr=0');
  });

  it('default Redis URL becomes a Secret', async function () {
    const result = await render(namespace!, 'redis.url=redis://redis.data:6379');
    expect(result.code, result.stderr).to.equal(0);
    const manifests = parseManifests(result.stdout);
    const secret = findOne(manifests, 'Secret', 'hm-hotmesh-operator-redis');
    expect(secret.stringData).to.deep.equal({ url: 'redis://redis.data:6379' });
    const env = operatorContainer(manifests).env.find((entry: { name: string }) => entry.name === 'HOTMESH_REDIS_URL');
    expect(env.valueFrom.secretKeyRef).to.deep.equal({ name: 'hm-hotmesh-operator-redis', key: 'url' });
    await dryRun(result.stdout);

    const existing = await render(namespace!, 'redis.existingSecret.name=shared-redis', 'redis.existingSecret.key=uri');
    const fromExisting = parseManifests(existing.stdout);
    expect(fromExisting.filter((entry) => entry.kind === 'Secret'), 'no chart Secret with existingSecret').to.deep.equal([]);
    expect(operatorContainer(fromExisting).env.find((entry: { name: string }) => entry.name === 'HOTMESH_REDIS_URL').valueFrom.secretKeyRef)
      .to.deep.equal({ name: 'shared-redis', key: 'uri' });
  });
});

describe('packaging: kustomize manifests', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;

  async function build(folder: string): Promise<string> {
    const result = await kubectl(cluster.plane, ['kustomize', join(repoRoot, 'config', folder)]);
    expect(result.code, `kubectl kustomize config/${folder}:\n${result.stderr}`).to.equal(0);
    return result.stdout;
  }

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
    // The namespaced objects name hotmesh-system, which must exist for a dry run.
    const created = await kubectl(cluster.plane, ['create', 'namespace', 'hotmesh-system']);
    expect(created.code === 0 || created.stderr.includes('AlreadyExists'), created.stderr).to.equal(true);
  });

  afterEach(async function () {
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    namespace = undefined;
  });

  for (const folder of ['crd', 'rbac', 'manager', 'default']) {
    it(`config/${folder} passes a server dry run`, async function () {
      const text = await build(folder);
      expect(parseManifests(text).length, 'objects built').to.be.greaterThan(0);
      const result = await kubectl(cluster.plane, ['apply', '--server-side', '--dry-run=server', '-f', '-'], text);
      expect(result.code, result.stderr).to.equal(0);
    });
  }

  it('kustomize RBAC matches the chart rules', async function () {
    const clusterRole = findOne(parseManifests(await build('rbac')), 'ClusterRole');
    const rendered = await helm(cluster.plane, ['template', 'hm', chartDir, '--kube-version', kubernetesVersion()]);
    expect(rendered.code, rendered.stderr).to.equal(0);
    expect(clusterRole.rules).to.deep.equal(findOne(parseManifests(rendered.stdout), 'ClusterRole').rules);
  });

  it('samples apply after the CRDs', async function () {
    this.timeout(60_000);
    const crds = await kubectl(cluster.plane, ['apply', '--server-side', '-k', join(repoRoot, 'config', 'crd')]);
    expect(crds.code, crds.stderr).to.equal(0);
    const established = await kubectl(cluster.plane, ['wait', '--for=condition=Established', 'crd/hotmeshapps.hotmesh.io', 'crd/hotmeshworkers.hotmesh.io', '--timeout=30s']);
    expect(established.code, established.stderr).to.equal(0);

    namespace = await createNamespace(cluster.plane.kubeConfig(), 'samples');
    const applied = await kubectl(cluster.plane, ['apply', '-n', namespace, '-k', join(repoRoot, 'config', 'samples')]);
    expect(applied.code, applied.stderr).to.equal(0);

    const listed = await kubectl(cluster.plane, ['get', 'hotmesh', '-n', namespace, '-o', 'json']);
    expect(listed.code, listed.stderr).to.equal(0);
    const items = (JSON.parse(listed.stdout) as { items: Manifest[] }).items;
    expect(items.map((item) => `${item.kind}/${item.metadata.name}`).sort()).to.deep.equal(['HotMeshApp/orders', 'HotMeshWorker/orders-pay', 'HotMeshWorker/orders-ship']);
    const app = items.find((item) => item.kind === 'HotMeshApp')!;
    expect(app.spec.activation, 'defaulted by the CRD schema').to.equal('Auto');
    for (const worker of items.filter((item) => item.kind === 'HotMeshWorker')) {
      expect(worker.spec.scaling.pollingIntervalSeconds, `${worker.metadata.name} polling`).to.equal(2);
      expect(worker.spec.scaling.scaleDownStabilizationSeconds, `${worker.metadata.name} stabilization`).to.equal(20);
      expect(worker.spec.scaling.cooldownSeconds, `${worker.metadata.name} cooldown`).to.equal(20);
      expect(worker.spec.template.spec.containers[0].command.slice(0, 4)).to.deep.equal(['hotmesh', 'worker', '--module', 'examples/orders/workers.ts']);
    }
  });
});
