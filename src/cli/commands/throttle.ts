import { parseArgs } from 'node:util';
import { HotMeshError } from '../../engine/errors.ts';
import { UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient } from './common.ts';

export const usage = `usage: hotmesh throttle APP_ID [--topic TOPIC | --process GUID] (MS | pause | resume) [--redis URL]
  Sets a pause of MS milliseconds before every stream read, for the whole app,
  the workers of one topic, or one process (a GUID from hotmesh rollcall).
  pause stops reading; resume removes the setting. Persisted in Redis, so
  processes that start later inherit it; nothing queued is lost.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, topic: { type: 'string' }, process: { type: 'string' } } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('throttle takes APP_ID and MS, pause or resume; see hotmesh throttle --help');
  if (values.topic && values.process) throw new UsageError('throttle takes --topic or --process, not both');
  const [appId, setting] = positionals;
  let value: number | 'pause' | 'resume';
  if (setting === 'pause' || setting === 'resume') value = setting;
  else if (/^\d+$/.test(setting)) value = Number(setting);
  else throw new UsageError(`throttle must be a whole number of ms, pause or resume; got ${JSON.stringify(setting)}`);
  const client = await openClient(appId, values);
  try {
    if (values.topic) {
      const topics = new Set<string>();
      for (const record of await client.listVersions()) {
        const app = await client.compiledVersion(record.version);
        for (const topic of app.workerTopics) topics.add(topic);
      }
      if (!topics.has(values.topic)) {
        throw new HotMeshError('E_UNKNOWN_TOPIC', `no deployed version of app ${appId} has worker topic ${values.topic}; topics: ${[...topics].sort().join(', ') || 'none'}`);
      }
    }
    await client.throttle(value, { topic: values.topic, guid: values.process });
    let target = `app ${appId}`;
    if (values.topic) target = `topic ${values.topic}`;
    else if (values.process) target = `process ${values.process}`;
    let described = `throttled to ${value} ms per read`;
    if (value === 'pause') described = 'paused';
    else if (value === 'resume') described = 'resumed';
    process.stdout.write(`${target} ${described}\n`);
  } finally {
    await client.stop(0);
  }
  return 0;
}
