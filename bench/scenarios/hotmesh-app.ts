// HotMesh 0.3.32's side of the bench. The release needs ioredis 4 or 5 and
// the project uses ioredis 6, so both packages live in their own npm
// project under bench/hotmesh-0.3.32 and load through a require rooted there.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const HOTMESH_DIR = join(import.meta.dirname, '..', 'hotmesh-0.3.32');
export const HOTMESH_APP = join(import.meta.dirname, '..', 'apps', 'sequence-hotmesh-0.3.32.yaml');
export const HOTMESH_TOPIC = 'bench.start';

/** The parts of HotMesh 0.3.32's API that the bench calls. */
export interface HotMesh0332 {
  deploy(pathOrYaml: string): Promise<unknown>;
  activate(version: string): Promise<boolean>;
  pubsub(topic: string, data: Record<string, unknown>, context: null, timeoutMs: number): Promise<{ data: Record<string, unknown> }>;
  stop(): void;
}

interface HotMeshClass {
  init(config: Record<string, unknown>): Promise<HotMesh0332>;
  stop(): Promise<void>;
}

/** HotMesh 0.3.32's worker message (`StreamData`), reduced to what the callbacks read. */
interface StreamData {
  metadata: Record<string, unknown>;
  data: Record<string, unknown>;
}

export interface HotMeshModules {
  HotMesh: HotMeshClass;
  /** ioredis 5's Redis class, which HotMesh's connections are made of. */
  Redis: { prototype: { sendCommand(...args: unknown[]): unknown }; new (url: string): { info(section: string): Promise<string>; flushall(): Promise<unknown>; disconnect(): void } };
  version: string;
}

/** Address of the bench's Redis for a HotMesh process, which runs an engine and both workers. */
export interface HotMeshProcessOptions {
  host: string;
  port: number;
}

/** Loads HotMesh 0.3.32 and its ioredis from bench/hotmesh-0.3.32; run `npm ci` there first. */
export function loadHotMesh(): HotMeshModules {
  if (!existsSync(join(HOTMESH_DIR, 'node_modules', '@hotmeshio', 'hotmesh'))) {
    throw new Error(`HotMesh 0.3.32 is not installed: run npm ci --prefix ${HOTMESH_DIR}`);
  }
  const require = createRequire(join(HOTMESH_DIR, 'package.json'));
  const hotmesh = require('@hotmeshio/hotmesh') as { HotMesh: HotMeshClass };
  const ioredis = require('ioredis') as { default: HotMeshModules['Redis'] };
  const version = (require('@hotmeshio/hotmesh/package.json') as { version: string }).version;
  return { HotMesh: hotmesh.HotMesh, Redis: ioredis.default, version };
}

function workerCallback(compute: (data: Record<string, unknown>) => Record<string, unknown>) {
  return async (message: StreamData): Promise<Record<string, unknown>> => ({
    code: 200,
    status: 'success',
    metadata: { ...message.metadata },
    data: compute(message.data),
  });
}

export async function startHotMesh(modules: HotMeshModules, options: HotMeshProcessOptions): Promise<HotMesh0332> {
  const connection = { class: modules.Redis, options: { host: options.host, port: options.port } };
  return await modules.HotMesh.init({
    appId: 'bench',
    logLevel: 'error',
    engine: { connection },
    workers: [
      { topic: 'bench.first', connection, callback: workerCallback((data) => ({ x: Number(data.n) + 1 })) },
      { topic: 'bench.second', connection, callback: workerCallback((data) => ({ y: Number(data.x) * 2 })) },
    ],
  });
}
