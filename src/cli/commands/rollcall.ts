import { parseArgs } from 'node:util';
import { UsageError } from '../cli-error.ts';
import { formatTable } from '../table.ts';
import { COMMON_OPTIONS, openClient, printJson, redactUrl } from './common.ts';

export const usage = `usage: hotmesh rollcall APP_ID [--json] [--redis URL]
  Lists the live engine and worker processes of an app with their version,
  topics, stream depths and throttles. A process that died drops out within
  three heartbeats (6 s by default).`;

function describeThrottle(ms: number): string {
  return ms === -1 ? 'paused' : ms === 0 ? '-' : `${ms}ms`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...COMMON_OPTIONS, json: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('rollcall takes APP_ID; see hotmesh rollcall --help');
  const client = await openClient(positionals[0], values);
  try {
    const processes = await client.rollCall();
    const streams = new Set<string>(['engine']);
    for (const profile of processes) for (const topic of profile.topics) streams.add(topic);
    const depths: Record<string, number> = {};
    for (const stream of streams) {
      depths[stream] = await client.redis.xlen(stream === 'engine' ? client.keys.engineStream() : client.keys.workerStream(stream));
    }
    if (values.json) {
      printJson({ processes, streamDepths: depths });
      return 0;
    }
    if (processes.length === 0) {
      process.stdout.write(`no live engine or worker of app ${positionals[0]} in ${redactUrl(client.redisUrl)}\n`);
      return 0;
    }
    const rows = processes.map((profile) => {
      const roles = [...(profile.engine ? ['engine'] : []), ...profile.topics];
      return [
        profile.guid,
        `${profile.host}:${profile.pid}`,
        profile.version ?? '-',
        roles.join(','),
        roles.map((role) => String(depths[role] ?? 0)).join(','),
        roles.map((role) => describeThrottle(profile.throttles[role] ?? 0)).join(','),
        roles.map((role) => String(profile.busy[role] ?? 0)).join(','),
        profile.heartbeatAt,
      ];
    });
    process.stdout.write(`${formatTable(['PROCESS', 'HOST:PID', 'VERSION', 'ROLES', 'DEPTH', 'THROTTLE', 'BUSY', 'HEARTBEAT'], rows)}\n`);
  } finally {
    await client.stop(0);
  }
  return 0;
}
