import { HotMesh } from '../../engine/hotmesh.ts';
import { createLogger } from '../../logger.ts';

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Opens a client-only HotMesh (no engine, no workers) for one command. */
export async function openClient(appId: string, values: { redis?: string; 'key-prefix'?: string }): Promise<HotMesh> {
  return HotMesh.init({
    appId,
    redis: { url: values.redis, options: { maxRetriesPerRequest: 2, retryStrategy: (times: number) => (times > 3 ? null : 200) } },
    keyPrefix: values['key-prefix'],
    engine: false,
    logger: createLogger({}, process.env.HOTMESH_LOG_LEVEL ?? 'warn'),
  });
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
