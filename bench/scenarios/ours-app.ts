// Our engine's side of the bench: the three-step app, its worker callbacks
// and how a bench process starts an engine with them.
import { join } from 'node:path';
import { HotMesh, type WorkerOptions } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';

export const SEQUENCE_APP = join(import.meta.dirname, '..', 'apps', 'sequence.yaml');
export const SEQUENCE_TOPIC = 'bench.start';

/** Settings of one engine process of the bench. */
export interface OursProcessOptions {
  redisUrl: string;
  appId: string;
  /** Run the engine consumer and timers. */
  engine: boolean;
  /** Serve the two worker topics of the sequence app. */
  workers: boolean;
  /** Messages handled at once per consumer (engine stream and each worker topic). */
  concurrency: number;
}

function sequenceWorkers(concurrency: number): WorkerOptions[] {
  return [
    { topic: 'bench.first', concurrency, callback: async (input) => ({ x: Number(input.n) + 1 }) },
    { topic: 'bench.second', concurrency, callback: async (input) => ({ y: Number(input.x) * 2 }) },
  ];
}

export async function startOurs(options: OursProcessOptions): Promise<HotMesh> {
  return await HotMesh.init({
    appId: options.appId,
    redis: { url: options.redisUrl },
    logger: createLogger({}, process.env.HOTMESH_LOG_LEVEL ?? 'warn'),
    engine: options.engine ? { concurrency: options.concurrency } : false,
    workers: options.workers ? sequenceWorkers(options.concurrency) : [],
  });
}
