// Counters that every benchmark process reads at the start and the end of
// its measured window: client-issued Redis commands, Node CPU time and
// resident memory of this process, and Redis' own CPU time and command total.
import { readFileSync } from 'node:fs';

/** The part of an ioredis client class that the command counter patches. */
export interface RedisClass {
  prototype: { sendCommand(...args: unknown[]): unknown };
}

/** A client that can send INFO, of any ioredis version. */
export interface InfoClient {
  info(section: string): Promise<string>;
}

/** Resources one process has used so far. Subtract two snapshots for a window. */
export interface ProcessCounters {
  /** Redis commands sent by this process's ioredis clients, bench clients excluded. */
  commands: number;
  /** User plus system CPU time of this process, µs. */
  cpuMicros: number;
  /** Resident set size now, bytes. */
  rss: number;
  /** Time the event loop (main thread) spent running callbacks, and waiting for I/O, ms. */
  loopActiveMs: number;
  loopIdleMs: number;
}

/** Resources Redis has used so far. */
export interface RedisCounters {
  /** used_cpu_user + used_cpu_sys of the redis-server process, s. */
  cpuSeconds: number;
  /** total_commands_processed: counts client commands and the commands scripts run. */
  commandsProcessed: number;
}

let commandCount = 0;
const excluded = new WeakSet<object>();
const patched = new WeakSet<object>();

/**
 * Counts every command that clients of `redisClass` send from now on.
 *
 * ioredis routes single commands, MULTI blocks, explicit and automatic
 * pipelines and script calls through `Redis.prototype.sendCommand`, one call
 * per command, so an EVALSHA counts once however many commands its script
 * runs. A NOSCRIPT retry counts as a second command, because Redis receives
 * an EVAL after the EVALSHA.
 * Commands that ioredis resends after a reconnect are counted again.
 */
export function countCommandsOf(redisClass: RedisClass): void {
  const prototype = redisClass.prototype;
  if (patched.has(prototype)) return;
  patched.add(prototype);
  const original = prototype.sendCommand;
  prototype.sendCommand = function countedSendCommand(this: object, ...args: unknown[]): unknown {
    if (!excluded.has(this)) commandCount++;
    return original.apply(this, args);
  };
}

/** Leaves out a client that only the bench uses (INFO, FLUSHALL). */
export function excludeFromCount(client: object): void {
  excluded.add(client);
}

export function readProcessCounters(): ProcessCounters {
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  return { commands: commandCount, cpuMicros: cpu.user + cpu.system, rss: process.memoryUsage.rss(), loopActiveMs: loop.active, loopIdleMs: loop.idle };
}

/** Peak resident set size of this process since it started, bytes (getrusage maxrss). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function subtractProcessCounters(end: ProcessCounters, start: ProcessCounters): ProcessCounters {
  return {
    commands: end.commands - start.commands,
    cpuMicros: end.cpuMicros - start.cpuMicros,
    rss: end.rss,
    loopActiveMs: end.loopActiveMs - start.loopActiveMs,
    loopIdleMs: end.loopIdleMs - start.loopIdleMs,
  };
}

/**
 * Returns the CPU time all processes of the machine have used since boot, s,
 * from /proc/stat (user + nice + system + irq + softirq + steal), or NaN
 * where /proc/stat is missing. Assumes the usual USER_HZ of 100.
 */
export function readMachineCpuSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Parses the `name:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Reads Redis' counters with two INFO calls, which add 2 to `commandsProcessed`. */
export async function readRedisCounters(client: InfoClient): Promise<RedisCounters> {
  const cpu = parseInfo(await client.info('cpu'));
  const stats = parseInfo(await client.info('stats'));
  return {
    cpuSeconds: Number(cpu.get('used_cpu_user')) + Number(cpu.get('used_cpu_sys')),
    commandsProcessed: Number(stats.get('total_commands_processed')),
  };
}

/** Returns `end - start`, less the INFO calls that `readRedisCounters` made at the start. */
export function subtractRedisCounters(end: RedisCounters, start: RedisCounters): RedisCounters {
  return { cpuSeconds: end.cpuSeconds - start.cpuSeconds, commandsProcessed: end.commandsProcessed - start.commandsProcessed - 2 };
}

/** Returns the value at quantile `q` (0…1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** Returns the share of a window in which the event loop ran callbacks, 0…1. */
export function loopBusyShare(delta: ProcessCounters): number {
  const total = delta.loopActiveMs + delta.loopIdleMs;
  return total > 0 ? delta.loopActiveMs / total : Number.NaN;
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/**
 * Runs `total` calls of `runOne` with at most `inFlight` outstanding, like
 * `inFlight` callers that each start the next job when one finishes.
 * Returns each call's latency in ms, in completion order.
 */
export async function runClosedLoop(total: number, inFlight: number, runOne: (index: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      const begin = performance.now();
      await runOne(index);
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, caller));
  return latencies;
}
