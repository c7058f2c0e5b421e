import { parseArgs } from 'node:util';
import { JobFailedError, JobTimeoutError } from '../../engine/errors.ts';
import { parseJsonObject, parsePositiveInt, UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient, printJson } from './common.ts';

export const usage = `usage: hotmesh pub APP_ID TOPIC JSON [--await] [--timeout MS] [--id JOB_ID] [--redis URL]
  Starts a job and prints its id.
  --await        wait for the job and print its final state; exit 1 when it fails or times out
  --timeout MS   how long --await waits (default 60000)
  --id JOB_ID    the job id, instead of the graph's stats.id or a generated one`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON_OPTIONS, await: { type: 'boolean' }, timeout: { type: 'string' }, id: { type: 'string' } },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 3) throw new UsageError(`pub takes APP_ID, TOPIC and JSON; see hotmesh pub --help`);
  const [appId, topic, json] = positionals;
  const data = parseJsonObject(json, 'the job input (JSON)');
  const timeout = parsePositiveInt(values.timeout, '--timeout', 60_000);
  const client = await openClient(appId, values);
  try {
    if (!values.await) {
      process.stdout.write(`${await client.pub(topic, data, { id: values.id })}\n`);
      return 0;
    }
    try {
      printJson(await client.pubsub(topic, data, { id: values.id, timeout }));
      return 0;
    } catch (error) {
      if (error instanceof JobFailedError) {
        printJson(await client.getState(error.jobId));
        process.stderr.write(`hotmesh: job ${error.jobId} failed with code ${error.status}: ${error.message}\n`);
        return 1;
      }
      if (error instanceof JobTimeoutError) {
        process.stderr.write(`hotmesh: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  } finally {
    await client.stop(0);
  }
}
