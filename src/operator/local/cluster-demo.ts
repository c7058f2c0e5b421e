// `npm run demo -- --cluster`: the demo against a real apiserver, the test
// control plane of test/support/cluster. It reuses the control plane of
// `npm run cluster:up` when the apiserver in .cluster/kubeconfig is ready,
// else starts one with its pod runner for the run. It applies the CRDs and
// a copy of the samples with kubectl, runs `hotmesh operator` as a child
// process, and reads the HotMeshApp, the HotMeshWorkers and their Events by
// polling.
//
// The control plane and pod runner are test support code outside src/, so
// they are imported at run time and this mode works only in a checkout.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CustomObjectsApi, EventsV1Api, KubeConfig, type EventsV1Event } from '@kubernetes/client-node';
import { dump as dumpYaml, loadAll as loadAllYaml } from 'js-yaml';
import { freePort } from '../../local/redis.ts';
import { API_VERSION, GROUP, HOTMESH_APP, HOTMESH_WORKER, VERSION, type HotMeshApp, type HotMeshWorker } from '../api/index.ts';
import { waitFor, type DemoApp, type DemoDriver, type DemoDriverOptions } from './demo-driver.ts';
import { REPO_ROOT } from './process-pool.ts';

/**
 * The parts of test/support/cluster this mode uses. They are declared here
 * because a type import from test/ would pull test files into the build of
 * src/. test/e2e/demo/cluster-demo.test.ts checks that the modules match.
 */
export interface ClusterSupport {
  binariesBuilt(): { ok: boolean; reason?: string };
  kubectlPath(): string;
  ControlPlane: { start(): Promise<SupportControlPlane> };
  PodRunner: { start(options: { kubeConfig: KubeConfig; logDir?: string }): Promise<SupportPodRunner> };
}

interface SupportControlPlane {
  readonly apiServerUrl: string;
  readonly kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
  killSync(): void;
}

interface SupportPodRunner {
  stop(): Promise<void>;
  killSync(): void;
}

const supportDir = join(REPO_ROOT, 'test', 'support', 'cluster');
/** The kubeconfig `npm run cluster:up` writes. */
const sharedKubeconfig = join(REPO_ROOT, '.cluster', 'kubeconfig');
const crdsDir = join(REPO_ROOT, 'crds');
const cli = join(REPO_ROOT, 'src', 'cli', 'main.ts');

const kubectlTimeoutMs = 90_000;
const operatorReadyTimeoutMs = 60_000;
const appReadyTimeoutMs = 120_000;
const resourceDeleteTimeoutSeconds = 60;
const operatorStopTimeoutMs = 15_000;
const pollIntervalMs = 1000;

/** Loads the test control-plane code at run time from the checkout. */
async function loadSupport(): Promise<ClusterSupport> {
  const load = async (file: string): Promise<Record<string, unknown>> => await import(pathToFileURL(join(supportDir, file)).href) as Record<string, unknown>;
  return { ...await load('binaries.ts'), ...await load('control-plane.ts'), ...await load('pod-runner.ts') } as unknown as ClusterSupport;
}

/**
 * Returns why cluster mode cannot run, or undefined when it can: the test
 * support code is missing (an installed package, not a checkout) or the
 * control-plane binaries are not built.
 */
export async function clusterDemoUnavailable(): Promise<string | undefined> {
  if (!existsSync(join(supportDir, 'binaries.ts'))) return `${supportDir} is missing; --cluster runs only in a checkout of the repository`;
  const built = (await loadSupport()).binariesBuilt();
  return built.ok ? undefined : built.reason;
}

/** Result of one kubectl run. */
interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Drives `hotmesh operator` against the test control plane. */
export class ClusterDemoDriver implements DemoDriver {
  private readonly options: DemoDriverOptions;
  /** Folder of the rewritten samples, the kubectl cache, the operator log, and the pod logs when this run starts the cluster. */
  private readonly workDir: string;
  private kubectlPath = '';
  private kubeconfigPath = '';
  private kubeConfig: KubeConfig | undefined;
  private plane: SupportControlPlane | undefined;
  private runner: SupportPodRunner | undefined;
  private podLogDir = '';
  private namespace: string | undefined;
  private operator: ChildProcess | undefined;
  private operatorExited: Promise<void> | undefined;
  private readonly operatorLog: string;
  private apps: HotMeshApp[] = [];
  private workers: HotMeshWorker[] = [];
  private polled = false;
  private polling: Promise<void> | undefined;
  private pollStopped = false;
  private pollFailures = 0;
  private readonly seenEvents = new Set<string>();
  private readonly killOnExit = (): void => this.killSync();
  private stopping: Promise<void> | undefined;

