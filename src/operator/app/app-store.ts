// The operator's reads and writes of one app's Redis keys. Deploy and
// activate go through the engine's scripts; key names come from AppKeys.
import type { Redis } from 'ioredis';
import { deployCompiled, activateVersion } from '../../engine/hotmesh.ts';
import type { CompiledApp } from '../../engine/compiler/types.ts';
import type { AppKeys } from '../../engine/store/keys.ts';
import type { DeployResult } from '../../engine/hotmesh.ts';

/** A version as stored in the app hash. */
export interface StoredVersion {
  version: string;
  digest: string;
  deployedAt: string;
  activatedAt?: string;
  liveJobs: number;
}

/** The app hash: the active version and every deployed version. */
export interface StoredApp {
  active: string | undefined;
  versions: StoredVersion[];
}

const SCAN_COUNT = 500;

/*
  KEYS[1] app hash, KEYS[2] the version's compiled form; ARGV[1] version.
  Returns 1 when removed, 0 when the version is active or has running jobs.
*/
const REMOVE_VERSION_SCRIPT = `
if redis.call('HGET', KEYS[1], 'active') == ARGV[1] then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'live:' .. ARGV[1]) or '0') > 0 then return 0 end
redis.call('HDEL', KEYS[1], 'v:' .. ARGV[1], 'live:' .. ARGV[1])
redis.call('DEL', KEYS[2])
return 1
`;

export class AppStore {
  readonly client: Redis;
  readonly keys: AppKeys;

  constructor(client: Redis, keys: AppKeys) {
    this.client = client;
    this.keys = keys;
  }

  /** Reads the active version and the deployed versions, oldest first. */
  async read(): Promise<StoredApp> {
    const fields = await this.client.hgetall(this.keys.app());
    const versions: StoredVersion[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith('v:')) continue;
      const version = field.slice(2);
      const record = JSON.parse(value) as { digest: string; deployedAt: string; activatedAt?: string };
      versions.push({ version, digest: record.digest, deployedAt: record.deployedAt, activatedAt: record.activatedAt, liveJobs: Number(fields[`live:${version}`] ?? 0) });
    }
    versions.sort((a, b) => a.deployedAt.localeCompare(b.deployedAt) || a.version.localeCompare(b.version, 'en', { numeric: true }));
    return { active: fields.active, versions };
  }

  /** Stores a compiled version; throws VersionConflictError with Redis untouched. */
  async deploy(app: CompiledApp, now: Date): Promise<DeployResult> {
    return await deployCompiled(this.client, this.keys, app, now);
  }

  /** Makes a deployed version the active one; throws VersionNotDeployedError. */
  async activate(version: string, now: Date): Promise<{ previous: string | undefined }> {
    return await activateVersion(this.client, this.keys, version, now);
  }

  /**
   * Removes a version that is not active and has no running job, atomically.
   * Returns false when the version was kept.
   */
  async removeVersion(version: string): Promise<boolean> {
    const removed = await this.client.eval(REMOVE_VERSION_SCRIPT, 2, this.keys.app(), this.keys.version(version), version);
    return Number(removed) === 1;
  }

  /** Jobs of the app still running, over all versions. */
  async liveJobs(): Promise<number> {
    const stored = await this.read();
    return stored.versions.reduce((sum, version) => sum + Math.max(0, version.liveJobs), 0);
  }

  /** Deletes every key of the app; returns how many were deleted. */
  async deleteAll(): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', this.keys.pattern(), 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length > 0) deleted += await this.client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  }
}
