// Scenario: `jobs` jobs of the sleep app (trigger → hook with `sleep: 1`)
// started at once against one engine in this process, and how late each
// wake-up fires. Lateness is the job's completion minus its creation minus
// the sleep, from metadata `ju` - `jc`, which the engine stamps. The caller's
// view (pubsub call to resolution, minus the sleep) is reported too. A burst
// of `smallJobs` sleeps afterwards shows the lateness of a lightly loaded
// engine, where the burst's own steps do not queue up.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { excludeFromCount, quantile } from '../lib/measure.ts';
import { scenarioMain } from '../lib/processes.ts';
import { startOurs } from './ours-app.ts';

const SLEEP_APP = join(import.meta.dirname, '..', 'apps', 'sleep.yaml');
const SLEEP_MS = 1000;

export interface TimersParams {
  redisUrl: string;
  jobs: number;
  warmupJobs: number;
  smallJobs: number;
  /** Engine-stream messages handled at once. */
  concurrency: number;
}

export interface TimersRun {
  jobs: number;
  /** Lateness by the engine's timestamps, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Lateness seen by the pubsub caller, ms. */
  callerP50Ms: number;
  callerP99Ms: number;
  callerMaxMs: number;
  smallJobs: number;
  smallP50Ms: number;
  smallMaxMs: number;
}

function lateness(values: number[]): { p50: number; p99: number; max: number } {
  values.sort((a, b) => a - b);
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: values.at(-1) ?? Number.NaN };
}

scenarioMain(async (params: TimersParams): Promise<TimersRun> => {
  const admin = new Redis(params.redisUrl);
  excludeFromCount(admin);
  await admin.flushall();
  admin.disconnect();

  const hotMesh = await startOurs({ redisUrl: params.redisUrl, appId: 'timers', engine: true, workers: false, concurrency: params.concurrency });
  try {
    await hotMesh.activate((await hotMesh.deploy(SLEEP_APP)).version);

    const sleepAll = async (count: number): Promise<{ engine: number[]; caller: number[] }> => {
      const engine: number[] = [];
      const caller: number[] = [];
      await Promise.all(Array.from({ length: count }, async (_, n) => {
        const start = performance.now();
        const output = await hotMesh.pubsub('timers.start', { n }, { timeout: 120_000 });
        caller.push(performance.now() - start - SLEEP_MS);
        engine.push(Date.parse(String(output.metadata.ju)) - Date.parse(String(output.metadata.jc)) - SLEEP_MS);
      }));
      return { engine, caller };
    };

    await sleepAll(params.warmupJobs);
    const measured = await sleepAll(params.jobs);
    const engine = lateness(measured.engine);
    const caller = lateness(measured.caller);
    const small = lateness((await sleepAll(params.smallJobs)).engine);
    return {
      jobs: params.jobs,
      p50Ms: engine.p50,
      p99Ms: engine.p99,
      maxMs: engine.max,
      callerP50Ms: caller.p50,
      callerP99Ms: caller.p99,
      callerMaxMs: caller.max,
      smallJobs: params.smallJobs,
      smallP50Ms: small.p50,
      smallMaxMs: small.max,
    };
  } finally {
    await hotMesh.stop(1000);
  }
});