  constructor(options: DemoDriverOptions) {
    this.options = options;
    this.workDir = mkdtempSync(join(tmpdir(), 'hotmesh-cluster-demo-'));
    this.operatorLog = join(this.workDir, 'operator.log');
  }

  async start(): Promise<DemoApp> {
    process.once('exit', this.killOnExit);
    const support = await loadSupport();
    this.kubectlPath = support.kubectlPath();
    await this.connect(support);
    this.kubeConfig = new KubeConfig();
    this.kubeConfig.loadFromFile(this.kubeconfigPath);

    await this.kubectlOk(['apply', '--server-side', '-f', crdsDir]);
    await this.kubectlOk(['wait', '--for=condition=Established', `crd/${HOTMESH_APP.plural}.${GROUP}`, `crd/${HOTMESH_WORKER.plural}.${GROUP}`, '--timeout=30s']);
    this.options.say(`applied the CRDs in ${crdsDir}`);

    const namespace = `hotmesh-demo-${randomBytes(3).toString('hex')}`;
    await this.kubectlOk(['create', 'namespace', namespace]);
    this.namespace = namespace;
    this.options.say(`created namespace ${namespace}`);

    await this.startOperator(namespace);
    this.startPolling(namespace);
    const app = await this.applySamples(namespace);

    await waitFor(() => this.isReady(app), appReadyTimeoutMs, `HotMeshApp ${app} to be Ready (operator log: ${this.operatorLog})`);
    const ready = this.apps.find((candidate) => candidate.metadata.name === app)!;
    return { name: app, appId: ready.spec.appId, activeVersion: ready.status?.activeVersion };
  }

