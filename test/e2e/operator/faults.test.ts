import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { HotMeshApp } from '../../../src/operator/api/index.ts';
import { ResourceWatcher, type WatchRestartReason } from '../../../src/operator/kube/resource-watcher.ts';
import type { Operator } from '../../../src/operator/manager.ts';
import {
  createNamespace, deleteNamespace, kubectl, skipUnlessBuilt, testCluster, uncachedResource, waitUntil, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { quietLogger } from '../../support/logger.ts';
import { freePort, RedisServer } from '../../support/redis-server.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import { appObject, condition, installCrds, readApp, startOperator } from './operator-harness.ts';

const manifest = (appId: string, version: string): string => `app:
  id: ${appId}
  version: '${version}'
  graphs:
    - subscribes: ping
      activities:
        t1:
          type: trigger
`;

describe('operator: faults', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let redis: RedisServer;
  let namespace: string | undefined;
  let operator: Operator | undefined;
  let proxy: TcpProxy | undefined;
  let count = 0;

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
    await installCrds(cluster.plane);
    redis = await RedisServer.start();
  });

  after(async function () {
    await redis?.stop();
  });

  beforeEach(async function () {
    count++;
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'fault');
  });

  afterEach(async function () {
    await operator?.stop();
    operator = undefined;
    await proxy?.close();
    proxy = undefined;
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace).catch(() => undefined);
    namespace = undefined;
  });

  const appId = (): string => `fault${process.pid}x${count}`;

  async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
    const result = await kubectl(cluster.plane, ['apply', '-f', '-'], appObject(namespace!, name, spec));
    expect(result.code, result.stderr).to.equal(0);
  }

  async function waitForActive(name: string, version: string, timeoutMs = 20_000): Promise<void> {
    await waitUntil(`${name} has version ${version} active`, async () => {
      const app = await readApp(cluster.plane.kubeConfig(), namespace!, name);
      return app.status?.activeVersion === version && condition(app, 'Ready')?.status === 'True';
    }, timeoutMs);
  }

  it('stalled and cut watches still reconcile', async function () {
    const apiPort = Number(new URL(cluster.plane.apiServerUrl).port);
    proxy = await TcpProxy.start({ targetPort: apiPort });
    // Documented bound for these settings: idle timeout 3 s + reconnect backoff ≤ 2 s + reconcile.
    operator = await startOperator(cluster.plane.kubeConfig(`https://127.0.0.1:${proxy.port}`), namespace!, {
      watch: { timeoutSeconds: 60, idleTimeoutMs: 3000, relistIntervalMs: 60_000, backoff: { baseMs: 200, maxMs: 2000, jitter: 0.2 }, minRestartIntervalMs: 500 },
    });
    const id = appId();
    const spec = (version: string): Record<string, unknown> => ({ appId: id, version, manifest: manifest(id, version), redis: { url: redis.url }, engine: { replicas: 0 } });
    await apply('stall', spec('1'));
    await waitForActive('stall', '1');

    proxy.stall();
    await apply('stall', spec('2'));
    await new Promise((resolve) => setTimeout(resolve, 4000));
    proxy.resume();
    const resumedAt = Date.now();
    await waitForActive('stall', '2', 15_000);
    expect(Date.now() - resumedAt).to.be.lessThan(10_000);

    proxy.cut();
    await apply('stall', spec('3'));
    await waitForActive('stall', '3', 10_000);
    const restarts = await operator.metrics.registry.getSingleMetricAsString('hotmesh_operator_watch_restarts_total');
    expect(restarts).to.match(/reason="stalled"\} [1-9]/);
  });

  it('watcher relists after 410 and keeps reconnects slow', async function () {
    const apiPort = Number(new URL(cluster.plane.apiServerUrl).port);
    proxy = await TcpProxy.start({ targetPort: apiPort });
    const kubeConfig = cluster.plane.kubeConfig(`https://127.0.0.1:${proxy.port}`);
    const core = cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
    const proxiedCore = kubeConfig.makeApiClient(CoreV1Api);
    const ns = namespace!;
    const template = (name: string, step: string) => ({ metadata: { name, labels: { step } }, template: { spec: { containers: [{ name: 'main', image: 'example.invalid/x:1' }] } } });
    await core.createNamespacedPodTemplate({ namespace: ns, body: template('first', '0') });

    const seen = new Map<string, string>();
    const restarts: WatchRestartReason[] = [];
    let lists = 0;
    const watcher = new ResourceWatcher({
      resource: uncachedResource,
      kubeConfig,
      path: `/api/v1/namespaces/${ns}/${uncachedResource}`,
      list: async () => {
        lists++;
        const list = await proxiedCore.listNamespacedPodTemplate({ namespace: ns });
        return { items: list.items as KubernetesObject[], resourceVersion: list.metadata!.resourceVersion! };
      },
      onChange: (object, deleted) => {
        if (deleted) seen.delete(object.metadata!.name!);
        else seen.set(object.metadata!.name!, (object.metadata!.labels ?? {}).step ?? '');
      },
      logger: quietLogger(),
      metrics: { restarted: (_resource, reason) => restarts.push(reason), listed: () => undefined },
      idleTimeoutMs: 60_000,
      backoff: { baseMs: 200, maxMs: 2000, jitter: 0.2 },
      minRestartIntervalMs: 1000,
    });
    watcher.start();
    try {
      await waitUntil('the first list', () => seen.get('first') === '0');

      // Stall the watch, change objects, compact etcd past the watcher's resourceVersion, then let it resume.
      proxy.stall();
      let latest = '';
      for (let step = 1; step <= 3; step++) {
        const updated = await core.patchNamespacedPodTemplate({ name: 'first', namespace: ns, body: { metadata: { labels: { step: String(step) } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        latest = updated.metadata!.resourceVersion!;
      }
      await core.createNamespacedPodTemplate({ namespace: ns, body: template('second', '9') });
      const compacted = await fetch(`${cluster.plane.etcdUrl}/v3/kv/compaction`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ revision: latest, physical: true }) });
      expect(compacted.status).to.equal(200);
      proxy.cut();
      proxy.resume();

      await waitUntil('changes made during the outage arrive', () => seen.get('first') === '3' && seen.get('second') === '9', 15_000);
      expect(lists).to.be.greaterThan(1);

      // A reset storm: every connection reset every 200 ms for 5 s.
      const before = restarts.length;
      const stormStart = Date.now();
      while (Date.now() - stormStart < 5000) {
        proxy.reset();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const stormRestarts = restarts.length - before;
      // At most one watch request per second, plus the one open when the storm began.
      expect(stormRestarts).to.be.at.most(7);
      await core.patchNamespacedPodTemplate({ name: 'first', namespace: ns, body: { metadata: { labels: { step: '4' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await waitUntil('a change after the storm arrives', () => seen.get('first') === '4', 15_000);
    } finally {
      await watcher.stop();
    }
  });

  it('finalizer write survives a 409 and is added once', async function () {
    let writes = 0;
    let raced = false;
    const custom = cluster.plane.kubeConfig().makeApiClient(CustomObjectsApi);
    operator = await startOperator(cluster.plane.kubeConfig(), namespace!, {
      beforeFinalizerWrite: async (app: HotMeshApp) => {
        writes++;
        if (raced) return;
        raced = true;
        // A spec edit lands between the operator's read and its write.
        await custom.patchNamespacedCustomObject({ group: 'hotmesh.io', version: 'v1alpha1', plural: 'hotmeshapps', namespace: app.metadata.namespace!, name: app.metadata.name!, body: { spec: { versionHistoryLimit: 5 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      },
    });
    const id = appId();
    const spec = (version: string): Record<string, unknown> => ({ appId: id, version, manifest: manifest(id, version), redis: { url: redis.url }, engine: { replicas: 0 } });
    await apply('race', spec('1'));
    await waitForActive('race', '1');
    expect(writes).to.equal(2);

    for (let version = 2; version <= 11; version++) {
      await apply('race', spec(String(version)));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const app = await waitUntil('observedGeneration converges', async () => {
      const read = await readApp(cluster.plane.kubeConfig(), namespace!, 'race');
      return read.status?.observedGeneration === read.metadata.generation && read.status?.activeVersion === '11' ? read : undefined;
    });
    expect(app.metadata.finalizers).to.deep.equal(['hotmesh.io/cleanup']);
    expect(writes).to.equal(2);
    expect(app.status?.versions?.length).to.be.at.most(6);
  });

  it('delete with unreachable Redis releases the finalizer', async function () {
    operator = await startOperator(cluster.plane.kubeConfig(), namespace!);
    const deadPort = await freePort();
    const id = appId();
    await apply('gone', { appId: id, version: '1', manifest: manifest(id, '1'), redis: { url: `redis://127.0.0.1:${deadPort}` }, engine: { replicas: 0 }, deletionPolicy: 'Delete' });
    const app = await waitUntil('Ready=False with RedisUnavailable', async () => {
      const read = await readApp(cluster.plane.kubeConfig(), namespace!, 'gone');
      return condition(read, 'Ready')?.reason === 'RedisUnavailable' ? read : undefined;
    });
    expect(app.metadata.finalizers).to.deep.equal(['hotmesh.io/cleanup']);

    const started = Date.now();
    const deleted = await kubectl(cluster.plane, ['delete', 'hma', '-n', namespace!, 'gone', '--timeout=60s']);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(Date.now() - started).to.be.lessThan(40_000);
    const events = JSON.parse((await kubectl(cluster.plane, ['get', 'events', '-n', namespace!, '-o', 'json'])).stdout) as { items: { reason: string; type: string }[] };
    expect(events.items.some((event) => event.reason === 'CleanupSkipped' && event.type === 'Warning')).to.equal(true);
  });

  it('namespace deletion finishes with apps inside', async function () {
    operator = await startOperator(cluster.plane.kubeConfig(), namespace!);
    const id = appId();
    await kubectl(cluster.plane, ['create', 'secret', 'generic', 'redis', '-n', namespace!, `--from-literal=url=${redis.url}`]);
    await apply('inside', { appId: id, version: '1', manifest: manifest(id, '1'), redis: { urlFrom: { secretKeyRef: { name: 'redis', key: 'url' } } }, engine: { replicas: 0 }, deletionPolicy: 'Delete' });
    await waitForActive('inside', '1');
    const core = cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name: namespace! });
    const name = namespace!;
    await waitUntil('the namespace is gone', async () => {
      try {
        await core.readNamespace({ name });
        return false;
      } catch {
        return true;
      }
    }, 60_000);
    namespace = undefined;
  });

  it('second replica takes over the lease after a kill', async function () {
    const processes: ChildProcess[] = [];
    let output = '';
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', '..', 'src', 'cli', 'main.ts'), 'operator',
        '--kubeconfig', cluster.plane.kubeconfigPath, '--namespace', namespace!, '--leader-elect', '--leader-election-namespace', namespace!,
        '--lease-duration', '4', '--renew-deadline', '3', '--retry-period', '1', '--health-addr', `127.0.0.1:${await freePort()}`, '--metrics-addr', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOTMESH_LOG_LEVEL: 'error' } });
      child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      processes.push(child);
      return child;
    };
    try {
      const coordination = cluster.plane.kubeConfig().makeApiClient(CoordinationV1Api);
      const holder = async (): Promise<string> => (await coordination.readNamespacedLease({ name: 'hotmesh-operator', namespace: namespace! })).spec?.holderIdentity ?? '';
      const first = await start();
      const second = await start();
      const leader = await waitUntil('one replica holds the lease', async () => (await holder()) || undefined, 20_000).catch((error: Error) => {
        throw new Error(`${error.message}; operator output: ${output}`);
      });
      const leaderProcess = leader.endsWith(`-${first.pid}`) ? first : second;
      const standby = leaderProcess === first ? second : first;
      expect(leader.endsWith(`-${leaderProcess.pid}`)).to.equal(true);

      leaderProcess.kill('SIGKILL');
      const killedAt = Date.now();
      await waitUntil('the other replica holds the lease', async () => (await holder()).endsWith(`-${standby.pid}`), 20_000);
      // Lease duration 4 s plus one retry period of 1 s, and 1 s for polling and scheduling.
      expect(Date.now() - killedAt).to.be.at.most(6000);
    } finally {
      for (const child of processes) child.kill('SIGKILL');
    }
  });
});
