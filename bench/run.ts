// `npm run bench`: runs every benchmark against one private redis-server and
// prints one table. Each measured configuration runs in a fresh Node process
// (scenarios/), 3 times by default (--runs), and each cell is the median of
// its metric over those runs. docs/performance.md explains the
// rows and how commands and CPU are counted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProfileSummary, summarizeProfile } from './profile-summary.ts';
import { killChildren, runScenarioProcess } from './lib/processes.ts';
import { startBenchRedis, type BenchRedis } from './lib/redis-server.ts';
import { formatTable, type BenchResults, type RowOutcome } from './lib/report.ts';
import type { ThroughputRun } from './lib/throughput.ts';
import type { AutoscaleParams, AutoscaleRun } from './scenarios/autoscale.ts';
import type { BullMqParams } from './scenarios/bullmq.ts';
import type { HotMeshParams } from './scenarios/hotmesh.ts';
import type { MemoryParams, MemoryRun } from './scenarios/memory.ts';
import type { OperatorIdleParams } from './scenarios/operator-idle.ts';
import type { OursLayout, OursParams } from './scenarios/ours.ts';
import { measureRedisLimit, type RedisLimitRun } from './scenarios/redis-limit.ts';
import type { TimersParams, TimersRun } from './scenarios/timers.ts';

const ROOT = join(import.meta.dirname, '..');
const SCENARIOS = join(import.meta.dirname, 'scenarios');
const OUTPUT_DIR = join(ROOT, '.tmp', 'bench');
const HOTMESH_DIR = join(import.meta.dirname, 'hotmesh-0.3.32');
const ROWS = ['ours', 'hotmesh', 'bullmq', 'limit', 'timers', 'autoscale', 'memory'] as const;
type Row = (typeof ROWS)[number];