  replicas(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const worker of this.workers) counts[worker.metadata.name ?? ''] = worker.status?.replicas ?? 0;
    return counts;
  }

  atMinimum(): boolean {
    return this.polled && this.workers.every((worker) => (worker.status?.replicas ?? 0) <= (worker.spec.scaling.minReplicas ?? 0));
  }

  async stop(failed: boolean): Promise<void> {
    this.stopping ??= this.shutdown(failed);
    await this.stopping;
  }

  /** Uses the cluster:up control plane when its /readyz returns 200, else starts one and a pod runner. */
  private async connect(support: ClusterSupport): Promise<void> {
    if (existsSync(sharedKubeconfig)) {
      this.kubeconfigPath = sharedKubeconfig;
      const probe = await this.kubectl(['get', '--raw', '/readyz', '--request-timeout=5s']);
      if (probe.code === 0) {
        this.podLogDir = join(REPO_ROOT, '.cluster', 'pods');
        this.options.say(`using the control plane of npm run cluster:up (${sharedKubeconfig})`);
        return;
      }
      this.options.logger.warn('apiserver of the cluster:up kubeconfig is not ready; starting a control plane for this demo', { kubeconfig: sharedKubeconfig, stderr: probe.stderr.trim() });
    }

    this.plane = await support.ControlPlane.start();
    this.kubeconfigPath = this.plane.kubeconfigPath;
    this.podLogDir = join(this.workDir, 'pods');
    this.runner = await support.PodRunner.start({ kubeConfig: this.plane.kubeConfig(), logDir: this.podLogDir });
    this.options.say(`started a control plane for this demo at ${this.plane.apiServerUrl}, with the pod runner`);
  }

  private async startOperator(namespace: string): Promise<void> {
    const healthPort = await freePort();
    const metricsPort = await freePort();
    const args = [
      cli, 'operator',
      '--kubeconfig', this.kubeconfigPath,
      '--namespace', namespace,
      '--health-addr', `127.0.0.1:${healthPort}`,
      '--metrics-addr', `127.0.0.1:${metricsPort}`,
      '--engine-image', 'hotmesh-operator:demo',
    ];
    const log = openSync(this.operatorLog, 'a');
    // The operator gets its own process group, so Ctrl-C reaches only the
    // demo, which deletes the samples while the operator still runs to
    // remove their finalizers.
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log],
      env: { ...process.env, HOTMESH_LOG_LEVEL: 'info' },
    });
    closeSync(log);
    this.operator = child;
    this.operatorExited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (error) => this.options.logger.error('operator process failed to start', { err: error.message }));

    const deadline = Date.now() + operatorReadyTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`hotmesh operator exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(this.operatorLog)}`);
      }
      if (Date.now() > deadline) throw new Error(`hotmesh operator was not ready within ${operatorReadyTimeoutMs / 1000} s; see ${this.operatorLog}`);
      try {
        if ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status === 200) break;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.options.say(`hotmesh operator running as pid ${child.pid} on namespace ${namespace} (health 127.0.0.1:${healthPort}, metrics 127.0.0.1:${metricsPort}, log ${this.operatorLog})`);
  }

  /**
   * Applies a rewritten copy of the samples: every HotMeshApp's
   * spec.redis.url becomes the demo's Redis, because the samples name an
   * in-cluster Service. Returns the name of the first HotMeshApp.
   */
  private async applySamples(namespace: string): Promise<string> {
    const samples = this.options.samples;
    let text: string;
    if (existsSync(join(samples, 'kustomization.yaml'))) {
      text = (await this.kubectlOk(['kustomize', samples])).stdout;
    } else {
      const files = readdirSync(samples).filter((name) => /\.ya?ml$/.test(name)).sort();
      text = files.map((name) => readFileSync(join(samples, name), 'utf8')).join('\n---\n');
    }

    const objects = loadAllYaml(text).filter((object): object is Record<string, any> => typeof object === 'object' && object !== null);
    const apps: string[] = [];
    for (const object of objects) {
      if (object.apiVersion !== API_VERSION || object.kind !== HOTMESH_APP.kind) continue;
      object.spec ??= {};
      object.spec.redis = { ...object.spec.redis, url: this.options.redisUrl };
      delete object.spec.redis.urlFrom;
      apps.push(object.metadata?.name);
    }
    if (apps.length === 0) throw new Error(`no HotMeshApp found in ${samples}`);

    const copy = join(this.workDir, 'samples.yaml');
    writeFileSync(copy, objects.map((object) => dumpYaml(object)).join('---\n'));
    await this.kubectlOk(['apply', '--server-side', '-n', namespace, '-f', copy]);
    this.options.say(`applied ${samples} to namespace ${namespace} from a copy with spec.redis.url ${this.options.redisUrl} (${copy})`);
    return apps[0];
  }

  private isReady(name: string): boolean {
    const app = this.apps.find((candidate) => candidate.metadata.name === name);
    return app?.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
  }

  /** Polls the apps, workers and Events of the namespace until stopped. */
  private startPolling(namespace: string): void {
    const custom = this.kubeConfig!.makeApiClient(CustomObjectsApi);
    const events = this.kubeConfig!.makeApiClient(EventsV1Api);
    const list = async <T>(plural: string): Promise<T[]> =>
      ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })) as { items: T[] }).items;

    this.polling = (async () => {
      while (!this.pollStopped) {
        try {
          const [apps, workers, eventList] = await Promise.all([
            list<HotMeshApp>(HOTMESH_APP.plural),
            list<HotMeshWorker>(HOTMESH_WORKER.plural),
            events.listNamespacedEvent({ namespace }),
          ]);
          // Events first, so the output shows an app's Deployed and Activated before the demo reports it Ready.
          this.reportEvents(eventList.items);
          this.apps = apps;
          this.workers = workers;
          this.polled = true;
          this.pollFailures = 0;
        } catch (error) {
          this.pollFailures++;
          // The first failure and then every 10th, so a long outage does not flood the output.
          if (this.pollFailures % 10 === 1) this.options.logger.warn('apiserver poll failed; retrying', { namespace, failures: this.pollFailures, err: (error as Error).message });
        }
        await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      }
    })();
  }

  /** Passes Events about HotMeshApps and HotMeshWorkers not seen before to onEvent, oldest first. */
  private reportEvents(items: EventsV1Event[]): void {
    const fresh = items
      .filter((event) => /^HotMesh(App|Worker)$/.test(event.regarding?.kind ?? '') && !this.seenEvents.has(event.metadata?.uid ?? ''))
      .sort((a, b) => eventTime(a) - eventTime(b));
    for (const event of fresh) {
      this.seenEvents.add(event.metadata?.uid ?? '');
      this.options.onEvent({ type: event.type ?? 'Normal', kind: event.regarding?.kind ?? '', name: event.regarding?.name ?? '', reason: event.reason ?? '', message: event.note ?? '' });
    }
  }

  private async shutdown(failed: boolean): Promise<void> {
    this.pollStopped = true;
    await this.polling;

    // The custom resources go first, while the operator runs, so it can
    // remove the HotMeshApp's finalizer. The namespace controller deletes
    // the rest in the background. Waiting for it took 16 s in one run on a
    // 2-core machine, 10 s of that after the last pod had stopped.
    if (this.namespace && this.operatorRunning()) {
      const plurals = `${HOTMESH_WORKER.plural}.${GROUP},${HOTMESH_APP.plural}.${GROUP}`;
      const resources = await this.kubectl(['delete', plurals, '--all', '-n', this.namespace, `--timeout=${resourceDeleteTimeoutSeconds}s`]);
      if (resources.code !== 0) this.options.logger.error('delete of the HotMeshApps and HotMeshWorkers failed', { namespace: this.namespace, stderr: resources.stderr.trim() });
      const namespace = await this.kubectl(['delete', 'namespace', this.namespace, '--wait=false']);
      if (namespace.code === 0) this.options.say(`deleted the samples; namespace ${this.namespace} is being deleted`);
      else this.options.logger.error('namespace delete failed', { namespace: this.namespace, stderr: namespace.stderr.trim() });
    } else if (this.namespace) {
      this.options.logger.error('operator is not running, so the namespace is left in place', { namespace: this.namespace, log: this.operatorLog });
    }
    await this.stopOperator();

    if (this.runner) await this.runner.stop();
    if (this.plane) {
      await this.plane.stop();
      this.options.say('stopped the control plane this demo started');
    }
    process.removeListener('exit', this.killOnExit);

    if (failed) this.options.say(`logs kept in ${this.workDir} (pod logs in ${this.podLogDir})`);
    else rmSync(this.workDir, { recursive: true, force: true });
  }

  private operatorRunning(): boolean {
    return this.operator !== undefined && this.operator.exitCode === null && this.operator.signalCode === null;
  }

  /** Sends SIGTERM to the operator's process group, then SIGKILL after 15 s. */
  private async stopOperator(): Promise<void> {
    if (!this.operator || !this.operatorRunning()) return;
    const group = -this.operator.pid!;
    process.kill(group, 'SIGTERM');
    const timer = setTimeout(() => {
      this.options.logger.warn('operator did not stop after SIGTERM; sending SIGKILL', { pid: this.operator?.pid, timeoutMs: operatorStopTimeoutMs });
      process.kill(group, 'SIGKILL');
    }, operatorStopTimeoutMs);
    await this.operatorExited;
    clearTimeout(timer);
  }

  /** Kills what this run started when the process exits without stop(); nothing can wait here. */
  private killSync(): void {
    if (this.operator?.pid !== undefined && this.operatorRunning()) {
      try {
        process.kill(-this.operator.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.runner?.killSync();
    this.plane?.killSync();
  }

  private async kubectl(args: string[]): Promise<KubectlResult> {
    const fullArgs = ['--kubeconfig', this.kubeconfigPath, '--cache-dir', join(this.workDir, 'kube-cache'), ...args];
    return await new Promise((resolve) => {
      execFile(this.kubectlPath, fullArgs, { timeout: kubectlTimeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        let code = 0;
        if (error) code = typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs kubectl and throws with its output when it exits non-zero. */
  private async kubectlOk(args: string[]): Promise<KubectlResult> {
    const result = await this.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed with exit code ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    return result;
  }
}

function eventTime(event: EventsV1Event): number {
  const time = event.eventTime ?? event.metadata?.creationTimestamp;
  return time ? new Date(time as unknown as string).getTime() : 0;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}
