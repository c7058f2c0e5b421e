#!/usr/bin/env node
// The `hotmesh` command line: one file per command under commands/.
import { formatIssue, HotMeshError, ManifestError } from '../engine/errors.ts';
import { UsageError } from './cli-error.ts';

interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  deploy: () => import('./commands/deploy.ts'),
  activate: () => import('./commands/activate.ts'),
  pub: () => import('./commands/pub.ts'),
  job: () => import('./commands/job.ts'),
  engine: () => import('./commands/engine.ts'),
  worker: () => import('./commands/worker.ts'),
  hook: () => import('./commands/hook.ts'),
  versions: () => import('./commands/versions.ts'),
  rollcall: () => import('./commands/rollcall.ts'),
  throttle: () => import('./commands/throttle.ts'),
  operator: () => import('./commands/operator.ts'),
};

const USAGE = `usage: hotmesh COMMAND [ARGS] [--redis URL]

Commands:
  deploy FILE [--activate]              validate, compile and store a version
  activate APP_ID VERSION               make a deployed version the active one
  pub APP_ID TOPIC JSON [--await]       start a job; --await prints its final state
  job APP_ID JOB_ID                     print a job's state as JSON
  hook APP_ID TOPIC JSON                send a signal to the hook a topic routes to
  versions APP_ID                       list deployed versions
  rollcall APP_ID                       list live engines and workers
  throttle APP_ID (MS|pause|resume) [--topic T | --process GUID]
                                        slow down, pause or resume reading
  engine [APP_ID]                       run an engine until SIGTERM
  worker [APP_ID] --module PATH         run workers from a module until SIGTERM
  operator [--leader-elect]             run the Kubernetes controller manager until SIGTERM

--redis URL defaults to HOTMESH_REDIS_URL, else redis://127.0.0.1:6379.
Run hotmesh COMMAND --help for a command's options.`;

/** Runs the CLI and returns the exit code: 0 success, 1 failure, 2 bad input. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`hotmesh: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    const command = await load();
    return await command.run(rest);
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof ManifestError) {
    const [first, ...others] = error.issues;
    process.stderr.write(`hotmesh: ${formatIssue(first)}\n`);
    for (const issue of others) process.stderr.write(`  ${formatIssue(issue)}\n`);
    return 2;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`hotmesh: ${error.message}\n`);
    return 2;
  }
  if (error instanceof HotMeshError) {
    process.stderr.write(`hotmesh: ${error.message} [${error.code}]\n`);
    return 1;
  }
  const code = (error as { code?: unknown }).code;
  if (error instanceof TypeError && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    process.stderr.write(`hotmesh: ${error.message}\n`);
    return 2;
  }
  if (error instanceof TypeError && code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // Node's text reads "Option '--redis <value>' argument missing" for a
    // missing value; other cases, such as a value given to a flag, keep it.
    const option = /(--[\w-]+)/.exec(error.message)?.[1];
    const text = option && error.message.includes('argument missing') ? `${option} needs a value; see hotmesh COMMAND --help` : error.message;
    process.stderr.write(`hotmesh: ${text}\n`);
    return 2;
  }
  process.stderr.write(`hotmesh: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

const exitCode = await main(process.argv.slice(2));
process.exitCode = exitCode;
// Long-running commands return after draining; others may still hold timers.
if (!['engine', 'worker'].includes(process.argv[2] ?? '')) setTimeout(() => process.exit(exitCode), 100).unref();
