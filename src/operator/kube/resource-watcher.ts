// List and watch of one resource type, guarded against the ways a watch
// fails quietly: it resumes from the last resourceVersion, lists again on
// 410 Gone, reconnects with jittered backoff after any error, aborts a watch
// that has been silent for too long, and lists again periodically to catch
// anything missed. client-node's Watch does the streaming only.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import { backoffDelay, jittered, WakeableSleep, type BackoffOptions } from './backoff.ts';

/** A page of a list call: the items and the list's resourceVersion. */
export interface ListResult {
  items: KubernetesObject[];
  resourceVersion: string;
}

/** Reason a watch ended or was restarted, for metrics and logs. */
export type WatchRestartReason = 'closed' | 'error' | 'expired' | 'stalled' | 'relist';

/** Hooks for the watch metrics. */
export interface WatcherMetrics {
  restarted(resource: string, reason: WatchRestartReason): void;
  listed(resource: string): void;
}

/** Options of a {@link ResourceWatcher}. */
export interface ResourceWatcherOptions {
  /** Name in logs and metrics, e.g. hotmeshapps. */
  resource: string;
  kubeConfig: KubeConfig;
  /** Path of the collection, e.g. /apis/hotmesh.io/v1alpha1/hotmeshapps. */
  path: string;
  list(): Promise<ListResult>;
  labelSelector?: string;
  /** Called for every object that was added, changed or deleted (`deleted` true). */
  onChange(object: KubernetesObject, deleted: boolean): void;
  logger: Logger;
  metrics?: WatcherMetrics;
  /** Server-side watch timeout, s, spread by ±50% like client-go's reflector. @default 300 */
  watchTimeoutSeconds?: number;
  /** A watch with no event or bookmark for this long is aborted and resumed, ms. @default 90000 */
  idleTimeoutMs?: number;
  /** A full list this often, ms, spread by ±10%. @default 600000 */
  relistIntervalMs?: number;
  /** Delay between reconnects after errors. @default { baseMs: 1000, maxMs: 30000, jitter: 0.2 } */
  backoff?: BackoffOptions;
  /** Minimum time between two watch requests, ms, so restarts cannot storm the apiserver. @default 1000 */
  minRestartIntervalMs?: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, jitter: 0.2 };

