import { HotMesh, type WorkerOptions } from '../../src/index.ts';
import { quietLogger } from './logger.ts';
import { RedisServer } from './redis-server.ts';

let counter = 0;

/** A private Redis plus HotMesh instances for one suite, all stopped by `close`. */
export class AppHarness {
  readonly redis: RedisServer;
  private readonly instances: HotMesh[] = [];

  private constructor(redis: RedisServer) {
    this.redis = redis;
  }

  static async start(): Promise<AppHarness> {
    return new AppHarness(await RedisServer.start());
  }

  /** Starts a HotMesh for `appId` with an engine and the given workers. */
  async hotMesh(appId: string, workers: WorkerOptions[] = [], extra: Partial<Parameters<typeof HotMesh.init>[0]> = {}): Promise<HotMesh> {
    const instance = await HotMesh.init({ appId, redis: { url: this.redis.url }, logger: quietLogger(), workers, engine: { reclaimIdleMs: 60_000, timerPollMs: 100 }, ...extra });
    this.instances.push(instance);
    return instance;
  }

  /** Deploys and activates a manifest text on a fresh instance; returns it. */
  async deployed(manifest: string, workers: WorkerOptions[] = [], extra: Partial<Parameters<typeof HotMesh.init>[0]> = {}): Promise<HotMesh> {
    const appId = /id:\s*([\w-]+)/.exec(manifest)![1];
    const version = /version:\s*'([^']+)'/.exec(manifest)![1];
    const instance = await this.hotMesh(appId, workers, extra);
    await instance.deploy(manifest);
    await instance.activate(version);
    return instance;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.instances.map((instance) => instance.stop(500)));
    await this.redis.stop();
  }
}

/** A unique id for tests that share a Redis. */
export function uniqueId(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
