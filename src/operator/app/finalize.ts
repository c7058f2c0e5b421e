// Deletion of a HotMeshApp: with deletionPolicy Delete, remove the app's
// Redis keys once no job runs; then release the finalizer. Deletion never
// hangs on an unreachable Redis: after a bounded number of failed attempts
// the finalizer is released anyway, with a Warning Event.
import type { Redis } from 'ioredis';
import type { Logger } from 'winston';
import type { HotMeshApp } from '../api/index.ts';
import type { ReconcileResult } from '../reconciler.ts';
import type { AppStore } from './app-store.ts';
import type { AppPlatform } from './platform.ts';
import { REASON } from './reasons.ts';
import { redactUrl, type RedisPool } from './redis-pool.ts';

/** Annotation that skips the Redis cleanup and releases the finalizer at once. */
export const FORCE_DELETE_ANNOTATION = 'hotmesh.io/force-delete';

/** Limits of the cleanup on deletion. */
export interface CleanupOptions {
  /** Failed cleanup attempts (unreachable Redis, missing Secret) before the finalizer is released anyway. @default 5 */
  maxAttempts: number;
  /** How long Delete waits for running jobs, from the deletion request, ms; then the keys are deleted anyway. @default 600000 */
  jobWaitTimeoutMs: number;
  /** Delay between two looks at the running jobs, ms. @default 5000 */
  jobPollMs: number;
}

const DEFAULTS: CleanupOptions = { maxAttempts: 5, jobWaitTimeoutMs: 600_000, jobPollMs: 5000 };

/** Dependencies of {@link finalizeApp}, supplied by the reconciler. */
export interface FinalizeContext {
  platform: AppPlatform;
  logger: Logger;
  /** Failed attempts per app uid, kept across reconciles. */
  failures: Map<string, number>;
  now: Date;
  redisUrl(): Promise<string | undefined>;
  store(client: Redis): AppStore;
  pool?: RedisPool;
  options?: Partial<CleanupOptions>;
}

/** Runs the cleanup of a HotMeshApp being deleted, then removes our finalizer. */
export async function finalizeApp(app: HotMeshApp, context: FinalizeContext, finalizer = 'hotmesh.io/cleanup'): Promise<ReconcileResult> {
  if (!app.metadata.finalizers?.includes(finalizer)) return {};
  const options = { ...DEFAULTS, ...context.options };
  const uid = app.metadata.uid ?? '';
  const policy = app.spec.deletionPolicy ?? 'Retain';

  if (app.metadata.annotations?.[FORCE_DELETE_ANNOTATION] === 'true') {
    await context.platform.emitEvent(app, 'Warning', REASON.cleanupSkipped, 'Delete', `${FORCE_DELETE_ANNOTATION} is set: Redis keys of app ${app.spec.appId} were left in place`);
    return await release(app, context, finalizer, uid);
  }
  if (policy === 'Retain') {
    context.logger.info('app deleted; redis keys retained', { deletionPolicy: policy });
    return await release(app, context, finalizer, uid);
  }

  try {
    const url = await context.redisUrl();
    if (url === undefined) throw new Error('the Redis URL Secret is missing');
    if (!context.pool) throw new Error('no Redis pool');
    const store = context.store(await context.pool.ready(url));
    const live = await store.liveJobs();
    const deletedAt = Date.parse(String(app.metadata.deletionTimestamp));
    const waited = context.now.getTime() - deletedAt;
    if (live > 0 && waited < options.jobWaitTimeoutMs) {
      context.logger.info('waiting for running jobs before deleting redis keys', { liveJobs: live, waitedMs: waited });
      await context.platform.emitEvent(app, 'Normal', REASON.cleanupWaiting, 'Delete', `waiting for ${live} running jobs before deleting the Redis keys of app ${app.spec.appId} (at most ${options.jobWaitTimeoutMs / 1000} s)`);
      return { requeueAfterMs: options.jobPollMs };
    }
    const deleted = await store.deleteAll();
    context.logger.info('redis keys deleted', { keys: deleted, liveJobs: live, redis: redactUrl(url) });
    await context.platform.emitEvent(app, 'Normal', REASON.cleanedUp, 'Delete', `deleted ${deleted} Redis keys of app ${app.spec.appId}${live > 0 ? ` while ${live} jobs were still running, after the ${options.jobWaitTimeoutMs / 1000} s wait` : ''}`);
    return await release(app, context, finalizer, uid);
  } catch (error) {
    const attempts = (context.failures.get(uid) ?? 0) + 1;
    context.failures.set(uid, attempts);
    if (attempts < options.maxAttempts) {
      context.logger.warn('redis cleanup failed; retrying', { attempts, maxAttempts: options.maxAttempts, err: (error as Error).message });
      throw error;
    }
    const message = `Redis cleanup failed ${attempts} times (${(error as Error).message}); the finalizer is released and the keys of app ${app.spec.appId} are left in Redis`;
    context.logger.error('redis cleanup abandoned; releasing finalizer', { attempts, err: (error as Error).message });
    await context.platform.emitEvent(app, 'Warning', REASON.cleanupSkipped, 'Delete', message);
    return await release(app, context, finalizer, uid);
  }
}

async function release(app: HotMeshApp, context: FinalizeContext, finalizer: string, uid: string): Promise<ReconcileResult> {
  await context.platform.removeFinalizer(app, finalizer);
  context.failures.delete(uid);
  return {};
}