const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only ROWS] [--in-flight N] [--concurrency N] [--no-profile]
  --quick          smaller job counts: about 1 minute instead of about 3
  --runs N         measured runs per configuration, each cell the median (default 3)
  --only ROWS      comma-separated subset of: ${ROWS.join(', ')}
  --in-flight N    jobs in flight in every throughput row (default 200)
  --concurrency N  messages handled at once per worker topic, BullMQ queue and engine stream (default 100)
  --no-profile     skip the CPU profile of our one-process run`;

/** Job counts and settings of one bench mode. */
interface Plan {
  /** Jobs in flight for every throughput row, and worker concurrency per topic or queue. */
  inFlight: number;
  concurrency: number;
  oursJobs: number;
  oursWarmup: number;
  hotMeshJobs: number;
  hotMeshWarmup: number;
  bullMqJobs: number;
  bullMqWarmup: number;
  limitRequests: number;
  limitPipelinedRequests: number;
  timerJobs: number;
  memoryIdleMs: number;
  profileJobs: number;
}

const FULL: Plan = {
  inFlight: 200, concurrency: 100,
  oursJobs: 10_000, oursWarmup: 1_000,
  hotMeshJobs: 2_000, hotMeshWarmup: 200,
  bullMqJobs: 10_000, bullMqWarmup: 1_000,
  limitRequests: 200_000, limitPipelinedRequests: 500_000,
  timerJobs: 10_000, memoryIdleMs: 3_000, profileJobs: 20_000,
};

const QUICK: Plan = {
  inFlight: 200, concurrency: 100,
  oursJobs: 3_000, oursWarmup: 300,
  hotMeshJobs: 400, hotMeshWarmup: 100,
  bullMqJobs: 3_000, bullMqWarmup: 300,
  limitRequests: 50_000, limitPipelinedRequests: 150_000,
  timerJobs: 2_000, memoryIdleMs: 1_000, profileJobs: 5_000,
};

function parseOptions(): { plan: Plan; quick: boolean; runs: number; rows: Set<Row>; profile: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        runs: { type: 'string', default: '3' },
        only: { type: 'string' },
        'in-flight': { type: 'string' },
        concurrency: { type: 'string' },
        'no-profile': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positiveInteger = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`--${name} must be a positive integer; got ${text}\n${USAGE}`);
      process.exit(2);
    }
    return value;
  };
  const runs = positiveInteger('runs', parsed.runs);
  const plan = { ...(parsed.quick ? QUICK : FULL) };
  if (parsed['in-flight'] !== undefined) plan.inFlight = positiveInteger('in-flight', parsed['in-flight']);
  if (parsed.concurrency !== undefined) plan.concurrency = positiveInteger('concurrency', parsed.concurrency);
  const rows = new Set<Row>(parsed.only === undefined ? ROWS : []);
  for (const name of parsed.only?.split(',') ?? []) {
    if (!(ROWS as readonly string[]).includes(name)) {
      console.error(`--only: unknown row ${name}; use ${ROWS.join(', ')}\n${USAGE}`);
      process.exit(2);
    }
    rows.add(name as Row);
  }
  return { plan, quick: parsed.quick, runs, rows, profile: !parsed['no-profile'] && rows.has('ours') };
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Runs `once` `runs` times, or reports why it cannot. */
async function repeat<T>(label: string, runs: number, once: () => Promise<T>, describe: (run: T) => string): Promise<RowOutcome<T>> {
  const results: T[] = [];
  for (let i = 1; i <= runs; i++) {
    try {
      const run = await once();
      results.push(run);
      log(`${label} run ${i}/${runs}: ${describe(run)}`);
    } catch (error) {
      const message = (error as Error).message;
      log(`${label} run ${i}/${runs} failed: ${message}`);
      return { failed: message };
    }
  }
  return { runs: results };
}

function describeThroughput(run: ThroughputRun): string {
  return `${Math.round(run.jobsPerSecond)} jobs/s, p99 ${Math.round(run.p99Ms)} ms, ${(run.clientCommands / run.jobs).toFixed(1)} client cmds/job`;
}

const TIMEOUT_MS = 300_000;

async function runOurs(redis: BenchRedis, plan: Plan, runs: number, layout: OursLayout): Promise<RowOutcome<ThroughputRun>> {
  const params: OursParams = { redisUrl: redis.url, layout, jobs: plan.oursJobs, warmupJobs: plan.oursWarmup, inFlight: plan.inFlight, concurrency: plan.concurrency };
  return await repeat(`ours ${layout}`, runs, () => runScenarioProcess<ThroughputRun>(join(SCENARIOS, 'ours.ts'), params, TIMEOUT_MS), describeThroughput);
}

/** Installs HotMesh 0.3.32's own npm project when its node_modules is missing. */
function ensureHotMeshInstalled(): void {
  if (existsSync(join(HOTMESH_DIR, 'node_modules', '@hotmeshio', 'hotmesh'))) return;
  log('installing HotMesh 0.3.32 into bench/hotmesh-0.3.32 (npm ci)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: HOTMESH_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw new Error(`cannot run npm ci in ${HOTMESH_DIR}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`npm ci in ${HOTMESH_DIR} failed with code ${result.status}: ${result.stderr.trim()}`);
}

async function runHotMesh(redis: BenchRedis, plan: Plan, runs: number): Promise<BenchResults['hotMesh']> {
  try {
    ensureHotMeshInstalled();
  } catch (error) {
    const failed = { failed: (error as Error).message };
    return { oneProcess: failed, twoProcesses: failed, version: '0.3.32' };
  }
  const outcome = async (processes: 1 | 2): Promise<RowOutcome<ThroughputRun & { version: string }>> => {
    const params: HotMeshParams = { host: redis.host, port: redis.port, processes, jobs: plan.hotMeshJobs, warmupJobs: plan.hotMeshWarmup, inFlight: plan.inFlight };
    return await repeat(`HotMesh ${processes} process(es)`, runs, () => runScenarioProcess<ThroughputRun & { version: string }>(join(SCENARIOS, 'hotmesh.ts'), params, TIMEOUT_MS), describeThroughput);
  };
  const oneProcess = await outcome(1);
  const twoProcesses = await outcome(2);
  const version = 'runs' in oneProcess ? oneProcess.runs[0].version : '0.3.32';
  return { oneProcess, twoProcesses, version };
}

async function runBullMq(redis: BenchRedis, plan: Plan, runs: number): Promise<BenchResults['bullMq']> {
  const params: BullMqParams = { host: redis.host, port: redis.port, jobs: plan.bullMqJobs, warmupJobs: plan.bullMqWarmup, inFlight: plan.inFlight, concurrency: plan.concurrency };
  const chain = await repeat('BullMQ chain', runs, () => runScenarioProcess<ThroughputRun & { version: string }>(join(SCENARIOS, 'bullmq.ts'), params, TIMEOUT_MS), describeThroughput);
  return { chain, version: 'runs' in chain ? chain.runs[0].version : 'latest' };
}

