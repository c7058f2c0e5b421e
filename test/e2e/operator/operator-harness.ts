// Helpers shared by the operator e2e suites.
import { join } from 'node:path';
import { expect } from 'chai';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Condition, HotMeshApp } from '../../../src/operator/api/index.ts';
import { Operator, type OperatorOptions } from '../../../src/operator/manager.ts';
import { kubectl, type ControlPlane } from '../../support/cluster/e2e.ts';
import { quietLogger } from '../../support/logger.ts';

const crdsDir = join(import.meta.dirname, '..', '..', '..', 'crds');
let installed: Promise<void> | undefined;

/** Applies crds/ to the shared control plane once and waits until both are established. */
export async function installCrds(plane: ControlPlane): Promise<void> {
  installed ??= (async () => {
    const applied = await kubectl(plane, ['apply', '--server-side', '-f', crdsDir]);
    expect(applied.code, applied.stderr).to.equal(0);
    const established = await kubectl(plane, ['wait', '--for=condition=Established', 'crd/hotmeshapps.hotmesh.io', 'crd/hotmeshworkers.hotmesh.io', '--timeout=30s']);
    expect(established.code, established.stderr).to.equal(0);
  })();
  await installed;
}

/** Starts an operator in this process against `kubeConfig`, with short timings for tests. */
export async function startOperator(kubeConfig: KubeConfig, namespace: string, extra: Partial<OperatorOptions> = {}): Promise<Operator> {
  return await Operator.start({
    kubeConfig,
    namespace,
    engineImage: 'example.invalid/hotmesh-operator:test',
    logger: quietLogger(),
    healthAddress: { host: '127.0.0.1', port: 0 },
    metricsAddress: { host: '127.0.0.1', port: 0 },
    watch: { timeoutSeconds: 60, idleTimeoutMs: 5000, relistIntervalMs: 60_000, backoff: { baseMs: 200, maxMs: 2000, jitter: 0.2 }, minRestartIntervalMs: 500 },
    cleanup: { maxAttempts: 3, jobWaitTimeoutMs: 20_000, jobPollMs: 500 },
    ...extra,
  });
}

/** Returns a HotMeshApp as JSON for kubectl apply. */
export function appObject(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'hotmesh.io/v1alpha1', kind: 'HotMeshApp', metadata: { name, namespace }, spec });
}

/** Reads a HotMeshApp. */
export async function readApp(kubeConfig: KubeConfig, namespace: string, name: string): Promise<HotMeshApp> {
  return await kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'hotmesh.io', version: 'v1alpha1', plural: 'hotmeshapps', namespace, name }) as HotMeshApp;
}

/** Returns a condition of an app, if set. */
export function condition(app: HotMeshApp, type: string): Condition | undefined {
  return app.status?.conditions?.find((entry) => entry.type === type);
}
