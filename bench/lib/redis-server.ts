// The bench's private redis-server: a free 127.0.0.1 port, no persistence,
// a temporary folder, stopped by `stop()` or when the bench process exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface BenchRedis {
  host: string;
  port: number;
  url: string;
  /** `redis-server --version`, e.g. `7.0.15`. */
  version: string;
  stop(): Promise<void>;
}

async function findFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitForPing(port: number, exited: Promise<string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      client.disconnect();
    }
    const failure = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50))]);
    if (failure !== undefined) throw new Error(failure);
  }
  throw new Error(`redis-server on 127.0.0.1:${port} did not reply to PING within 10 s`);
}

/** Starts redis-server with `--save '' --appendonly no` and waits until it replies to PING. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const versionOutput = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (versionOutput.error) {
    throw new Error(`cannot run redis-server: ${versionOutput.error.message}; install it (apt-get install redis-server)`);
  }
  const version = /v=([\d.]+)/.exec(versionOutput.stdout)?.[1] ?? 'unknown';
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'hotmesh-bench-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning',
  ];
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const killOnExit = (): void => { child.kill('SIGKILL'); };
  process.on('exit', killOnExit);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`cannot start redis-server: ${error.message}`));
    child.once('exit', (code, signal) => resolve(`redis-server exited with ${signal ?? `code ${code}`} during start`));
  });
  try {
    await waitForPing(port, exited);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const stopped = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await stopped;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
