// One Redis connection per endpoint, shared by every app that uses it.
// Commands fail fast while the connection is down, so a reconcile never
// waits on an unreachable Redis; the client reconnects in the background.
import { Redis } from 'ioredis';
import type { Logger } from 'winston';
import { redactUrl, verifyDatabase } from '../../engine/redis-url.ts';

export { redactUrl };

/** Per-command timeout, ms: a slow Redis fails the reconcile instead of stalling a worker. */
const COMMAND_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 3000;

export class RedisPool {
  private readonly clients = new Map<string, Redis>();
  /** URLs whose database was checked to exist. */
  private readonly verified = new Set<string>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Returns the shared client of `url`, connecting on first use. */
  get(url: string): Redis {
    let client = this.clients.get(url);
    if (client) return client;
    client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 5), 5000),
    });
    const endpoint = redactUrl(url);
    client.on('error', (error: Error) => this.logger.debug('redis connection error', { redis: endpoint, err: error.message }));
    // A reconnect may reach another server (a failover): check its database again.
    client.on('close', () => this.verified.delete(url));
    this.clients.set(url, client);
    return client;
  }

  /** Waits until the client of `url` is connected, or throws after `timeoutMs`. */
  async ready(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Redis> {
    const client = this.get(url);
    if (client.status === 'ready' && this.verified.has(url)) return client;
    if (client.status !== 'ready') {
      await this.connected(client, url, timeoutMs);
    }
    await verifyDatabase(client, url);
    this.verified.add(url);
    return client;
  }

  private async connected(client: Redis, url: string, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        reject(new Error(`redis at ${redactUrl(url)} unreachable: not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      client.once('ready', onReady);
    });
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    this.verified.clear();
    await Promise.allSettled(clients.map((client) => client.quit().catch(() => client.disconnect())));
  }
}

