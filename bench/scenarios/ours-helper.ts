// Helper process of our engine's two-process layouts: an engine and the
// sequence app's workers, counted like the scenario process.
import { Redis } from 'ioredis';
import { countCommandsOf } from '../lib/measure.ts';
import { helperMain } from '../lib/processes.ts';
import { startOurs, type OursProcessOptions } from './ours-app.ts';

countCommandsOf(Redis);
helperMain(async (options: OursProcessOptions) => {
  const hotMesh = await startOurs(options);
  return { stop: () => hotMesh.stop(1000) };
});
