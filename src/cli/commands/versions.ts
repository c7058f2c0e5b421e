import { parseArgs } from 'node:util';
import { UsageError } from '../cli-error.ts';
import { formatTable } from '../table.ts';
import { COMMON_OPTIONS, openClient, printJson, redactUrl } from './common.ts';

export const usage = `usage: hotmesh versions APP_ID [--json] [--redis URL]
  Lists the deployed versions of an app: digest, deploy and activation times, live jobs.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('versions takes APP_ID; see hotmesh versions --help');
  const client = await openClient(positionals[0], values);
  try {
    const versions = await client.listVersions();
    if (values.json) {
      printJson(versions);
      return 0;
    }
    if (versions.length === 0) {
      process.stdout.write(`no version of app ${positionals[0]} is deployed in ${redactUrl(client.redisUrl)}\n`);
      return 0;
    }
    const rows = versions.map((record) => [
      record.active ? `${record.version} *` : record.version,
      record.digest.slice(0, 19),
      record.deployedAt,
      record.activatedAt ?? '-',
      String(record.liveJobs),
    ]);
    process.stdout.write(`${formatTable(['VERSION', 'DIGEST', 'DEPLOYED', 'ACTIVATED', 'LIVE JOBS'], rows)}\n* active\n`);
  } finally {
    await client.stop(0);
  }
  return 0;
}
