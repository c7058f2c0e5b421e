import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { expect } from 'chai';
import {
  createNamespace, deleteNamespace, kubectl, skipUnlessBuilt, testCluster, waitUntil, type TestCluster,
} from '../../support/cluster/e2e.ts';

/**
 * Node program for the pods. It writes `{pid, pod, greeting, password}` to
 * $PID_DIR/<pod>-<pid>.json, prints a line and idles. With IGNORE_SIGTERM
 * set it survives SIGTERM, and with EXIT_AFTER_MS it exits with code 3.
 */
const podProgram = `
const fs = require('node:fs');
const path = require('node:path');
const file = path.join(process.env.PID_DIR, process.env.POD_NAME + '-' + process.pid + '.json');
fs.writeFileSync(file, JSON.stringify({ pid: process.pid, pod: process.env.POD_NAME, greeting: process.env.GREETING, password: process.env.PASSWORD }));
console.log('pod process ' + process.pid + ' started for ' + process.env.POD_NAME);
if (process.env.IGNORE_SIGTERM) process.on('SIGTERM', () => console.log('SIGTERM ignored'));
if (process.env.EXIT_AFTER_MS) setTimeout(() => process.exit(3), Number(process.env.EXIT_AFTER_MS));
setInterval(() => {}, 1000);
`;

interface PidRecord {
  pid: number;
  pod: string;
  greeting: string;
  password: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPidRecords(dir: string): PidRecord[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as PidRecord);
}

function deployment(name: string, replicas: number, pidDir: string, extraEnv: { name: string; value: string }[] = [], gracePeriodSeconds = 5): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: gracePeriodSeconds,
          containers: [{
            name: 'main',
            image: 'ignored.invalid/node:24',
            command: ['node', '-e', podProgram],
            env: [
              { name: 'PID_DIR', value: pidDir },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'credentials', key: 'password' } } },
              ...extraEnv,
            ],
          }],
        },
      },
    },
  };
}

