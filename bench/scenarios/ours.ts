// Scenario: our engine runs the three-step sequence app, `jobs` jobs at
// `inFlight` concurrent pubsub callers. The layouts:
//   one-process  callers, engine and workers in this process.
//   two-shared   the same, plus a helper process with an engine and workers.
//   two-split    callers only here, and engine and workers in the helper.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { countCommandsOf, excludeFromCount, runClosedLoop } from '../lib/measure.ts';
import { Helper, scenarioMain } from '../lib/processes.ts';
import { measureThroughput, type ThroughputRun } from '../lib/throughput.ts';
import { SEQUENCE_APP, SEQUENCE_TOPIC, startOurs, type OursProcessOptions } from './ours-app.ts';

export type OursLayout = 'one-process' | 'two-shared' | 'two-split';

export interface OursParams {
  redisUrl: string;
  layout: OursLayout;
  jobs: number;
  warmupJobs: number;
  inFlight: number;
  concurrency: number;
}

const HELPER = join(import.meta.dirname, 'ours-helper.ts');

countCommandsOf(Redis);

scenarioMain(async (params: OursParams): Promise<ThroughputRun> => {
  const monitor = new Redis(params.redisUrl);
  excludeFromCount(monitor);
  await monitor.flushall();

  const runsHere = params.layout !== 'two-split';
  const base = { redisUrl: params.redisUrl, appId: 'bench', concurrency: params.concurrency };
  const hotMesh = await startOurs({ ...base, engine: runsHere, workers: runsHere });
  const helpers: Helper[] = [];
  try {
    const deployed = await hotMesh.deploy(SEQUENCE_APP);
    await hotMesh.activate(deployed.version);
    if (params.layout !== 'one-process') {
      helpers.push(new Helper(HELPER, { ...base, engine: true, workers: true } satisfies OursProcessOptions));
      await Promise.all(helpers.map((helper) => helper.ready));
    }

    const runOne = async (n: number): Promise<void> => {
      const output = await hotMesh.pubsub(SEQUENCE_TOPIC, { n }, { timeout: 120_000 });
      if (n === 0 && output.data.y !== 2 * (n + 1)) {
        throw new Error(`job 0 finished with y = ${JSON.stringify(output.data.y)}; expected 2`);
      }
    };
    await runClosedLoop(params.warmupJobs, params.inFlight, runOne);
    return await measureThroughput({ monitor, helpers, jobs: params.jobs, inFlight: params.inFlight, runOne });
  } finally {
    await Promise.all(helpers.map((helper) => helper.stop()));
    await hotMesh.stop(1000);
    monitor.disconnect();
  }
});
