// Scenario: BullMQ runs the same three steps as a chain of three jobs in one
// process (see bullmq-app.ts), `jobs` chains at `inFlight` concurrent callers.
import { Redis } from 'ioredis';
import { countCommandsOf, excludeFromCount, runClosedLoop } from '../lib/measure.ts';
import { scenarioMain } from '../lib/processes.ts';
import { measureThroughput, type ThroughputRun } from '../lib/throughput.ts';
import { bullMqVersion, startBullMqChain } from './bullmq-app.ts';

export interface BullMqParams {
  host: string;
  port: number;
  jobs: number;
  warmupJobs: number;
  inFlight: number;
  /** Worker concurrency of each of the three queues. */
  concurrency: number;
}

countCommandsOf(Redis);

scenarioMain(async (params: BullMqParams): Promise<ThroughputRun & { version: string }> => {
  const monitor = new Redis(params.port, params.host);
  excludeFromCount(monitor);
  await monitor.flushall();

  const chain = await startBullMqChain(params.host, params.port, params.concurrency);
  try {
    const runOne = async (n: number): Promise<void> => {
      const y = await chain.runOne(n);
      if (n === 0 && y !== 2 * (n + 1)) throw new Error(`BullMQ chain 0 finished with y = ${y}; expected 2`);
    };
    await runClosedLoop(params.warmupJobs, params.inFlight, runOne);
    const run = await measureThroughput({ monitor, helpers: [], jobs: params.jobs, inFlight: params.inFlight, runOne });
    return { ...run, version: await bullMqVersion() };
  } finally {
    await chain.close();
    monitor.disconnect();
  }
});
