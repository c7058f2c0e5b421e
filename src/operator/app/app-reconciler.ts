// Reconciles a HotMeshApp: read the manifest, compile it, deploy it into
// Redis, activate the requested version, keep the engine workload, prune
// old versions, and write what happened to the status.
import { createHash } from 'node:crypto';
import type { Logger } from 'winston';
import { compileManifest } from '../../engine/compiler/compile.ts';
import { INLINE_FILE } from '../../engine/compiler/manifest-loader.ts';
import type { CompiledApp } from '../../engine/compiler/types.ts';
import { ConfigError, ManifestError, VersionConflictError, VersionNotDeployedError, formatIssue } from '../../engine/errors.ts';
import { AppKeys, DEFAULT_KEY_PREFIX } from '../../engine/store/keys.ts';
import type { AppVersionStatus, HotMeshApp, HotMeshAppStatus } from '../api/index.ts';
import type { ObjectKey, ReconcileResult, Reconciler } from '../reconciler.ts';
import { AppStore, type StoredApp } from './app-store.ts';
import { appConditions, progressingConditions, type AppOutcome } from './conditions.ts';
import { finalizeApp, type CleanupOptions } from './finalize.ts';
import type { AppPlatform, EngineWorkload, WorkloadEnv, WorkloadState } from './platform.ts';
import { REASON } from './reasons.ts';
import { redactUrl, type RedisPool } from './redis-pool.ts';

/** Finalizer that lets the operator clean up Redis before a HotMeshApp goes away. */
export const APP_FINALIZER = 'hotmesh.io/cleanup';

/** Options of an {@link AppReconciler}. */
export interface AppReconcilerOptions {
  platform: AppPlatform;
  redis: RedisPool;
  logger: Logger;
  now?: () => Date;
  cleanup?: Partial<CleanupOptions>;
  /** How often an app whose manifest comes from a ConfigMap is read again, ms. @default 60000 */
  configMapPollMs?: number;
  /** Delay before retrying a missing ConfigMap or Secret, ms. @default 30000 */
  missingReferenceRetryMs?: number;
  /**
   * How often a converged app is reconciled again, ms, so drift in Redis is
   * repaired: a version lost with Redis' data is deployed again, and a
   * version activated outside the HotMeshApp is switched back. @default 300000
   */
  resyncMs?: number;
}

/** Progress of the steps of one reconcile. */
interface Progress {
  outcome: AppOutcome;
  engine?: WorkloadState;
  stored?: StoredApp;
  /** sourceDigest of the version deployed in this reconcile. */
  deployedSource?: { version: string; sourceDigest: string };
  requeueAfterMs?: number;
  /** A transient failure, rethrown after the status write so the queue backs off. */
  retry?: Error;
}

/** Thrown by a step to end the reconcile with an outcome. */
class StepStop extends Error {
  readonly progress: Omit<Progress, 'outcome'> & { outcome: AppOutcome };
  constructor(progress: Progress) {
    super(progress.outcome.message);
    this.progress = progress;
  }
}

export class AppReconciler implements Reconciler {
  private readonly options: AppReconcilerOptions;
  private readonly platform: AppPlatform;
  private readonly cleanupFailures = new Map<string, number>();

