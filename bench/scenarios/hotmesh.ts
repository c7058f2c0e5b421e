// Scenario: HotMesh 0.3.32 runs the same three-step job from its YAML DSL,
// `jobs` jobs at `inFlight` concurrent pubsub callers, with an engine and
// both workers in this process and, for `processes: 2`, in one helper too.
import { join } from 'node:path';
import { countCommandsOf, excludeFromCount, runClosedLoop } from '../lib/measure.ts';
import { Helper, scenarioMain } from '../lib/processes.ts';
import { measureThroughput, type ThroughputRun } from '../lib/throughput.ts';
import { HOTMESH_APP, HOTMESH_TOPIC, loadHotMesh, startHotMesh, type HotMeshProcessOptions } from './hotmesh-app.ts';

export interface HotMeshParams {
  host: string;
  port: number;
  processes: 1 | 2;
  jobs: number;
  warmupJobs: number;
  inFlight: number;
}

const HELPER = join(import.meta.dirname, 'hotmesh-helper.ts');

const modules = loadHotMesh();
countCommandsOf(modules.Redis);

scenarioMain(async (params: HotMeshParams): Promise<ThroughputRun & { version: string }> => {
  const monitor = new modules.Redis(`redis://${params.host}:${params.port}`);
  excludeFromCount(monitor);
  await monitor.flushall();

  const options: HotMeshProcessOptions = { host: params.host, port: params.port };
  const hotMesh = await startHotMesh(modules, options);
  const helpers: Helper[] = [];
  try {
    await hotMesh.deploy(HOTMESH_APP);
    await hotMesh.activate('1');
    if (params.processes === 2) {
      helpers.push(new Helper(HELPER, options));
      await Promise.all(helpers.map((helper) => helper.ready));
    }

    const runOne = async (n: number): Promise<void> => {
      const output = await hotMesh.pubsub(HOTMESH_TOPIC, { n }, null, 120_000);
      if (n === 0 && output.data.y !== 2 * (n + 1)) {
        throw new Error(`HotMesh job 0 finished with y = ${JSON.stringify(output.data.y)}; expected 2`);
      }
    };
    await runClosedLoop(params.warmupJobs, params.inFlight, runOne);
    const run = await measureThroughput({ monitor, helpers, jobs: params.jobs, inFlight: params.inFlight, runOne });
    return { ...run, version: modules.version };
  } finally {
    await Promise.all(helpers.map((helper) => helper.stop()));
    // Only the instance stops: the static HotMesh.stop() of 0.3.32 takes
    // about 20 s, and this process exits right after the run anyway.
    hotMesh.stop();
    monitor.disconnect();
  }
});
