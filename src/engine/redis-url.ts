// Redis URLs as the engine, the CLI and the operator read them.
import type { Redis } from 'ioredis';
import { ConfigError } from './errors.ts';

/** Returns `url` without its password, for logs and messages; also when it does not parse. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
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
  let query: string | null;
  try {
    const parsed = new URL(url);
    path = parsed.pathname;
    query = parsed.searchParams.get('db');
  } catch {
    throw new ConfigError(`Redis URL ${JSON.stringify(redactUrl(url))} is not a valid URL`);
  }
  // ioredis also reads ?db=N, and it wins over the path.
  if (query !== null) {
    if (!/^\d+$/.test(query)) throw new ConfigError(`Redis URL ${redactUrl(url)} has db=${query}; it must be a database number`);
    return Number(query);
  }
  if (path === '' || path === '/') return 0;
  if (!/^\/\d+$/.test(path)) throw new ConfigError(`Redis URL ${redactUrl(url)} has the path ${path}; the path can only be a database number, such as /1`);
  return Number(path.slice(1));
}

/**
 * Checks that the database `url` selects exists on the server that `client`
 * is connected to, and throws ConfigError when it does not. ioredis only
 * emits an error event when its SELECT fails and then runs every command in
 * database 0, so without this check data would silently go to the wrong
 * database. NOTE: an engine checks once, at start, so a reconnect to a
 * server without the database is not caught (docs/limitations.md).
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
