import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  createNamespace, deleteNamespace, skipUnlessBuilt, testCluster, waitUntil, type TestCluster,
} from '../../support/cluster/e2e.ts';
import { WatchRecorder } from '../../support/cluster/watch-recorder.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

/** Joins the messages and codes of an error and its causes. */
function errorChainText(error: unknown): string {
  const parts: string[] = [];
  let current = error as { message?: string; code?: string; cause?: unknown } | undefined;
  while (current && parts.length < 10) {
    parts.push(`${current.message ?? ''} ${current.code ?? ''}`);
    current = current.cause as typeof current;
  }
  return parts.join(' | ');
}

const labelSelector = 'test=watch-proxy';

describe('control plane: watches through a TCP proxy', function () {
  let cluster: TestCluster;
  let proxy: TcpProxy | undefined;
  let proxied: KubeConfig;
  let namespace: string | undefined;
  let recorders: WatchRecorder[] = [];

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'watch');
    proxy = await TcpProxy.start({ targetPort: Number(new URL(cluster.plane.apiServerUrl).port) });
    proxied = cluster.plane.kubeConfig(`https://127.0.0.1:${proxy.port}`);
  });

  afterEach(async function () {
    for (const recorder of recorders) recorder.stop();
    recorders = [];
    await proxy?.close();
    proxy = undefined;
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    namespace = undefined;
  });

  async function watchConfigMaps(query: Record<string, string> = {}): Promise<WatchRecorder> {
    // The label skips kube-root-ca.crt, which a controller adds to every namespace.
    const recorder = await WatchRecorder.start(proxied, `/api/v1/namespaces/${namespace}/configmaps`, { labelSelector, ...query });
    recorders.push(recorder);
    return recorder;
  }

  async function createConfigMap(name: string): Promise<void> {
    // Writes go straight to the apiserver so only the watch crosses the proxy.
    await cluster.plane.kubeConfig().makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: namespace!, body: { metadata: { name, labels: { test: 'watch-proxy' } }, data: { key: name } } });
  }

  it('cut watch ends and a re-watch resumes', async function () {
    const first = await watchConfigMaps();
    await createConfigMap('before-cut');
    await waitUntil('the watch sees before-cut', () => first.names('ADDED').includes('before-cut'), 10_000);
    expect(proxy!.connectionCount).to.be.at.least(1);

    proxy!.cut();
    await waitUntil('the done callback is called', () => first.finished, 10_000);

    const resumeFrom = first.lastResourceVersion();
    expect(resumeFrom).to.be.a('string');
    await createConfigMap('during-gap');
    const second = await watchConfigMaps({ resourceVersion: resumeFrom! });
    await createConfigMap('after-cut');
    await waitUntil('the re-watch sees after-cut', () => second.names('ADDED').includes('after-cut'), 10_000);

    expect(second.names('ADDED')).to.deep.equal(['during-gap', 'after-cut']);
    expect(second.finished).to.equal(false);
  });

  it('reset watch ends with an error', async function () {
    const recorder = await watchConfigMaps();
    await createConfigMap('before-reset');
    await waitUntil('the watch sees before-reset', () => recorder.names('ADDED').includes('before-reset'), 10_000);

    proxy!.reset();
    const error = await Promise.race([
      recorder.done,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 10 s waiting for the done callback')), 10_000)),
    ]);
    expect(error, 'done callback error').to.be.instanceOf(Error);

    const again = await watchConfigMaps({ resourceVersion: recorder.lastResourceVersion()! });
    await createConfigMap('after-reset');
    await waitUntil('the re-watch sees after-reset', () => again.names('ADDED').includes('after-reset'), 10_000);
  });

  it('stalled watch delivers nothing until resumed', async function () {
    const recorder = await watchConfigMaps();
    await createConfigMap('before-stall');
    await waitUntil('the watch sees before-stall', () => recorder.names('ADDED').includes('before-stall'), 10_000);

    proxy!.stall();
    await createConfigMap('during-stall');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(recorder.names('ADDED')).to.deep.equal(['before-stall']);
    expect(recorder.finished).to.equal(false);

    proxy!.resume();
    await waitUntil('the watch sees during-stall', () => recorder.names('ADDED').includes('during-stall'), 10_000);
    expect(recorder.finished).to.equal(false);
  });

  it('refused connections fail until accepted again', async function () {
    const core = proxied.makeApiClient(CoreV1Api);
    await proxy!.refuse();

    let refused: unknown;
    try {
      await core.listNamespacedConfigMap({ namespace: namespace! });
    } catch (error) {
      refused = error;
    }
    expect(refused, 'list through a refusing proxy').to.be.instanceOf(Error);
    expect(errorChainText(refused)).to.contain('ECONNREFUSED');

    await proxy!.acceptAgain();
    await createConfigMap('after-refusal');
    const list = await core.listNamespacedConfigMap({ namespace: namespace! });
    expect(list.items.map((item) => item.metadata?.name)).to.include('after-refusal');
  });
});
