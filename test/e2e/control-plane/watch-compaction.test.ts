import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1PodTemplate } from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  createNamespace, deleteNamespace, skipUnlessBuilt, testCluster, uncachedResource, waitUntil, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { WatchRecorder } from '../../support/cluster/watch-recorder.ts';

/**
 * Compacts etcd's history up to `revision` through etcd's JSON gateway on
 * loopback. The apiserver's resourceVersion is the etcd revision.
 */
async function compactEtcd(etcdUrl: string, revision: string): Promise<void> {
  const response = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ revision, physical: true }),
  });
  const body = await response.text();
  expect(response.status, `etcd compaction: ${body}`).to.equal(200);
}

/** Returns the HTTP status or the code of an ERROR event, whichever the watch got first. */
async function watchOutcome(recorder: WatchRecorder): Promise<{ status?: number; event?: WatchRecorder['events'][number] }> {
  return await waitUntil('the watch reports an error or an event', async () => {
    const event = recorder.events[0];
    if (event) return { event };
    if (recorder.finished) {
      const error = (await recorder.done) as { statusCode?: number } | null;
      return { status: error?.statusCode ?? 0 };
    }
    return undefined;
  }, 15_000);
}

describe('control plane: watch after etcd compaction', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;
  const recorders: WatchRecorder[] = [];

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'compact');
  });

  afterEach(async function () {
    for (const recorder of recorders.splice(0)) recorder.stop();
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    namespace = undefined;
  });

  it('compacted resourceVersion gets 410 Gone', async function () {
    const ns = namespace!;
    const core = cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
    const template: V1PodTemplate = {
      metadata: { name: 'compacted', labels: { step: '0' } },
      template: { spec: { containers: [{ name: 'main', image: 'ignored.invalid/node:24' }] } },
    };
    const created = await core.createNamespacedPodTemplate({ namespace: ns, body: template });
    const firstVersion = created.metadata!.resourceVersion!;

    let latestVersion = firstVersion;
    for (let step = 1; step <= 3; step += 1) {
      const updated = await core.patchNamespacedPodTemplate(
        { name: 'compacted', namespace: ns, body: { metadata: { labels: { step: String(step) } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      latestVersion = updated.metadata!.resourceVersion!;
    }
    expect(Number(latestVersion)).to.be.greaterThan(Number(firstVersion));

    await compactEtcd(cluster.plane.etcdUrl, latestVersion);

    const path = `/api/v1/namespaces/${ns}/${uncachedResource}`;
    const stale = await WatchRecorder.start(cluster.plane.kubeConfig(), path, { resourceVersion: firstVersion });
    recorders.push(stale);
    const outcome = await watchOutcome(stale);

    // The apiserver reports it either as HTTP 410 or as an ERROR event in a 200 stream.
    if (outcome.status !== undefined) {
      expect(outcome.status).to.equal(410);
    } else {
      expect(outcome.event?.type).to.equal('ERROR');
      expect(outcome.event?.object.code).to.equal(410);
      expect(outcome.event?.object.reason).to.equal('Expired');
      expect(outcome.event?.object.message).to.contain('too old');
    }
  });

  it('resourceVersion after the compaction still works', async function () {
    const ns = namespace!;
    const core = cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
    const created = await core.createNamespacedPodTemplate({
      namespace: ns,
      body: { metadata: { name: 'kept' }, template: { spec: { containers: [{ name: 'main', image: 'ignored.invalid/node:24' }] } } },
    });
    const version = created.metadata!.resourceVersion!;
    await compactEtcd(cluster.plane.etcdUrl, version);

    const path = `/api/v1/namespaces/${ns}/${uncachedResource}`;
    const fresh = await WatchRecorder.start(cluster.plane.kubeConfig(), path, { resourceVersion: version });
    recorders.push(fresh);
    await core.createNamespacedPodTemplate({
      namespace: ns,
      body: { metadata: { name: 'after' }, template: { spec: { containers: [{ name: 'main', image: 'ignored.invalid/node:24' }] } } },
    });

    const outcome = await watchOutcome(fresh);
    expect(outcome.status).to.equal(undefined);
    expect(outcome.event?.type).to.equal('ADDED');
    expect(outcome.event?.object.metadata?.name).to.equal('after');
  });
});
