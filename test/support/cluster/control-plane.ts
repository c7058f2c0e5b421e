// A real Kubernetes control plane on loopback for e2e tests: etcd,
// kube-apiserver and kube-controller-manager built by test/cluster/build.sh.
// There is no scheduler and no kubelet; pod-runner.ts plays the kubelet.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { dump as dumpYaml } from 'js-yaml';
import { freePort } from '../redis-server.ts';
import { binaryPath, binariesBuilt, type BinaryName } from './binaries.ts';

export { binariesBuilt, helmPath, kubectlPath } from './binaries.ts';

/** Resource whose watches bypass the apiserver's watch cache and go to etcd, so etcd compaction shows as 410. */
export const uncachedResource = 'podtemplates';

/**
 * Controllers the controller-manager runs. Node lifecycle, taint eviction
 * and pod GC are left out because no kubelet sends node heartbeats, so they
 * would evict or delete every pod the pod runner keeps. Job and StatefulSet
 * controllers are left out because the pod runner only runs ReplicaSet pods.
 */
const controllers = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
];

const readyTimeoutMs = 90_000;
const stopTimeoutMs = 10_000;

interface Component {
  name: BinaryName;
  child: ChildProcess;
  logPath: string;
}

/** Options for {@link ControlPlane.start}. */
export interface ControlPlaneOptions {
  /** Folder for data, certificates, logs and the kubeconfig, removed on stop. A new temp folder when omitted. */
  dir?: string;
}

/**
 * One etcd, kube-apiserver and kube-controller-manager, each in its own
 * process group, bound to 127.0.0.1 on free ports. The admin user is a
 * bearer token in group system:masters.
 */
export class ControlPlane {
  readonly dir: string;
  readonly etcdUrl: string;
  readonly apiServerUrl: string;
  readonly kubeconfigPath: string;
  private readonly token: string;
  private readonly components: Component[] = [];
  private stopped = false;

  private constructor(dir: string, etcdPort: number, apiServerPort: number) {
    this.dir = dir;
    this.etcdUrl = `http://127.0.0.1:${etcdPort}`;
    this.apiServerUrl = `https://127.0.0.1:${apiServerPort}`;
    this.kubeconfigPath = join(dir, 'kubeconfig');
    this.token = randomBytes(24).toString('hex');
  }

