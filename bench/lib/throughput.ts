// One measured window of a throughput scenario: jobs driven by a closed
// loop of callers, with the counters of every process and of Redis read at
// both ends of the window.
import type { Helper } from './processes.ts';
import {
  quantile,
  readMachineCpuSeconds,
  loopBusyShare,
  peakRssBytes,
  readProcessCounters,
  readRedisCounters,
  runClosedLoop,
  subtractProcessCounters,
  subtractRedisCounters,
  type InfoClient,
} from './measure.ts';

/** The outcome of one measured run, summed over the run's processes. */
export interface ThroughputRun {
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** Latency from the call that starts a job to its completion, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Redis commands that the processes' ioredis clients sent. */
  clientCommands: number;
  /** Redis' total_commands_processed: client commands plus the commands scripts ran. */
  redisCommands: number;
  redisCpuSeconds: number;
  nodeCpuSeconds: number;
  /** Node CPU time of each process, s; this process first. */
  nodeCpuSecondsByProcess: number[];
  /** Share of the window each process's event loop was busy, 0…1; this process first. */
  loopBusy: number[];
  /**
   * CPU time that the whole machine used in the window, s. What the bench's
   * processes and Redis did not use was other load on the shared cores.
   */
  machineCpuSeconds: number;
  processes: number;
  /** Peak RSS of each process from its start to the end of the window, bytes; this process first. */
  peakRss: number[];
}

export interface ThroughputOptions {
  /** A client excluded from the command count, for INFO. */
  monitor: InfoClient;
  /** Helper processes whose counters join this process's. */
  helpers: Helper[];
  jobs: number;
  inFlight: number;
  /** Starts job `index` and resolves when it has completed. */
  runOne(index: number): Promise<void>;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputRun> {
  const redisStart = await readRedisCounters(options.monitor);
  const helperStart = await Promise.all(options.helpers.map((helper) => helper.snapshot()));
  const localStart = readProcessCounters();
  const machineStart = readMachineCpuSeconds();
  const began = performance.now();

  const latencies = await runClosedLoop(options.jobs, options.inFlight, options.runOne);

  const seconds = (performance.now() - began) / 1000;
  const machineCpuSeconds = readMachineCpuSeconds() - machineStart;
  const local = subtractProcessCounters(readProcessCounters(), localStart);
  const helperEnd = await Promise.all(options.helpers.map((helper) => helper.snapshot()));
  const redis = subtractRedisCounters(await readRedisCounters(options.monitor), redisStart);

  const deltas = [local, ...helperEnd.map((end, i) => subtractProcessCounters(end.counters, helperStart[i].counters))];
  const peaks = [peakRssBytes(), ...helperEnd.map((end) => end.peakRss)];
  const nodeCpuSecondsByProcess = deltas.map((delta) => delta.cpuMicros / 1e6);

  latencies.sort((a, b) => a - b);
  return {
    jobs: options.jobs,
    seconds,
    jobsPerSecond: options.jobs / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    clientCommands: deltas.reduce((sum, delta) => sum + delta.commands, 0),
    redisCommands: redis.commandsProcessed,
    redisCpuSeconds: redis.cpuSeconds,
    nodeCpuSeconds: nodeCpuSecondsByProcess.reduce((sum, cpu) => sum + cpu, 0),
    nodeCpuSecondsByProcess,
    loopBusy: deltas.map(loopBusyShare),
    machineCpuSeconds,
    processes: 1 + options.helpers.length,
    peakRss: peaks,
  };
}
