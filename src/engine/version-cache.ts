import type { Redis } from 'ioredis';
import { compileStored } from './compiler/compile.ts';
import type { CompiledApp } from './compiler/types.ts';
import { NoActiveVersionError, VersionNotDeployedError } from './errors.ts';
import type { AppKeys } from './store/keys.ts';

/** A compiled version as stored under its version key. */
export interface StoredVersion {
  appId: string;
  version: string;
  digest: string;
  manifest: Record<string, unknown>;
}

/**
 * Compiled versions of one app, loaded from Redis on first use and kept:
 * versions are immutable, so a cached one never goes stale. The active
 * version is re-read whenever it may have changed.
 */
export class VersionCache {
  private readonly client: Redis;
  private readonly keys: AppKeys;
  private readonly versions = new Map<string, Promise<CompiledApp>>();
  private active: string | undefined;

  constructor(client: Redis, keys: AppKeys) {
    this.client = client;
    this.keys = keys;
  }

  /** The active version as last read, without a round trip. */
  get activeVersion(): string | undefined {
    return this.active;
  }

  /** Loads a version, compiling it once per process. */
  get(version: string): Promise<CompiledApp> {
    let cached = this.versions.get(version);
    if (!cached) {
      cached = this.load(version);
      this.versions.set(version, cached);
      cached.catch(() => this.versions.delete(version));
    }
    return cached;
  }

  /** Puts a version compiled in this process into the cache. */
  remember(app: CompiledApp): void {
    this.versions.set(app.version, Promise.resolve(app));
  }

  /** Returns the active version, reading it from Redis unless it is known. */
  async getActive(): Promise<CompiledApp> {
    const version = this.active ?? (await this.refreshActive());
    if (version === undefined) throw new NoActiveVersionError(this.keys.appId);
    return this.get(version);
  }

  /** Reads the active version from Redis. */
  async refreshActive(): Promise<string | undefined> {
    const active = await this.client.hget(this.keys.app(), 'active');
    this.active = active ?? undefined;
    return this.active;
  }

  /** Records an active version learned from a message or a script. */
  setActive(version: string): void {
    this.active = version;
  }

  private async load(version: string): Promise<CompiledApp> {
    const raw = await this.client.get(this.keys.version(version));
    if (raw === null) throw new VersionNotDeployedError(this.keys.appId, version);
    const stored = JSON.parse(raw) as StoredVersion;
    const app = compileStored(stored.manifest);
    return app;
  }
}
