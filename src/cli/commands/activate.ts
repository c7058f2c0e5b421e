import { parseArgs } from 'node:util';
import { UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient } from './common.ts';

export const usage = `usage: hotmesh activate APP_ID VERSION [--redis URL]
  Makes a deployed VERSION the active one on every engine of the app.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMMON_OPTIONS });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`activate takes APP_ID and VERSION; see hotmesh activate --help`);
  const [appId, version] = positionals;
  const client = await openClient(appId, values);
  try {
    const { previous } = await client.activate(version);
    process.stdout.write(`activated ${appId} version ${version}${previous && previous !== version ? ` (was ${previous})` : ''}\n`);
    // Every process re-reads the active version on its next heartbeat, even
    // one whose pub/sub connection missed the message; report the stragglers.
    const processes = await client.rollCall(500);
    const lagging = processes.filter((profile) => profile.engine && profile.version !== version);
    const engines = processes.filter((profile) => profile.engine).length;
    if (lagging.length === 0) process.stdout.write(`${engines} engine${engines === 1 ? '' : 's'} on version ${version}\n`);
    else process.stdout.write(`${engines - lagging.length} of ${engines} engines on version ${version}; not yet: ${lagging.map((profile) => profile.guid).join(', ')} (they switch within one heartbeat)\n`);
  } finally {
    await client.stop(0);
  }
  return 0;
}