async function runLimit(redis: BenchRedis, plan: Plan, runs: number): Promise<BenchResults['limit']> {
  const describe = (run: RedisLimitRun): string => `${Math.round(run.callsPerSecond)} calls/s`;
  return {
    unpipelined: await repeat('Redis limit unpipelined', runs, () => measureRedisLimit(redis, plan.limitRequests, 1), describe),
    pipelined: await repeat('Redis limit pipelined', runs, () => measureRedisLimit(redis, plan.limitPipelinedRequests, 16), describe),
  };
}

async function runTimers(redis: BenchRedis, plan: Plan, runs: number): Promise<RowOutcome<TimersRun>> {
  const params: TimersParams = { redisUrl: redis.url, jobs: plan.timerJobs, warmupJobs: 200, smallJobs: 100, concurrency: plan.concurrency };
  return await repeat('timers', runs, () => runScenarioProcess<TimersRun>(join(SCENARIOS, 'timers.ts'), params, TIMEOUT_MS),
    (run) => `lateness p50 ${Math.round(run.p50Ms)} ms, p99 ${Math.round(run.p99Ms)} ms, max ${Math.round(run.maxMs)} ms; ${run.smallJobs} sleeps: max ${Math.round(run.smallMaxMs)} ms`);
}

async function runAutoscale(redis: BenchRedis, runs: number): Promise<RowOutcome<AutoscaleRun>> {
  if (!existsSync(join(ROOT, 'src', 'operator', 'autoscaler'))) return { pending: 'autoscaler not built' };
  const params: AutoscaleParams = { redisUrl: redis.url, burst: 1000, timeoutMs: 120_000 };
  return await repeat('autoscale', runs, () => runScenarioProcess<AutoscaleRun>(join(SCENARIOS, 'autoscale.ts'), params, TIMEOUT_MS),
    (run) => `first scale-up after ${Math.round(run.reactionMs)} ms`);
}

async function runMemory(redis: BenchRedis, plan: Plan, runs: number): Promise<BenchResults['memory']> {
  const params: MemoryParams = { redisUrl: redis.url, jobs: plan.oursJobs, inFlight: plan.inFlight, concurrency: plan.concurrency, idleMs: plan.memoryIdleMs };
  const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;
  const engine = await repeat('memory', runs, () => runScenarioProcess<MemoryRun>(join(SCENARIOS, 'memory.ts'), params, TIMEOUT_MS),
    (run) => `idle ${mib(run.idleRss)}, peak ${mib(run.peakRss)}`);
  if (!existsSync(join(ROOT, 'src', 'operator'))) return { engine, operator: { pending: 'src/operator not built' } };
  const operatorParams: OperatorIdleParams = { idleMs: plan.memoryIdleMs, redisUrl: redis.url };
  const operator = await repeat('operator memory', runs, () => runScenarioProcess<{ rss: number }>(join(SCENARIOS, 'operator-idle.ts'), operatorParams, TIMEOUT_MS),
    (run) => `idle ${mib(run.rss)}`);
  return { engine, operator };
}

/** Runs our one-process layout once under `--cpu-prof` and returns the summary of the profile. */
async function profileOurs(redis: BenchRedis, plan: Plan): Promise<string> {
  const dir = join(OUTPUT_DIR, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const params: OursParams = { redisUrl: redis.url, layout: 'one-process', jobs: plan.profileJobs, warmupJobs: plan.oursWarmup, inFlight: plan.inFlight, concurrency: plan.concurrency };
  const run = await runScenarioProcess<ThroughputRun>(join(SCENARIOS, 'ours.ts'), params, TIMEOUT_MS, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`node --cpu-prof wrote no profile into ${dir}`);
  const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), 'utf8')), 15);
  return [
    `CPU profile of the scenario process of row 1a (${plan.profileJobs} jobs, ${Math.round(run.jobsPerSecond)} jobs/s under the profiler, Node CPU ${(run.nodeCpuSeconds / run.seconds).toFixed(2)} cores, Redis CPU ${(run.redisCpuSeconds / run.seconds).toFixed(2)} cores); file ${join(dir, file)}`,
    formatProfileSummary(summary),
  ].join('\n');
}

