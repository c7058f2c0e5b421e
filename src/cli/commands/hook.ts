import { parseArgs } from 'node:util';
import { parseJsonObject, UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient } from './common.ts';

export const usage = `usage: hotmesh hook APP_ID TOPIC JSON [--code CODE] [--redis URL]
  Sends a signal to the hook that a graph's hooks: rule routes TOPIC to.
  Code 200 (default) resumes the hook once; 202 keeps it open for more.
  Prints the signal's stream id.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, code: { type: 'string' } } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError('hook takes APP_ID, TOPIC and JSON; see hotmesh hook --help');
  const [appId, topic, json] = positionals;
  const data = parseJsonObject(json, 'the signal data (JSON)');
  const code = values.code === undefined ? 200 : Number(values.code);
  if (!/^[1-9]\d\d$/.test(String(code))) throw new UsageError(`--code must be a three-digit status code; got ${JSON.stringify(values.code)}`);
  const client = await openClient(appId, values);
  try {
    process.stdout.write(`${await client.hook(topic, data, code === 202 ? 'pending' : 'success', code)}\n`);
  } finally {
    await client.stop(0);
  }
  return 0;
}
