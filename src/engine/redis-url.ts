// Redis URLs as the engine, the CLI and the operator read them.
import type { Redis } from 'ioredis';
import { ConfigError } from './errors.ts';

/** Returns `url` without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid redis url>';
  }
}

/**
 * Returns the database number a Redis URL selects: its path, or 0 when it
 * has none. Throws ConfigError for a URL that does not parse or a path that
 * is not a whole number. Anything else ioredis accepts, such as a Unix
 * socket path, selects no database here.
 */
export function redisDatabase(url: string): number {
  if (!/^rediss?:\/\//.test(url)) return 0;
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new ConfigError(`Redis URL ${JSON.stringify(url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'))} is not a valid URL`);
  }
  if (path === '' || path === '/') return 0;
  if (!/^\/\d+$/.test(path)) throw new ConfigError(`Redis URL ${redactUrl(url)} has the path ${path}; the path can only be a database number, such as /1`);
  return Number(path.slice(1));
}

/**
 * Checks that the database `url` selects exists on the server that `client`
 * is connected to, and throws ConfigError when it does not. ioredis only emits an error event when its SELECT fails
 * and then runs every command in database 0, so without this check data
 * would silently go to the wrong database.
 */
export async function verifyDatabase(client: Redis, url: string): Promise<void> {
  const database = redisDatabase(url);
  if (database === 0) return;
  try {
    await client.select(database);
  } catch (error) {
    throw new ConfigError(`Redis at ${redactUrl(url)} has no database ${database} (${(error as Error).message}); use a number below the server's "databases" setting`);
  }
}