  /** Starts etcd, kube-apiserver and kube-controller-manager and waits until each is ready. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const built = binariesBuilt();
    if (!built.ok) throw new Error(built.reason);

    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hotmesh-control-plane-'));
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const plane = new ControlPlane(dir, await freePort(), await freePort());
    try {
      await plane.startEtcd(await freePort());
      await plane.startApiServer();
      plane.writeKubeconfig();
      await plane.startControllerManager();
    } catch (error) {
      await plane.stop();
      throw error;
    }
    return plane;
  }

  /** Process ids by component name, for status output and `cluster:down`. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const component of this.components) {
      if (component.child.pid !== undefined) pids[component.name] = component.child.pid;
    }
    return pids;
  }

  /** Returns the path of a component's combined stdout and stderr log. */
  logPath(name: BinaryName): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  /**
   * Returns a KubeConfig for the admin user. `server` replaces the cluster
   * URL, for example with a TCP proxy in front of the apiserver. The serving
   * certificate covers 127.0.0.1, so any port on it works.
   */
  kubeConfig(server?: string): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(this.kubeconfigYaml(server ?? this.apiServerUrl));
    return kubeConfig;
  }

  /** Stops the controller-manager, apiserver and etcd in that order and removes the folder. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const component of [...this.components].reverse()) {
      await stopProcessGroup(component.child);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kills every component at once and removes the folder, for `process.on('exit')` where nothing can wait. */
  killSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const component of this.components) signalGroup(component.child, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startEtcd(peerPort: number): Promise<void> {
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    this.launch('etcd', [
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=${this.etcdUrl}`,
      `--advertise-client-urls=${this.etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await this.waitFor('etcd', async () => {
      const response = await fetch(`${this.etcdUrl}/health`);
      const body = (await response.json()) as { health?: string };
      return body.health === 'true';
    });
  }

  private async startApiServer(): Promise<void> {
    const certDir = join(this.dir, 'certs');
    mkdirSync(certDir, { recursive: true });

    // Service-account tokens are signed with this key. The apiserver makes its
    // own self-signed serving certificate in --cert-dir, for 127.0.0.1 among others.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    writeFileSync(join(certDir, 'sa.key'), privateKey, { mode: 0o600 });
    writeFileSync(join(certDir, 'sa.pub'), publicKey);
    const tokenFile = join(certDir, 'tokens.csv');
    writeFileSync(tokenFile, `${this.token},admin,admin,"system:masters"\n`, { mode: 0o600 });

    const port = new URL(this.apiServerUrl).port;
    this.launch('kube-apiserver', [
      `--etcd-servers=${this.etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${this.apiServerUrl}`,
      `--service-account-key-file=${join(certDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(certDir, 'sa.key')}`,
      // Only allocated into Service objects. Nothing routes to this range.
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // The ServiceAccount admission rejects pods until the namespace's
      // default account exists, which slows every fresh test namespace.
      '--disable-admission-plugins=ServiceAccount',
      // A loopback advertise address can never be written into the
      // `kubernetes` Endpoints, so skip that reconciler.
      '--endpoint-reconciler-type=none',
      '--enable-priority-and-fairness=false',
      `--watch-cache-sizes=${uncachedResource}#0`,
      '--profiling=false',
    ]);
    await this.waitFor('kube-apiserver', async () => (await this.getApiServer('/readyz')) === 200);
  }

  private async startControllerManager(): Promise<void> {
    this.launch('kube-controller-manager', [
      `--kubeconfig=${this.kubeconfigPath}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--controllers=${controllers.join(',')}`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
    ]);
    // The service-account controller creates `default` in every namespace,
    // so its arrival shows that the controllers run and reach the apiserver.
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    await this.waitFor('kube-controller-manager', async () => {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
      return true;
    });
  }

  private launch(name: BinaryName, args: string[]): void {
    const logPath = this.logPath(name);
    const log = openSync(logPath, 'a');
    // Its own process group, so stop() also reaches any children.
    const child = spawn(binaryPath(name), args, { cwd: this.dir, detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.on('error', () => undefined);
    child.unref();
    this.components.push({ name, child, logPath });
  }

  private async waitFor(name: BinaryName, probe: () => Promise<boolean>): Promise<void> {
    const component = this.components.find((candidate) => candidate.name === name);
    const deadline = Date.now() + readyTimeoutMs;
    let lastError = 'no answer yet';
    while (Date.now() < deadline) {
      if (component && (component.child.exitCode !== null || component.child.signalCode !== null)) {
        throw new Error(`${name} exited (${component.child.exitCode ?? component.child.signalCode}) before it was ready:\n${tail(component.logPath)}`);
      }
      try {
        if (await probe()) return;
        lastError = 'not ready';
      } catch (error) {
        lastError = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const log = component ? `\n${tail(component.logPath)}` : '';
    throw new Error(`${name} was not ready within ${readyTimeoutMs / 1000} s (last probe: ${lastError})${log}`);
  }

  /** Returns the HTTP status of a GET on the apiserver as the admin user. */
  private async getApiServer(path: string): Promise<number> {
    const caPath = join(this.dir, 'certs', 'apiserver.crt');
    if (!existsSync(caPath)) return 0;
    const ca = readFileSync(caPath);
    return await new Promise((resolve, reject) => {
      const request = httpsRequest(`${this.apiServerUrl}${path}`, {
        ca,
        headers: { authorization: `Bearer ${this.token}` },
        timeout: 5_000,
      }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
      request.on('error', reject);
      request.end();
    });
  }

  private kubeconfigYaml(server: string): string {
    const ca = readFileSync(join(this.dir, 'certs', 'apiserver.crt'));
    return dumpYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hotmesh-test', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
      users: [{ name: 'admin', user: { token: this.token } }],
      contexts: [{ name: 'hotmesh-test', context: { cluster: 'hotmesh-test', user: 'admin' } }],
      'current-context': 'hotmesh-test',
    });
  }

  private writeKubeconfig(): void {
    writeFileSync(this.kubeconfigPath, this.kubeconfigYaml(this.apiServerUrl), { mode: 0o600 });
  }
}

/** Sends a signal to a child's whole process group. Returns false when the group is gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to the child's process group, then SIGKILL if it has not exited within 10 s. */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    signalGroup(child, 'SIGKILL');
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
  // Children the component left behind in its group.
  signalGroup(child, 'SIGKILL');
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}

let shared: Promise<ControlPlane> | undefined;

/**
 * Returns the control plane of this test run, starting it on the first call.
 * It is killed when the process exits, or stopped by {@link stopSharedControlPlane}.
 */
export async function sharedControlPlane(): Promise<ControlPlane> {
  if (!shared) {
    shared = ControlPlane.start();
    const plane = await shared;
    process.once('exit', () => plane.killSync());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        plane.killSync();
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      });
    }
  }
  return await shared;
}

/** Stops the shared control plane if one was started. */
export async function stopSharedControlPlane(): Promise<void> {
  if (!shared) return;
  const starting = shared;
  shared = undefined;
  let plane: ControlPlane;
  try {
    plane = await starting;
  } catch {
    return;
  }
  await plane.stop();
}

/** Creates a namespace named `<prefix>-<random suffix>` and returns its name. */
export async function createNamespace(kubeConfig: KubeConfig, prefix = 'e2e'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * Starts deleting a namespace and returns at once; the namespace controller
 * finishes it in the background after the pod runner has stopped its pods.
 */
export async function deleteNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  await kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name });
}
