// The quorum of an app: every engine and worker process, found through
// heartbeats in Redis rather than pub/sub replies, so a process that misses
// a message is neither lost from the roll call nor left on an old version.
import type { Redis } from 'ioredis';
import type { Logger } from 'winston';
import type { AppKeys } from '../store/keys.ts';

/** Profile a process publishes about itself in the roll call. */
export interface ProcessProfile {
  guid: string;
  host: string;
  pid: number;
  /** Runs an engine: consumes the engine stream and fires timers. */
  engine: boolean;
  /** Worker topics it serves. */
  topics: string[];
  /** Active version as this process last read it. */
  version: string | undefined;
  /** Effective throttle per consumer, ms: `engine` or a topic → ms (-1 paused). */
  throttles: Record<string, number>;
  /** Messages in hand per consumer. */
  busy: Record<string, number>;
  startedAt: string;
  heartbeatAt: string;
}

/** A throttle setting and what it applies to. */
export interface ThrottleScope {
  /** Only the workers of this topic. */
  topic?: string;
  /** Only this process. */
  guid?: string;
}

/** The value that pauses reading. */
export const PAUSED = -1;

/** Field of the throttle hash for a scope. */
export function throttleField(scope: ThrottleScope): string {
  if (scope.guid) return `guid:${scope.guid}`;
  if (scope.topic) return `topic:${scope.topic}`;
  return '*';
}

/**
 * The throttle that applies to one consumer: a setting for the process
 * wins over one for its topic, which wins over the app's. Engines read
 * the app-wide and process settings only.
 */
export function effectiveThrottle(settings: Record<string, string>, guid: string, topic: string | undefined): number {
  const pick = (field: string): number | undefined => (settings[field] === undefined ? undefined : Number(settings[field]));
  return pick(`guid:${guid}`) ?? (topic === undefined ? undefined : pick(`topic:${topic}`)) ?? pick('*') ?? 0;
}

/** Stores and reads heartbeats; one per HotMesh instance. */
export class Quorum {
  private readonly client: Redis;
  private readonly keys: AppKeys;
  private readonly logger: Logger;
  readonly heartbeatMs: number;

  constructor(client: Redis, keys: AppKeys, logger: Logger, heartbeatMs: number) {
    this.client = client;
    this.keys = keys;
    this.logger = logger;
    this.heartbeatMs = heartbeatMs;
  }

  /** A profile lives this long without a new heartbeat, ms: three heartbeats. */
  get ttlMs(): number {
    return this.heartbeatMs * 3;
  }

  /** Writes this process's profile with a TTL, so a killed process drops out by itself. */
  async heartbeat(profile: ProcessProfile): Promise<void> {
    await this.client.multi()
      .set(this.keys.process(profile.guid), JSON.stringify(profile), 'PX', this.ttlMs)
      .zadd(this.keys.processes(), Date.now(), profile.guid)
      .exec();
  }

  /** Removes this process from the roll call at once (a clean stop). */
  async leave(guid: string): Promise<void> {
    await this.client.multi().del(this.keys.process(guid)).zrem(this.keys.processes(), guid).exec();
  }

  /** Returns the live processes; entries whose profile expired are pruned. */
  async rollCall(): Promise<ProcessProfile[]> {
    const guids = await this.client.zrange(this.keys.processes(), 0, -1);
    if (guids.length === 0) return [];
    const profiles = await this.client.mget(guids.map((guid) => this.keys.process(guid)));
    const live: ProcessProfile[] = [];
    const gone: string[] = [];
    profiles.forEach((raw, index) => {
      if (raw === null) gone.push(guids[index]);
      else live.push(JSON.parse(raw) as ProcessProfile);
    });
    if (gone.length > 0) {
      await this.client.zrem(this.keys.processes(), ...gone);
      this.logger.debug('pruned processes whose heartbeat expired', { count: gone.length });
    }
    return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  /** Reads every throttle setting of the app. */
  async throttleSettings(): Promise<Record<string, string>> {
    return this.client.hgetall(this.keys.throttles());
  }

  /**
   * Persists a throttle and publishes it to every process. `ms` 0 removes the setting
   * (resume); -1 pauses.
   */
  async setThrottle(ms: number, scope: ThrottleScope): Promise<void> {
    const field = throttleField(scope);
    const transaction = this.client.multi();
    if (ms === 0) transaction.hdel(this.keys.throttles(), field);
    else transaction.hset(this.keys.throttles(), field, String(ms));
    transaction.publish(this.keys.quorumChannel(), JSON.stringify({ type: 'throttle', field, ms }));
    await transaction.exec();
  }

  /** Asks every process for a fresh heartbeat now. */
  async requestHeartbeats(): Promise<void> {
    await this.client.publish(this.keys.quorumChannel(), JSON.stringify({ type: 'rollcall' }));
  }
}
