import { parseArgs } from 'node:util';
import { HotMesh } from '../../engine/hotmesh.ts';
import { createLogger } from '../../logger.ts';
import { appIdFrom, parsePositiveInt, UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS } from './common.ts';
import { serveUntilSignal } from './serve.ts';

export const usage = `usage: hotmesh engine [APP_ID] [--redis URL] [--concurrency N]
  Runs an engine for the app until SIGTERM: it consumes the engine stream and fires timers.
  APP_ID defaults to HOTMESH_APP_ID and --redis to HOTMESH_REDIS_URL.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, concurrency: { type: 'string' } } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`engine takes at most one APP_ID; see hotmesh engine --help`);
  const appId = appIdFrom(positionals[0]);
  const concurrency = parsePositiveInt(values.concurrency, '--concurrency', 10);
  const hotMesh = await HotMesh.init({
    appId,
    redis: { url: values.redis },
    keyPrefix: values['key-prefix'] ?? process.env.HOTMESH_KEY_PREFIX,
    engine: { concurrency },
    logger: createLogger({ role: 'engine' }),
  });
  return serveUntilSignal(hotMesh);
}