  constructor(options: AppReconcilerOptions) {
    this.options = options;
    this.platform = options.platform;
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  async reconcile(key: ObjectKey): Promise<ReconcileResult> {
    const app = await this.platform.getApp(key);
    if (!app) return {};
    const log = this.options.logger.child({ namespace: key.namespace, name: key.name, appId: app.spec.appId });
    if (app.metadata.deletionTimestamp) {
      return await finalizeApp(app, {
        platform: this.platform, logger: log, failures: this.cleanupFailures, now: this.now(),
        redisUrl: () => this.resolveRedisUrl(app), store: (client) => this.store(app, client), pool: this.options.redis, options: this.options.cleanup,
      }, APP_FINALIZER);
    }
    const current = await this.ensureFinalizer(app);
    if (current.status?.observedGeneration === undefined) await this.writeStatus(current, { ...current.status, conditions: progressingConditions(current.status?.conditions ?? [], current.metadata.generation ?? 0, this.now()) });

    const progress = await this.converge(current, log);
    await this.writeStatus(current, this.statusOf(current, progress));
    if (progress.retry) throw progress.retry;
    return { requeueAfterMs: progress.requeueAfterMs };
  }

  private async ensureFinalizer(app: HotMeshApp): Promise<HotMeshApp> {
    if (app.metadata.finalizers?.includes(APP_FINALIZER)) return app;
    return await this.platform.addFinalizer(app, APP_FINALIZER);
  }

  private async converge(app: HotMeshApp, log: Logger): Promise<Progress> {
    try {
      const url = await this.requireRedisUrl(app);
      const text = await this.loadManifest(app);
      const store = await this.connect(app, url);
      const stored = await store.read();
      const deployedSource = await this.compileAndDeploy(app, text, store, stored, log);
      const activated = await this.activate(app, store, log, deployedSource.redeployed);
      const engine = await this.platform.applyEngine(app, this.engineWorkload(app));
      await this.pruneVersions(app, store, log);
      return {
        outcome: { ...activated, compiled: { ok: true, reason: REASON.compiled, message: `version ${app.spec.version} compiled and deployed` }, progressing: false },
        engine,
        stored: await store.read(),
        deployedSource,
        requeueAfterMs: this.resyncAfterMs(app),
      };
    } catch (error) {
      if (error instanceof StepStop) return error.progress;
      throw error;
    }
  }

  // ---- steps ----------------------------------------------------------------

  private async requireRedisUrl(app: HotMeshApp): Promise<string> {
    const url = await this.resolveRedisUrl(app);
    if (url !== undefined) return url;
    const ref = app.spec.redis.urlFrom?.secretKeyRef;
    const message = `Secret ${ref?.name} has no key ${ref?.key} in namespace ${app.metadata.namespace}; create it or fix spec.redis.urlFrom`;
    throw new StepStop({ outcome: { ready: false, reason: REASON.redisUrlNotFound, message, progressing: true }, requeueAfterMs: this.missingRetryMs });
  }

  private async resolveRedisUrl(app: HotMeshApp): Promise<string | undefined> {
    if (app.spec.redis.url) return app.spec.redis.url;
    const ref = app.spec.redis.urlFrom?.secretKeyRef;
    if (!ref) return undefined;
    return await this.platform.readSecretKey(app.metadata.namespace ?? '', ref.name, ref.key);
  }

  // A ConfigMap is not watched, so its content is read again at the shorter
  // of the two intervals.
  private resyncAfterMs(app: HotMeshApp): number {
    const resync = this.options.resyncMs ?? 300_000;
    return app.spec.manifestFrom ? Math.min(resync, this.options.configMapPollMs ?? 60_000) : resync;
  }

  private get missingRetryMs(): number {
    return this.options.missingReferenceRetryMs ?? 30_000;
  }

  private async loadManifest(app: HotMeshApp): Promise<string> {
    if (app.spec.manifest !== undefined) return app.spec.manifest;
    const ref = app.spec.manifestFrom!.configMapKeyRef;
    const text = await this.platform.readConfigMapKey(app.metadata.namespace ?? '', ref.name, ref.key);
    if (text !== undefined) return text;
    const message = `ConfigMap ${ref.name} has no key ${ref.key} in namespace ${app.metadata.namespace}; create it or fix spec.manifestFrom`;
    throw new StepStop({
      outcome: { ready: false, reason: REASON.manifestNotFound, message, progressing: true, compiled: { ok: false, reason: REASON.manifestNotFound, message } },
      requeueAfterMs: this.missingRetryMs,
    });
  }

  private store(app: HotMeshApp, client: Awaited<ReturnType<RedisPool['ready']>>): AppStore {
    return new AppStore(client, new AppKeys(app.spec.appId, app.spec.redis.keyPrefix ?? DEFAULT_KEY_PREFIX));
  }

  private async connect(app: HotMeshApp, url: string): Promise<AppStore> {
    try {
      return this.store(app, await this.options.redis.ready(url));
    } catch (error) {
      const message = error instanceof ConfigError
        ? `${error.message}; fix spec.redis (retrying with backoff)`
        : `redis at ${redactUrl(url)} is unreachable: ${(error as Error).message}; retrying with backoff`;
      throw new StepStop({ outcome: { ready: false, reason: REASON.redisUnavailable, message, progressing: true }, retry: error as Error });
    }
  }

  /**
   * Compiles and deploys spec.version. A version already deployed from the
   * same manifest text is not compiled again, which makes a rollback cheap.
   */
  private async compileAndDeploy(app: HotMeshApp, text: string, store: AppStore, stored: StoredApp, log: Logger): Promise<{ version: string; sourceDigest: string; redeployed: boolean }> {
    const sourceDigest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    const version = app.spec.version;
    const deployed = stored.versions.find((entry) => entry.version === version);
    const recorded = app.status?.versions?.find((entry) => entry.version === version);
    if (deployed && recorded?.sourceDigest === sourceDigest && recorded.digest === deployed.digest) {
      log.debug('version deployed from the same manifest text; not compiling again', { version });
      return { version, sourceDigest, redeployed: false };
    }
    const redeployed = !deployed && recorded !== undefined;
    if (redeployed) {
      const message = `version ${version} was deployed but is missing from Redis (its data was lost or deleted); deploying it again`;
      log.warn('deployed version missing from Redis; deploying it again', { version });
      await this.platform.emitEvent(app, 'Warning', REASON.redisDrift, 'Deploy', message);
    }
    const compiled = this.compile(app, text);
    try {
      const result = await store.deploy(compiled, this.now());
      if (result.status === 'deployed') {
        log.info('version deployed', { version, digest: result.digest });
        await this.platform.emitEvent(app, 'Normal', REASON.deployed, 'Deploy', `version ${version} deployed to Redis (${result.digest})`);
      }
      return { version, sourceDigest, redeployed };
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw this.transient(error);
      const message = `version ${version} is already deployed with other content (deployed ${error.deployedDigest}, spec ${error.digest}); versions are immutable, so give the change a new version`;
      await this.platform.emitEvent(app, 'Warning', REASON.versionConflict, 'Deploy', message);
      throw new StepStop({
        outcome: { ready: false, reason: REASON.versionConflict, message, progressing: false, compiled: { ok: true, reason: REASON.compiled, message: `version ${version} compiled` } },
        // A ConfigMap is not watched, so its content is read again now and then.
        requeueAfterMs: app.spec.manifestFrom ? this.options.configMapPollMs ?? 60_000 : undefined,
      });
    }
  }

  private compile(app: HotMeshApp, text: string): CompiledApp {
    let compiled: CompiledApp;
    try {
      compiled = compileManifest(text);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      // Line numbers count within the manifest text, so name where it came from.
      const ref = app.spec.manifestFrom?.configMapKeyRef;
      const source = ref ? `ConfigMap ${ref.name} key ${ref.key}` : 'spec.manifest';
      const issues = error.issues.slice(0, 5).map((issue) => formatIssue(issue.file === INLINE_FILE ? { ...issue, file: source } : issue)).join('; ');
      const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
      this.stopOnManifest(app, REASON.compileFailed, `manifest is invalid: ${issues}${more}`);
    }
    if (compiled.appId !== app.spec.appId) this.stopOnManifest(app, REASON.manifestMismatch, `manifest app.id is ${compiled.appId} but spec.appId is ${app.spec.appId}; they must be equal`);
    if (compiled.version !== app.spec.version) this.stopOnManifest(app, REASON.manifestMismatch, `manifest app.version is ${compiled.version} but spec.version is ${app.spec.version}; they must be equal`);
    return compiled;
  }

  private stopOnManifest(app: HotMeshApp, reason: string, message: string): never {
    void this.platform.emitEvent(app, 'Warning', reason, 'Compile', message);
    throw new StepStop({
      outcome: { ready: false, reason, message, progressing: false, compiled: { ok: false, reason, message } },
      // A ConfigMap is not watched, so its content is read again now and then.
      requeueAfterMs: app.spec.manifestFrom ? this.options.configMapPollMs ?? 60_000 : undefined,
    });
  }

  /**
   * Activates the requested version. `redeployed` is true when this reconcile
   * deployed a lost version again and so has already recorded the drift.
   */
  private async activate(app: HotMeshApp, store: AppStore, log: Logger, redeployed: boolean): Promise<Pick<AppOutcome, 'ready' | 'reason' | 'message' | 'activated'>> {
    const target = app.spec.activation === 'Manual' ? app.spec.activeVersion : app.spec.version;
    if (target === undefined) {
      const message = `version ${app.spec.version} is deployed; set spec.activeVersion to activate a version`;
      return { ready: true, reason: REASON.deployed, message, activated: { ok: false, reason: REASON.awaitingActivation, message } };
    }
    const { active } = await store.read();
    if (active !== target) {
      if (app.status?.activeVersion === target && !redeployed) {
        const found = active === undefined ? 'no version was active' : `version ${active} was active`;
        const message = `${found} in Redis instead of ${target}, which this HotMeshApp requests (changed outside it, or Redis lost its data); activating ${target} again`;
        log.warn('active version drifted in Redis; activating the requested one again', { version: target, found: active });
        await this.platform.emitEvent(app, 'Warning', REASON.redisDrift, 'Activate', message);
      }
      try {
        const { previous } = await store.activate(target, this.now());
        log.info('version activated', { version: target, previous });
        await this.platform.emitEvent(app, 'Normal', REASON.activated, 'Activate', `version ${target} activated${previous ? ` (was ${previous})` : ''}`);
      } catch (error) {
        if (!(error instanceof VersionNotDeployedError)) throw this.transient(error);
        // This reconcile has just deployed spec.version, or found it deployed,
        // so its loss now means Redis was wiped meanwhile. Retry instead of stalling.
        if (target === app.spec.version) throw this.transient(error);
        const message = `version ${target} is not deployed in Redis; deploy it first (set spec.version to it) or pick a deployed version`;
        await this.platform.emitEvent(app, 'Warning', REASON.versionNotDeployed, 'Activate', message);
        throw new StepStop({ outcome: { ready: false, reason: REASON.versionNotDeployed, message, progressing: false, activated: { ok: false, reason: REASON.versionNotDeployed, message } } });
      }
    }
    const message = `version ${target} is active`;
    return { ready: true, reason: REASON.activated, message, activated: { ok: true, reason: REASON.activated, message } };
  }

  private engineWorkload(app: HotMeshApp): EngineWorkload {
    const env: WorkloadEnv[] = [{ name: 'HOTMESH_APP_ID', value: app.spec.appId }];
    const ref = app.spec.redis.urlFrom?.secretKeyRef;
    env.push(ref ? { name: 'HOTMESH_REDIS_URL', secretKeyRef: { name: ref.name, key: ref.key } } : { name: 'HOTMESH_REDIS_URL', value: app.spec.redis.url });
    if (app.spec.redis.keyPrefix) env.push({ name: 'HOTMESH_KEY_PREFIX', value: app.spec.redis.keyPrefix });
    return { name: `${app.metadata.name}-engine`, appId: app.spec.appId, replicas: app.spec.engine?.replicas ?? 1, env };
  }

  /** Removes the oldest versions beyond versionHistoryLimit that are neither active, desired, nor running jobs. */
  private async pruneVersions(app: HotMeshApp, store: AppStore, log: Logger): Promise<void> {
    const limit = app.spec.versionHistoryLimit ?? 10;
    const stored = await store.read();
    const keep = new Set([stored.active, app.spec.version, app.spec.activeVersion].filter((version) => version !== undefined));
    const candidates = stored.versions.filter((entry) => !keep.has(entry.version));
    const excess = candidates.length - limit;
    for (const entry of candidates.slice(0, Math.max(0, excess))) {
      if (entry.liveJobs > 0) continue;
      if (!(await store.removeVersion(entry.version))) continue;
      log.info('version pruned', { version: entry.version });
      await this.platform.emitEvent(app, 'Normal', REASON.versionPruned, 'Prune', `version ${entry.version} removed from Redis: beyond versionHistoryLimit ${limit} and no job running on it`);
    }
  }

  private transient(error: unknown): StepStop {
    const message = `redis command failed: ${(error as Error).message}; retrying with backoff`;
    return new StepStop({ outcome: { ready: false, reason: REASON.redisUnavailable, message, progressing: true }, retry: error as Error });
  }

  // ---- status ---------------------------------------------------------------

  private statusOf(app: HotMeshApp, progress: Progress): HotMeshAppStatus {
    const generation = app.metadata.generation ?? 0;
    const status: HotMeshAppStatus = {
      ...app.status,
      observedGeneration: generation,
      conditions: appConditions(app.status?.conditions ?? [], progress.outcome, generation, this.now()),
    };
    if (progress.stored) {
      status.activeVersion = progress.stored.active;
      status.versions = this.versionStatus(app, progress);
    }
    if (progress.engine) status.engine = { deployment: progress.engine.name, replicas: progress.engine.replicas, readyReplicas: progress.engine.readyReplicas };
    return status;
  }

  private versionStatus(app: HotMeshApp, progress: Progress): AppVersionStatus[] {
    const previous = new Map((app.status?.versions ?? []).map((entry) => [entry.version, entry]));
    return (progress.stored?.versions ?? []).map((entry) => {
      const sourceDigest = progress.deployedSource?.version === entry.version ? progress.deployedSource.sourceDigest : previous.get(entry.version)?.sourceDigest;
      const record: AppVersionStatus = { version: entry.version, digest: entry.digest, deployedAt: entry.deployedAt, liveJobs: entry.liveJobs };
      if (sourceDigest) record.sourceDigest = sourceDigest;
      if (entry.activatedAt) record.activatedAt = entry.activatedAt;
      return record;
    });
  }

  // Skips the write when nothing changed, so our own write does not trigger
  // an endless chain of watch events and reconciles.
  private async writeStatus(app: HotMeshApp, status: HotMeshAppStatus): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(app.status ?? {})) return;
    await this.platform.writeStatus(app, status);
    app.status = status;
  }
}
