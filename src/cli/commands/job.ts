import { parseArgs } from 'node:util';
import { UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient, printJson } from './common.ts';

export const usage = `usage: hotmesh job APP_ID JOB_ID [--redis URL]
  Prints a job's state as JSON: {"metadata": …, "data": …}.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMMON_OPTIONS });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`job takes APP_ID and JOB_ID; see hotmesh job --help`);
  const [appId, jobId] = positionals;
  const client = await openClient(appId, values);
  try {
    printJson(await client.getState(jobId));
  } finally {
    await client.stop(0);
  }
  return 0;
}
