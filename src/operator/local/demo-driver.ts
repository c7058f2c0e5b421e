// Drivers of `npm run demo`: the operator in local mode here, and the real
// operator against a Kubernetes apiserver in cluster-demo.ts. demo.ts
// publishes the jobs and prints the summary the same way for both.
import type { Logger } from 'winston';
import { LocalOperator } from './local-operator.ts';

/** An event the operator recorded about a HotMeshApp or HotMeshWorker. */
export interface DemoEvent {
  /** Normal or Warning, as Kubernetes Events have it. */
  type: string;
  kind: string;
  name: string;
  reason: string;
  message: string;
}

/** The HotMeshApp of the samples, once it is Ready. */
export interface DemoApp {
  name: string;
  appId: string;
  activeVersion?: string;
}

/** Options of every demo driver. */
export interface DemoDriverOptions {
  /** Folder of HotMeshApp and HotMeshWorker files. */
  samples: string;
  /** Redis that replaces the HotMeshApp's spec.redis.url. */
  redisUrl: string;
  logger: Logger;
  /** Prints one line of demo output. */
  say: (line: string) => void;
  onEvent: (event: DemoEvent) => void;
}

/** A running operator on the samples, seen through its custom resources. */
export interface DemoDriver {
  /** Starts the operator on the samples and resolves with the HotMeshApp once it is Ready. */
  start(): Promise<DemoApp>;
  /** Returns `.status.replicas` of each HotMeshWorker by name, as last seen. */
  replicas(): Record<string, number>;
  /** Returns true when every HotMeshWorker runs no more than its minReplicas. */
  atMinimum(): boolean;
  /**
   * Stops everything start() started, and keeps its logs for inspection
   * when `failed` is true. It may be called more than once and after a
   * failed start.
   */
  stop(failed: boolean): Promise<void>;
}

const appReadyTimeoutMs = 60_000;

/** The operator's reconcilers in this process, on a folder, with workers as local processes. */
export class LocalDemoDriver implements DemoDriver {
  private readonly options: DemoDriverOptions;
  private readonly operator: LocalOperator;
  private stopping: Promise<void> | undefined;

  constructor(options: DemoDriverOptions) {
    this.options = options;
    this.operator = new LocalOperator({
      folder: options.samples,
      redisUrl: options.redisUrl,
      logger: options.logger,
      onEvent: (event) => options.onEvent({ type: event.type, kind: event.kind, name: event.name, reason: event.reason, message: event.message }),
    });
  }

  async start(): Promise<DemoApp> {
    this.operator.start();
    this.options.say(`operator running in local mode on ${this.options.samples}`);
    const apps = this.operator.cluster.listApps();
    if (apps.length === 0) throw new Error(`no HotMeshApp found in ${this.options.samples}`);
    const app = apps[0];
    await waitFor(() => app.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false, appReadyTimeoutMs, `${app.metadata.name} to be Ready`);
    return { name: app.metadata.name ?? '', appId: app.spec.appId, activeVersion: app.status?.activeVersion };
  }

  replicas(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const worker of this.operator.cluster.listWorkers()) counts[worker.metadata.name ?? ''] = worker.status?.replicas ?? 0;
    return counts;
  }

  atMinimum(): boolean {
    return this.operator.cluster.listWorkers().every((worker) => (worker.status?.replicas ?? 0) <= (worker.spec.scaling.minReplicas ?? 0));
  }

  async stop(): Promise<void> {
    this.stopping ??= this.operator.stop();
    await this.stopping;
  }
}

/** Polls `check` every 100 ms until it returns true; throws after `timeoutMs` naming `what`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
