// npm run demo: the whole loop on one machine. It starts a Redis on loopback
// (unless HOTMESH_REDIS_URL is set), runs the operator on config/samples/,
// publishes orders with a progress bar, prints every scaling decision, and
// ends with a summary once the workers are back at their minimum.
//
// By default the operator runs in local mode with no cluster (edits to the
// samples roll out as a Git sync would). With --cluster it runs against the
// test control plane's apiserver (cluster-demo.ts).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HotMesh } from '../../engine/hotmesh.ts';
import { createLogger } from '../../logger.ts';
import { startLocalRedis } from '../../local/redis.ts';
import { LocalDemoDriver, waitFor, type DemoDriver, type DemoDriverOptions } from './demo-driver.ts';
import { REPO_ROOT } from './process-pool.ts';

const options = {
  jobs: { type: 'string', default: '10000' },
  samples: { type: 'string', default: join(REPO_ROOT, 'config', 'samples') },
  'no-wait': { type: 'boolean' },
  cluster: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
let parsed: ReturnType<typeof parseArgs<{ options: typeof options }>>;
try {
  parsed = parseArgs({ options });
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}; see npm run demo -- --help\n`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(`usage: npm run demo -- [--jobs N] [--samples DIR] [--no-wait] [--cluster]
  --jobs N       orders to publish (default 10000)
  --samples DIR  folder of HotMeshApp and HotMeshWorker files (default config/samples);
                 in local mode, edits to its files roll out while the demo runs.
                 The workers' simulated work per message is ORDERS_WORK_MS in the
                 HotMeshWorker templates (5 ms in the samples)
  --no-wait      end once the jobs complete, without waiting for scale-down
  --cluster      run \`hotmesh operator\` against the test control plane: the one of
                 npm run cluster:up when its apiserver is ready, else one started
                 for the demo. Needs npm run cluster:build (Go) first
The demo uses HOTMESH_REDIS_URL when set, else starts a private redis-server.\n`);
  process.exit(0);
}
const total = Number(values.jobs);
if (!Number.isInteger(total) || total <= 0) {
  process.stderr.write(`demo: --jobs must be a positive whole number; got ${values.jobs}\n`);
  process.exit(2);
}
let clusterDemo: typeof import('./cluster-demo.ts') | undefined;
if (values.cluster) {
  clusterDemo = await import('./cluster-demo.ts');
  const unavailable = await clusterDemo.clusterDemoUnavailable();
  if (unavailable) {
    process.stderr.write(`demo --cluster: ${unavailable}\n`);
    process.exit(2);
  }
}
process.env.HOTMESH_LOG_LEVEL ??= 'warn';

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
let progressShown = false;
const say = (line: string): void => {
  if (progressShown) process.stderr.write('\r\x1b[K');
  process.stdout.write(`${elapsed()}  ${line}\n`);
  progressShown = false;
};

const redis = await startLocalRedis();
say(`redis ${redis.url}${redis.started ? ' (started for this demo)' : ''}`);
const logger = createLogger({ component: 'demo' }, process.env.HOTMESH_LOG_LEVEL);
const replicaTimeline: Array<{ at: number; replicas: Record<string, number> }> = [];
const driverOptions: DemoDriverOptions = {
  samples: values.samples!,
  redisUrl: redis.url,
  logger,
  say,
  onEvent: (event) => {
    if (event.type === 'Warning' || /Scale|Fallback|Activated|Deployed|Compile|Conflict|Mismatch|NotDeployed/i.test(event.reason)) {
      say(`${event.kind}/${event.name} ${event.reason}: ${event.message}`);
    }
  },
};
const driver: DemoDriver = clusterDemo ? new clusterDemo.ClusterDemoDriver(driverOptions) : new LocalDemoDriver(driverOptions);

