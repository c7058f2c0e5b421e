import { ConfigError, HotMeshError } from '../../engine/errors.ts';
import { HotMesh, redisUrl } from '../../engine/hotmesh.ts';
import { redactUrl, redisDatabase } from '../../engine/redis-url.ts';
import { createLogger } from '../../logger.ts';
import { UsageError } from '../cli-error.ts';

export { redactUrl };

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Checks the scheme of a Redis URL, naming the setting it came from. */
export function checkRedisUrl(url: string, source: string): void {
  if (!/^rediss?:\/\//.test(url)) throw new UsageError(`${source} must be a redis:// or rediss:// URL; got ${JSON.stringify(redactUrl(url))}`);
  try {
    redisDatabase(url);
  } catch (error) {
    throw new UsageError(`${source}: ${(error as Error).message}`);
  }
}

/** Opens a client-only HotMesh (no engine, no workers) for one command. */
export async function openClient(appId: string, values: { redis?: string; 'key-prefix'?: string }): Promise<HotMesh> {
  const url = redisUrl({ url: values.redis });
  checkRedisUrl(url, values.redis ? '--redis' : process.env.HOTMESH_REDIS_URL ? 'HOTMESH_REDIS_URL' : 'the default Redis URL');
  try {
    return await HotMesh.init({
      appId,
      redis: { url, options: { maxRetriesPerRequest: 2, retryStrategy: (times: number) => (times > 3 ? null : 200) } },
      keyPrefix: values['key-prefix'],
      engine: false,
      logger: createLogger({}, process.env.HOTMESH_LOG_LEVEL ?? 'warn'),
    });
  } catch (error) {
    // A database the server does not have is bad input, like a bad URL.
    if (error instanceof ConfigError) throw new UsageError(error.message);
    if (error instanceof HotMeshError) throw error;
    const message = (error as Error).message;
    const reason = /max retries/i.test(message) ? 'no connection after 3 tries' : message;
    throw new HotMeshError('E_REDIS_UNREACHABLE', `cannot reach Redis at ${redactUrl(url)} (${reason}); set --redis or HOTMESH_REDIS_URL`);
  }
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
