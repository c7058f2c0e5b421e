// Scenario: resident memory of an engine+worker process. A helper process
// runs an engine and both workers of the sequence app; this process only
// publishes. Reports the helper's RSS after it has been idle for `idleMs`,
// its peak RSS (getrusage maxrss) while `jobs` jobs run at `inFlight`
// concurrent callers, and its RSS right after.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { excludeFromCount, runClosedLoop } from '../lib/measure.ts';
import { Helper, scenarioMain } from '../lib/processes.ts';
import { SEQUENCE_APP, SEQUENCE_TOPIC, startOurs, type OursProcessOptions } from './ours-app.ts';

export interface MemoryParams {
  redisUrl: string;
  jobs: number;
  inFlight: number;
  concurrency: number;
  idleMs: number;
}

export interface MemoryRun {
  idleRss: number;
  peakRss: number;
  afterRss: number;
}

const HELPER = join(import.meta.dirname, 'ours-helper.ts');

scenarioMain(async (params: MemoryParams): Promise<MemoryRun> => {
  const admin = new Redis(params.redisUrl);
  excludeFromCount(admin);
  await admin.flushall();
  admin.disconnect();

  const base = { redisUrl: params.redisUrl, appId: 'bench', concurrency: params.concurrency };
  const client = await startOurs({ ...base, engine: false, workers: false });
  const helper = new Helper(HELPER, { ...base, engine: true, workers: true } satisfies OursProcessOptions);
  try {
    await client.activate((await client.deploy(SEQUENCE_APP)).version);
    await helper.ready;
    await new Promise((resolve) => setTimeout(resolve, params.idleMs));
    const idle = await helper.snapshot();
    await runClosedLoop(params.jobs, params.inFlight, async (n) => { await client.pubsub(SEQUENCE_TOPIC, { n }, { timeout: 120_000 }); });
    const after = await helper.snapshot();
    return { idleRss: idle.counters.rss, peakRss: after.peakRss, afterRss: after.counters.rss };
  } finally {
    await helper.stop();
    await client.stop(1000);
  }
});