const sampler = setInterval(() => replicaTimeline.push({ at: Date.now() - started, replicas: driver.replicas() }), 1000);
let progress: NodeJS.Timeout | undefined;
let client: HotMesh | undefined;
let cleaning: Promise<void> | undefined;
const cleanUp = async (failed: boolean): Promise<void> => {
  cleaning ??= (async () => {
    clearInterval(sampler);
    clearInterval(progress);
    await client?.stop(0);
    await driver.stop(failed);
    await redis.stop();
  })();
  await cleaning;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal} received; cleaning up`);
    void cleanUp(true).finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  });
}

let failed = true;
try {
  const app = await driver.start();
  say(`HotMeshApp ${app.name} is Ready on version ${app.activeVersion}`);

  client = await HotMesh.init({ appId: app.appId, redis: { url: redis.url }, engine: false, logger });
  const latencies: number[] = [];
  const startedAt = new Map<string, number>();
  let completed = 0;
  await client.psub('order.completed.*', (_topic, output) => {
    const begin = startedAt.get(output.metadata.jid);
    if (begin === undefined) return;
    startedAt.delete(output.metadata.jid);
    latencies.push(Date.now() - begin);
    completed++;
  });

  const publishStarted = Date.now();
  const countries = ['us', 'de', 'jp', 'br', 'in'];
  // A progress line needs a terminal; piped output gets the event lines only.
  const interactive = process.stderr.isTTY === true;
  progress = setInterval(() => {
    if (!interactive) return;
    const rate = completed / Math.max(0.001, (Date.now() - publishStarted) / 1000);
    const width = 30;
    const filled = Math.round((completed / total) * width);
    const workers = Object.entries(driver.replicas()).map(([name, count]) => `${name}=${count}`).join(' ');
    process.stderr.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${completed}/${total} jobs  ${Math.round(rate)}/s  ${workers}`);
    progressShown = true;
  }, 250);
  // Orders arrive in bursts of 500, as a busy shop would send them.
  const batch = 500;
  for (let first = 0; first < total; first += batch) {
    const pubs: Array<Promise<string>> = [];
    for (let index = first; index < Math.min(total, first + batch); index++) {
      const id = `order-${started}-${index}`;
      startedAt.set(id, Date.now());
      pubs.push(client.pub('order.placed', { id, amount: (index * 37) % 6000, customer: `c${index % 97}`, country: countries[index % countries.length] }));
    }
    await Promise.all(pubs);
  }
  await waitFor(() => completed >= total, 600_000, `${total} jobs to complete`);
  const seconds = (Date.now() - publishStarted) / 1000;
  clearInterval(progress);
  say(`${completed} jobs completed in ${seconds.toFixed(1)} s`);

  if (!values['no-wait']) {
    say('waiting for the workers to scale back to their minimum');
    await waitFor(() => driver.atMinimum(), 300_000, 'scale-down');
  }

  replicaTimeline.push({ at: Date.now() - started, replicas: driver.replicas() });
  latencies.sort((a, b) => a - b);
  const pick = (quantile: number): number => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))];
  const peak: Record<string, number> = {};
  for (const sample of replicaTimeline) for (const [name, count] of Object.entries(sample.replicas)) peak[name] = Math.max(peak[name] ?? 0, count);
  process.stdout.write(`
summary
  jobs completed   ${completed} of ${total}
  throughput       ${Math.round(completed / seconds)} jobs/s
  latency          p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms, publish to completion: the orders
                   arrive as one burst, so this is mostly time queued while the
                   workers scale up, orders-ship from zero
  peak replicas    ${Object.entries(peak).map(([name, count]) => `${name} ${count}`).join(', ')}
  replicas over time (every 5 s)
${timeline(replicaTimeline)}
`);
  failed = false;
} finally {
  await cleanUp(failed);
}

function timeline(samples: Array<{ at: number; replicas: Record<string, number> }>): string {
  const names = [...new Set(samples.flatMap((sample) => Object.keys(sample.replicas)))];
  const rows = samples.filter((_, index) => index % 5 === 0 || index === samples.length - 1);
  return rows.map((sample, index) => {
    // The last row is the state at the end, which may fall in the same second as the one before.
    const time = index === rows.length - 1 ? '   end' : `${String(Math.round(sample.at / 1000)).padStart(4)} s`;
    return `    ${time}  ${names.map((name) => `${name} ${sample.replicas[name] ?? 0}`).join('  ')}`;
  }).join('\n');
}
