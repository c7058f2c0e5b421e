// Helper process of HotMesh 0.3.32's two-process layout: an engine and both
// workers, counted like the scenario process.
import { countCommandsOf } from '../lib/measure.ts';
import { helperMain } from '../lib/processes.ts';
import { loadHotMesh, startHotMesh, type HotMeshProcessOptions } from './hotmesh-app.ts';

const modules = loadHotMesh();
countCommandsOf(modules.Redis);
helperMain(async (options: HotMeshProcessOptions) => {
  const hotMesh = await startHotMesh(modules, options);
  // The static HotMesh.stop() of 0.3.32 takes about 20 s; the helper exits
  // right after this stop, which closes its connections anyway.
  return { stop: async () => hotMesh.stop() };
});
