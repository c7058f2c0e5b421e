// Checks the bench's client-command counter against Redis MONITOR. Runs a
// few jobs of each system in this process, with MONITOR open on the bench's
// private Redis, and prints the counter's total beside MONITOR's lines from
// clients and from scripts. The counter should match the client lines, and
// an EVALSHA should show up once on the client side however many commands
// its script runs.
// Usage: node bench/verify-command-count.ts [--jobs N]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { countCommandsOf, excludeFromCount, readProcessCounters, runClosedLoop } from './lib/measure.ts';
import { startBenchRedis, type BenchRedis } from './lib/redis-server.ts';
import { startBullMqChain } from './scenarios/bullmq-app.ts';
import { HOTMESH_APP, HOTMESH_TOPIC, loadHotMesh, startHotMesh } from './scenarios/hotmesh-app.ts';
import { SEQUENCE_APP, SEQUENCE_TOPIC, startOurs } from './scenarios/ours-app.ts';

interface System {
  name: string;
  /** Starts the system and returns how to run one job and how to stop. */
  start(redis: BenchRedis): Promise<{ runOne(n: number): Promise<unknown>; stop(): Promise<void> }>;
}

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '200' } } });
const jobs = Number(values.jobs);
const hotMeshModules = loadHotMesh();
countCommandsOf(Redis);
countCommandsOf(hotMeshModules.Redis);

const systems: System[] = [
  {
    name: 'ours',
    start: async (redis) => {
      const hotMesh = await startOurs({ redisUrl: redis.url, appId: 'bench', engine: true, workers: true, concurrency: 100 });
      await hotMesh.activate((await hotMesh.deploy(SEQUENCE_APP)).version);
      return { runOne: (n) => hotMesh.pubsub(SEQUENCE_TOPIC, { n }), stop: () => hotMesh.stop(1000) };
    },
  },
  {
    name: 'BullMQ chain',
    start: async (redis) => {
      const chain = await startBullMqChain(redis.host, redis.port, 100);
      return { runOne: (n) => chain.runOne(n), stop: () => chain.close() };
    },
  },
  {
    name: 'HotMesh 0.3.32',
    start: async (redis) => {
      const hotMesh = await startHotMesh(hotMeshModules, { host: redis.host, port: redis.port });
      await hotMesh.deploy(HOTMESH_APP);
      await hotMesh.activate('1');
      return { runOne: (n) => hotMesh.pubsub(HOTMESH_TOPIC, { n }, null, 60_000), stop: async () => hotMesh.stop() };
    },
  },
];

const redis = await startBenchRedis();
const admin = new Redis(redis.port, redis.host);
excludeFromCount(admin);
try {
  console.log('| system | jobs | counted client commands | MONITOR client lines | MONITOR script lines | EVALSHA client lines |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const system of systems) {
    await admin.flushall();
    const running = await system.start(redis);
    const monitor = await admin.monitor();
    let clientLines = 0;
    let scriptLines = 0;
    let evalshaLines = 0;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') {
        scriptLines++;
        return;
      }
      clientLines++;
      if (String(args[0]).toLowerCase() === 'evalsha') evalshaLines++;
    });
    // MONITOR's reply arrives before the first line it streams, so a PING
    // that returns after it proves the monitor is live.
    await admin.ping();
    const before = readProcessCounters().commands;
    await runClosedLoop(jobs, 50, async (n) => { await running.runOne(n); });
    await running.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const counted = readProcessCounters().commands - before;
    monitor.disconnect();
    console.log(`| ${system.name} | ${jobs} | ${counted} | ${clientLines - 1} | ${scriptLines} | ${evalshaLines} |`);
  }
} finally {
  admin.disconnect();
  await redis.stop();
  process.exit(0);
}
