import { parseArgs } from 'node:util';
import { compileManifest } from '../../engine/compiler/compile.ts';
import { UsageError } from '../cli-error.ts';
import { COMMON_OPTIONS, openClient } from './common.ts';

export const usage = `usage: hotmesh deploy FILE [--activate] [--redis URL]
  Validates FILE, compiles it and stores its version in Redis.
  --activate   also make the version the active one`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, activate: { type: 'boolean' } } });
  if (values.help) return help();
  if (positionals.length !== 1) throw new UsageError(`deploy takes one FILE; got ${positionals.length} arguments; see hotmesh deploy --help`);
  const app = compileManifest(positionals[0]);
  const client = await openClient(app.appId, values);
  try {
    const result = await client.deploy(app);
    process.stdout.write(`${result.status} ${app.appId} version ${app.version} (${app.digest})\n`);
    if (values.activate) {
      await client.activate(app.version);
      process.stdout.write(`activated ${app.appId} version ${app.version}\n`);
    }
  } finally {
    await client.stop(0);
  }
  return 0;
}

function help(): number {
  process.stdout.write(`${usage}\n`);
  return 0;
}
