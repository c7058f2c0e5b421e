// Runs the quote example end to end: deploys examples/quote/app.yaml into
// Redis, starts an engine and the workers in this process, publishes jobs
// and prints what came back. Uses HOTMESH_REDIS_URL when set; otherwise it
// starts a private redis-server on a free loopback port and stops it after.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HotMesh } from '../../src/index.ts';
import { createLogger } from '../../src/logger.ts';
import { startLocalRedis } from '../../src/local/redis.ts';
import workers from './workers.ts';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '1000' } } });
const count = Number(values.jobs);

const redis = await startLocalRedis();
console.log(`redis: ${redis.url}${redis.started ? ' (private, started for this run)' : ''}`);
const hotMesh = await HotMesh.init({
  appId: 'quote',
  redis: { url: redis.url },
  logger: createLogger({}, process.env.HOTMESH_LOG_LEVEL ?? 'warn'),
  workers: Object.entries(workers).map(([topic, callback]) => ({ topic, callback, concurrency: 50 })),
});
try {
  const deployed = await hotMesh.deploy(join(import.meta.dirname, 'app.yaml'));
  await hotMesh.activate(deployed.version);
  console.log(`deployed and activated quote version ${deployed.version} (${deployed.status})`);

  const first = await hotMesh.pubsub('quote.requested', { sku: 'gadget', quantity: 3, customer: 'ada' });
  console.log('one job:', JSON.stringify(first.data));

  const skus = ['widget', 'gadget', 'gizmo'];
  const started = performance.now();
  const latencies: number[] = [];
  await Promise.all(Array.from({ length: count }, async (_, i) => {
    const begin = performance.now();
    await hotMesh.pubsub('quote.requested', { sku: skus[i % 3], quantity: (i % 7) + 1, customer: `c${i}` });
    latencies.push(performance.now() - begin);
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pick = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
  console.log(`${count} jobs completed in ${seconds.toFixed(2)} s: ${Math.round(count / seconds)} jobs/s, latency p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms`);
} finally {
  await hotMesh.stop(1000);
  await redis.stop();
}
