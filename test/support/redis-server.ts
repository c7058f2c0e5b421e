import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Options for a private redis-server started by a test. */
export interface RedisServerOptions {
  /** Turn on the append-only file so a restart keeps data. @default false */
  appendOnly?: boolean;
  /** Extra `--name value` arguments passed to redis-server. */
  args?: string[];
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real redis-server on a free loopback port with its own data folder, so a
 * test can kill it, restart it on the same port and, with AOF, keep its data.
 */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly options: RedisServerOptions;
  private child: ChildProcess | undefined;

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  /** Starts a server on a free port and waits until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'hotmesh-redis-'));
    const server = new RedisServer(port, dir, options);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Returns a new ioredis client for this server; the caller closes it. */
  client(): Redis {
    const client = new Redis(this.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 3 });
    client.on('error', () => undefined);
    return client;
  }

  /** Starts the process again on the same port and folder after a kill or shutdown. */
  async restart(): Promise<void> {
    if (this.running) await this.kill();
    await this.launch();
  }

  /** Kills the process with SIGKILL: no AOF rewrite, no goodbye to clients. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Stops the server and removes its data folder. */
  async stop(): Promise<void> {
    if (this.running) await this.signal('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  private async launch(): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--save', '',
      '--appendonly', this.options.appendOnly ? 'yes' : 'no',
      '--appendfsync', 'always',
      '--maxmemory-policy', 'noeviction',
      ...(this.options.args ?? []),
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    await this.waitUntilReady(() => stderr);
  }

  private async waitUntilReady(stderr: () => string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server on port ${this.port} exited: ${stderr()}`);
      const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        const reply = await probe.ping();
        if (reply === 'PONG') return;
      } catch {
        // not listening yet, or still loading the AOF
      } finally {
        probe.disconnect();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING within 10 s`);
  }
}
