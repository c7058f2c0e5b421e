import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HotMesh } from '../../engine/hotmesh.ts';
import type { WorkerCallback } from '../../engine/worker-reply.ts';
import { createLogger } from '../../logger.ts';
import { appIdFrom, parsePositiveInt, UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS } from './common.ts';
import { serveUntilSignal } from './serve.ts';

export const usage = `usage: hotmesh worker [APP_ID] --module PATH [--topics T1,T2] [--concurrency N] [--no-engine] [--redis URL]
  Runs workers until SIGTERM. PATH is a module whose default export maps each
  worker topic to an async function of the activity's input.
  --topics        topics to serve (default HOTMESH_TOPICS, else every topic of the module)
  --concurrency   messages handled at once per topic (default 10)
  --no-engine     do not run an engine for the app beside the workers; some engine of
                  the app must then run elsewhere for retries, timers and child jobs
                  (default: run one, unless HOTMESH_ENGINE=false)
  APP_ID defaults to HOTMESH_APP_ID and --redis to HOTMESH_REDIS_URL.`;

/** Loads a worker module and returns its topic → callback map. */
export async function loadWorkerModule(path: string): Promise<Record<string, WorkerCallback>> {
  const url = pathToFileURL(resolve(path)).href;
  let loaded: { default?: unknown };
  try {
    loaded = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`cannot load worker module ${path}: ${(error as Error).message}`);
  }
  const map = loaded.default;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new UsageError(`worker module ${path} must export by default an object mapping topics to functions`);
  }
  for (const [topic, callback] of Object.entries(map)) {
    if (typeof callback !== 'function') throw new UsageError(`worker module ${path}: topic ${topic} maps to ${typeof callback}, not a function`);
  }
  return map as Record<string, WorkerCallback>;
}

function parseBoolean(text: string | undefined): boolean {
  return text !== undefined && ['1', 'true', 'yes', 'on'].includes(text.toLowerCase());
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON_OPTIONS, module: { type: 'string' }, topics: { type: 'string' }, concurrency: { type: 'string' }, engine: { type: 'boolean' }, 'no-engine': { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`worker takes at most one APP_ID; see hotmesh worker --help`);
  const appId = appIdFrom(positionals[0]);
  const modulePath = values.module ?? process.env.HOTMESH_WORKER_MODULE;
  if (!modulePath) throw new UsageError(`worker needs --module PATH (or HOTMESH_WORKER_MODULE); see hotmesh worker --help`);
  const concurrency = parsePositiveInt(values.concurrency ?? process.env.HOTMESH_CONCURRENCY, '--concurrency', 10);
  const callbacks = await loadWorkerModule(modulePath);

  const requested = (values.topics ?? process.env.HOTMESH_TOPICS ?? '').split(',').map((topic) => topic.trim()).filter(Boolean);
  const topics = requested.length > 0 ? requested : Object.keys(callbacks);
  const missing = topics.filter((topic) => !Object.hasOwn(callbacks, topic));
  if (missing.length > 0) throw new UsageError(`worker module ${modulePath} has no function for topic ${missing.join(', ')}; it exports ${Object.keys(callbacks).join(', ') || 'nothing'}`);
  if (topics.length === 0) throw new UsageError(`worker module ${modulePath} exports no topics`);

  const hotMesh = await HotMesh.init({
    appId,
    redis: { url: values.redis },
    keyPrefix: values['key-prefix'] ?? process.env.HOTMESH_KEY_PREFIX,
    engine: values['no-engine'] ? false : values.engine ?? parseBoolean(process.env.HOTMESH_ENGINE ?? 'true'),
    workers: topics.map((topic) => ({ topic, callback: callbacks[topic], concurrency })),
    logger: createLogger({ role: 'worker' }),
  });
  return serveUntilSignal(hotMesh);
}
