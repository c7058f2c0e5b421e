// The Redis limit: how many round trips of a transition's shape the bench's
// Redis serves, measured with redis-benchmark (C, 50 connections) so that
// the client is not the bottleneck. One round trip is one EVALSHA of a
// script that writes a hash field and XADDs to a stream capped near 10,000
// entries, with keys spread over 100,000 hashes.
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { readRedisCounters, subtractRedisCounters } from '../lib/measure.ts';
import type { BenchRedis } from '../lib/redis-server.ts';

const SCRIPT = "redis.call('HSET', KEYS[1], 'f', ARGV[1]) redis.call('XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'm', ARGV[1]) return 1";

export interface RedisLimitRun {
  /** Commands per pipeline; 1 is unpipelined. */
  pipeline: number;
  clients: number;
  requests: number;
  callsPerSecond: number;
  /** Redis CPU per call, µs. */
  redisCpuMicrosPerCall: number;
}

async function runRedisBenchmark(args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString(); });
    child.once('error', (error) => reject(new Error(`cannot run redis-benchmark: ${error.message}; it ships with redis-tools (apt-get install redis-tools)`)));
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`redis-benchmark exited with code ${code}: ${errors.trim() || output.trim()}`));
    });
  });
}

/** Runs `requests` EVALSHA calls from 50 connections, `pipeline` at a time each. */
export async function measureRedisLimit(redis: BenchRedis, requests: number, pipeline: number): Promise<RedisLimitRun> {
  const admin = new Redis(redis.port, redis.host);
  try {
    await admin.flushall();
    const sha = String(await admin.script('LOAD', SCRIPT));
    const clients = 50;
    const before = await readRedisCounters(admin);
    const output = await runRedisBenchmark([
      '-h', redis.host, '-p', String(redis.port), '-c', String(clients), '-n', String(requests), '-r', '100000',
      '-P', String(pipeline), '--csv',
      'EVALSHA', sha, '2', 'bench:limit:__rand_int__', 'bench:limit:stream', '__rand_int__',
    ]);
    const redisUsed = subtractRedisCounters(await readRedisCounters(admin), before);
    const lastLine = output.trim().split('\n').at(-1) ?? '';
    const callsPerSecond = Number(/^"[^"]*","([\d.]+)"/.exec(lastLine)?.[1]);
    if (!Number.isFinite(callsPerSecond)) throw new Error(`cannot read requests per second from redis-benchmark output: ${lastLine}`);
    return { pipeline, clients, requests, callsPerSecond, redisCpuMicrosPerCall: (redisUsed.cpuSeconds * 1e6) / requests };
  } finally {
    admin.disconnect();
  }
}