function objectKey(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

class WatchExpiredError extends Error {}

/** Keeps one list-and-watch of a resource type running until {@link stop}. */
export class ResourceWatcher {
  private readonly options: ResourceWatcherOptions;
  private readonly known = new Map<string, KubernetesObject>();
  private resourceVersion: string | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private abortCurrent: (() => void) | undefined;
  private readonly sleeper = new WakeableSleep();
  private lastRelistAt = 0;
  private relistDue = 0;
  private lastWatchStartAt = 0;
  private failures = 0;
  /** Time of the last successful list, watch event or watch connect, ms. */
  lastSuccessAt = 0;
  /** True once the first list has been delivered. */
  synced = false;

  constructor(options: ResourceWatcherOptions) {
    this.options = options;
  }

  /** Starts listing and watching in the background. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops the watch and waits until the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abortCurrent?.();
    this.sleeper.wake();
    await this.running;
  }

  /** Objects seen by the last list and the watch since, by `namespace/name`. */
  get cache(): ReadonlyMap<string, KubernetesObject> {
    return this.known;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined || Date.now() >= this.relistDue) await this.relist();
        await this.waitForRestartSlot();
        if (this.stopped) break;
        const reason = await this.watchOnce();
        this.options.metrics?.restarted(this.options.resource, reason);
        if (reason === 'expired') this.resourceVersion = undefined;
        if (reason === 'closed' || reason === 'relist') this.failures = 0;
        if (reason === 'stalled') this.log.warn('watch stalled; reconnecting', { resource: this.options.resource, resourceVersion: this.resourceVersion });
        else this.log.debug('watch ended', { resource: this.options.resource, reason });
      } catch (error) {
        this.failures++;
        const delay = backoffDelay(this.failures, this.options.backoff ?? DEFAULT_BACKOFF);
        this.options.metrics?.restarted(this.options.resource, 'error');
        this.log.warn('list or watch failed; retrying', { resource: this.options.resource, err: (error as Error).message, failures: this.failures, delayMs: delay });
        await this.sleeper.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.options.list();
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const previous = this.known.get(key);
      this.known.set(key, item);
      if (previous?.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.options.onChange(item, false);
    }
    for (const [key, object] of this.known) {
      if (seen.has(key)) continue;
      this.known.delete(key);
      this.options.onChange(object, true);
    }
    this.resourceVersion = resourceVersion;
    this.lastRelistAt = Date.now();
    this.relistDue = this.lastRelistAt + jittered(this.options.relistIntervalMs ?? 600_000, 0.1);
    this.lastSuccessAt = Date.now();
    this.synced = true;
    this.options.metrics?.listed(this.options.resource);
    this.log.debug('listed', { resource: this.options.resource, count: items.length, resourceVersion });
  }

  // Keeps watch requests at least minRestartIntervalMs apart.
  private async waitForRestartSlot(): Promise<void> {
    const wait = this.lastWatchStartAt + (this.options.minRestartIntervalMs ?? 1000) - Date.now();
    if (wait > 0) await this.sleeper.sleep(wait);
    this.lastWatchStartAt = Date.now();
  }

  /** Runs one watch request until it ends; returns why it ended, or throws on an error. */
  private async watchOnce(): Promise<WatchRestartReason> {
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 90_000;
    const watch = new Watch(this.options.kubeConfig);
    // client-node 2.0.1 aborts a request that receives nothing for its private
    // requestTimeoutMs (30 s), also while connecting. Our watchdog below does
    // the same on an open stream, so both use the idle timeout.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = idleTimeoutMs;
    const timeoutSeconds = Math.max(1, jittered(this.options.watchTimeoutSeconds ?? 300, 0.5));
    const query: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds,
    };
    if (this.resourceVersion) query.resourceVersion = this.resourceVersion;
    if (this.options.labelSelector) query.labelSelector = this.options.labelSelector;

    return await new Promise<WatchRestartReason>((resolve, reject) => {
      let lastEventAt = Date.now();
      let settled = false;
      let controller: AbortController | undefined;
      let endReason: WatchRestartReason | undefined;
      const finish = (reason: WatchRestartReason | undefined, error?: unknown): void => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        this.abortCurrent = undefined;
        controller?.abort();
        if (error !== undefined && reason === undefined) reject(error);
        else resolve(reason ?? 'closed');
      };
      const abortWith = (reason: WatchRestartReason): void => {
        endReason ??= reason;
        controller?.abort();
        finish(endReason);
      };
      this.abortCurrent = () => abortWith('closed');
      const watchdog = setInterval(() => {
        if (Date.now() - lastEventAt > idleTimeoutMs) abortWith('stalled');
        else if (Date.now() >= this.relistDue) abortWith('relist');
      }, Math.min(1000, idleTimeoutMs / 4));
      watchdog.unref();

      const onEvent = (type: string, object: KubernetesObject & { code?: number; message?: string }): void => {
        if (settled) return;
        lastEventAt = Date.now();
        this.lastSuccessAt = lastEventAt;
        if (type === 'ERROR') {
          if (object.code === 410) abortWith('expired');
          else finish(undefined, new Error(`watch error event: ${object.message ?? JSON.stringify(object)}`));
          return;
        }
        const version = object.metadata?.resourceVersion;
        if (version) this.resourceVersion = version;
        if (type === 'BOOKMARK') return;
        const key = objectKey(object);
        if (type === 'DELETED') this.known.delete(key);
        else this.known.set(key, object);
        this.options.onChange(object, type === 'DELETED');
      };
      const onDone = (error: unknown): void => {
        const status = (error as { statusCode?: number } | null)?.statusCode;
        if (status === 410) finish('expired');
        else if ((error as Error | null)?.name === 'TimeoutError') finish('stalled');
        else if (error) finish(endReason, error);
        else finish(endReason ?? 'closed');
      };
      watch.watch(this.options.path, query, onEvent, onDone).then(
        (started) => {
          controller = started;
          if (settled) started.abort();
          else this.lastSuccessAt = Date.now();
        },
        (error: unknown) => finish(undefined, error),
      );
    });
  }
}