describe('control plane: deployments run as local processes', function () {
  let cluster: TestCluster;
  let namespace: string | undefined;
  let pidDir: string | undefined;
  let apps: AppsV1Api;
  let core: CoreV1Api;

  before(async function () {
    skipUnlessBuilt(this);
    this.timeout(180_000);
    cluster = await testCluster();
    apps = cluster.plane.kubeConfig().makeApiClient(AppsV1Api);
    core = cluster.plane.kubeConfig().makeApiClient(CoreV1Api);
  });

  beforeEach(async function () {
    namespace = await createNamespace(cluster.plane.kubeConfig(), 'deploy');
    pidDir = mkdtempSync(join(tmpdir(), 'hotmesh-e2e-pids-'));
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { greeting: 'hello from a configmap' } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'credentials' }, stringData: { password: 's3cret' } } });
  });

  afterEach(async function () {
    if (namespace) await deleteNamespace(cluster.plane.kubeConfig(), namespace);
    if (pidDir) rmSync(pidDir, { recursive: true, force: true });
    namespace = undefined;
    pidDir = undefined;
  });

  it('3 replicas start 3 processes and scaling to 1 stops 2', async function () {
    this.timeout(90_000);
    const ns = namespace!;
    const dir = pidDir!;
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('loop', 3, dir) });

    const started = await waitUntil('3 pod processes wrote their pid', () => {
      const records = readPidRecords(dir);
      return records.length === 3 ? records : undefined;
    });
    const pids = started.map((record) => record.pid);
    expect(new Set(pids).size).to.equal(3);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} alive`).to.equal(true);
    for (const record of started) {
      expect(record.greeting).to.equal('hello from a configmap');
      expect(record.password).to.equal('s3cret');
      expect(record.pod).to.match(/^loop-[a-z0-9]+-[a-z0-9]+$/);
    }

    const runnerPids = cluster.runner.processes().filter((process) => process.namespace === ns).map((process) => process.pid);
    expect([...runnerPids].sort()).to.deep.equal([...pids].sort());

    const ready = await waitUntil('the deployment reports 3 ready replicas', async () => {
      const current = await apps.readNamespacedDeployment({ name: 'loop', namespace: ns });
      return current.status?.readyReplicas === 3 ? current : undefined;
    });
    expect(ready.status?.availableReplicas).to.equal(3);

    const pods = await core.listNamespacedPod({ namespace: ns });
    expect(pods.items).to.have.length(3);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).to.equal(cluster.runner.nodeName);
      expect(pod.status?.phase).to.equal('Running');
      const log = readFileSync(cluster.runner.logPath(ns, pod.metadata!.name!), 'utf8');
      expect(log).to.contain(`started for ${pod.metadata!.name}`);
    }

    const scaled = await kubectl(cluster.plane, ['scale', 'deployment/loop', '--replicas=1', '--namespace', ns]);
    expect(scaled.code, scaled.stderr).to.equal(0);

    await waitUntil('2 of the 3 processes exited', () => pids.filter(isAlive).length === 1);
    const survivors = pids.filter(isAlive);
    expect(survivors).to.have.length(1);
    const remaining = await waitUntil('2 pods are gone', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      return list.items.length === 1 ? list.items : undefined;
    });
    const survivorRecord = started.find((record) => record.pid === survivors[0]);
    expect(remaining[0].metadata?.name).to.equal(survivorRecord?.pod);
  });

  it('pod ignoring SIGTERM is killed after its grace period', async function () {
    this.timeout(60_000);
    const ns = namespace!;
    const dir = pidDir!;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('stubborn', 1, dir, [{ name: 'IGNORE_SIGTERM', value: '1' }], 2),
    });
    const [record] = await waitUntil('the pod process wrote its pid', () => {
      const records = readPidRecords(dir);
      return records.length === 1 ? records : undefined;
    });

    await apps.patchNamespacedDeploymentScale(
      { name: 'stubborn', namespace: ns, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const deleteStarted = Date.now();
    await waitUntil('the process is killed', () => !isAlive(record.pid), 20_000);
    const elapsedMs = Date.now() - deleteStarted;

    expect(elapsedMs).to.be.at.least(1_500);
    const log = readFileSync(cluster.runner.logPath(ns, record.pod), 'utf8');
    expect(log).to.contain('SIGTERM ignored');
    await waitUntil('the pod object is deleted', async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0);
  });

  it('unsupported command waits without replacement', async function () {
    this.timeout(30_000);
    const ns = namespace!;
    const body = deployment('shell', 1, pidDir!);
    body.spec!.template.spec!.containers[0].command = ['sh', '-c', 'true'];
    await apps.createNamespacedDeployment({ namespace: ns, body });

    const waiting = await waitUntil('the container reports CreateContainerError', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      const state = list.items[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return state?.reason === 'CreateContainerError' ? state : undefined;
    });
    expect(waiting.message).to.contain('unsupported command "sh"');

    // A Failed pod would make the ReplicaSet create replacements.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const pods = await core.listNamespacedPod({ namespace: ns });
    expect(pods.items).to.have.length(1);
    expect(pods.items[0].status?.phase).to.equal('Pending');
  });

  it('missing configmap delays start until created', async function () {
    this.timeout(30_000);
    const ns = namespace!;
    const dir = pidDir!;
    await core.deleteNamespacedConfigMap({ name: 'settings', namespace: ns });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('late-config', 1, dir) });

    const waiting = await waitUntil('the container reports CreateContainerConfigError', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      const state = list.items[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return state?.reason === 'CreateContainerConfigError' ? state : undefined;
    });
    expect(waiting.message).to.contain('configmap "settings" not found');
    expect(readPidRecords(dir)).to.have.length(0);

    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'settings' }, data: { greeting: 'late hello' } } });
    const [record] = await waitUntil('the process starts', () => {
      const records = readPidRecords(dir);
      return records.length === 1 ? records : undefined;
    }, 20_000);
    expect(record.greeting).to.equal('late hello');
  });

  it('exited process restarts with a new pid', async function () {
    this.timeout(60_000);
    const ns = namespace!;
    const dir = pidDir!;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('crashing', 1, dir, [{ name: 'EXIT_AFTER_MS', value: '300' }]),
    });

    const records = await waitUntil('the process ran twice', () => {
      const found = readPidRecords(dir);
      return found.length >= 2 ? found : undefined;
    });
    expect(new Set(records.map((record) => record.pid)).size).to.equal(records.length);
    expect(new Set(records.map((record) => record.pod)).size, 'same pod restarted').to.equal(1);

    const pod = await waitUntil('the pod reports a restart', async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      const status = list.items[0]?.status?.containerStatuses?.[0];
      return status && status.restartCount >= 1 ? list.items[0] : undefined;
    });
    const lastState = pod.status?.containerStatuses?.[0].lastState?.terminated;
    expect(lastState?.exitCode).to.equal(3);
  });
});