/** Names the engine code that ran: the commit, and whether src/ had uncommitted changes. */
function describeSource(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return 'engine: not a git checkout';
  const changes = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = changes.stdout.trim() !== '' ? ' with uncommitted changes in src/' : '';
  return `engine: commit ${head.stdout.trim()}${dirty}`;
}

function machineLines(redis: BenchRedis, versions: { bullMq: string; hotMesh: string }, loadBefore: number[], quick: boolean, runs: number, plan: Plan): string[] {
  return [
    describeSource(),
    `machine: ${cpus().length} cores (nproc), ${cpus()[0]?.model ?? 'unknown CPU'}; Redis ${redis.version} (--save '' --appendonly no); Node ${process.version}; BullMQ ${versions.bullMq}; HotMesh ${versions.hotMesh}`,
    `mode: ${quick ? 'quick' : 'full'}, ${runs} runs per row, each cell the median of its metric, ${plan.inFlight} jobs in flight, concurrency ${plan.concurrency}; load average before: ${loadBefore.map((value) => value.toFixed(2)).join(' ')}, after: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`,
  ];
}

async function main(): Promise<void> {
  const options = parseOptions();
  const { plan, runs, rows } = options;
  const loadBefore = loadavg();
  const began = Date.now();
  const redis = await startBenchRedis();
  log(`private redis-server ${redis.version} on ${redis.url}`);

  let stopping = false;
  const stopAll = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping child processes and redis-server`);
    killChildren();
    await redis.stop();
    process.exit(130);
  };
  process.once('SIGINT', () => void stopAll('SIGINT'));
  process.once('SIGTERM', () => void stopAll('SIGTERM'));

  const skipped = <T>(): RowOutcome<T> => ({ pending: 'not selected with --only' });
  const results: BenchResults = {
    ours: { oneProcess: skipped(), twoShared: skipped(), twoSplit: skipped() },
    hotMesh: { oneProcess: skipped(), twoProcesses: skipped(), version: '0.3.32' },
    bullMq: { chain: skipped(), version: 'latest' },
    limit: { unpipelined: skipped(), pipelined: skipped() },
    timers: skipped(),
    autoscale: skipped(),
    memory: { engine: skipped(), operator: skipped() },
  };
  let profile = '';
  try {
    if (rows.has('ours')) {
      results.ours = {
        oneProcess: await runOurs(redis, plan, runs, 'one-process'),
        twoShared: await runOurs(redis, plan, runs, 'two-shared'),
        twoSplit: await runOurs(redis, plan, runs, 'two-split'),
      };
    }
    if (rows.has('hotmesh')) results.hotMesh = await runHotMesh(redis, plan, runs);
    if (rows.has('bullmq')) results.bullMq = await runBullMq(redis, plan, runs);
    if (rows.has('limit')) results.limit = await runLimit(redis, plan, runs);
    if (rows.has('timers')) results.timers = await runTimers(redis, plan, runs);
    if (rows.has('autoscale')) results.autoscale = await runAutoscale(redis, runs);
    if (rows.has('memory')) results.memory = await runMemory(redis, plan, runs);
    if (options.profile) {
      try {
        profile = await profileOurs(redis, plan);
      } catch (error) {
        profile = `profile failed: ${(error as Error).message}`;
      }
    }
  } finally {
    await redis.stop();
  }

  const report = [
    ...machineLines(redis, { bullMq: results.bullMq.version, hotMesh: results.hotMesh.version }, loadBefore, options.quick, runs, plan),
    `took ${Math.round((Date.now() - began) / 1000)} s`,
    '',
    formatTable(results),
    ...(profile ? ['', profile] : []),
  ].join('\n');
  console.log(report);

  mkdirSync(OUTPUT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(OUTPUT_DIR, `${stamp}.md`), `${report}\n`);
  writeFileSync(join(OUTPUT_DIR, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  log(`report and raw runs written to ${join(OUTPUT_DIR, stamp)}.{md,json}`);

  const failed = JSON.stringify(results).includes('"failed"');
  process.exitCode = failed ? 1 : 0;
}

await main();
