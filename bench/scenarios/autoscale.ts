// Scenario: autoscaling reaction. A 1,000-job burst lands on a worker topic
// that no worker serves, and the bench polls the autoscaler's decision
// function with the topic's backlog until it first returns more replicas.
// The row is pending until src/operator/autoscaler exists; the orchestrator
// checks for that folder before it starts this process.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { excludeFromCount } from '../lib/measure.ts';
import { scenarioMain } from '../lib/processes.ts';
import { SEQUENCE_APP, SEQUENCE_TOPIC, startOurs } from './ours-app.ts';

const AUTOSCALER_DIR = join(import.meta.dirname, '..', '..', 'src', 'operator', 'autoscaler');

export interface AutoscaleParams {
  redisUrl: string;
  burst: number;
  /** Give up after this long without a scale-up decision, ms. */
  timeoutMs: number;
}

export interface AutoscaleRun {
  burst: number;
  /** From the first pub of the burst to the first decision above the current replicas, ms. */
  reactionMs: number;
  pollMs: number;
  replicas: number;
  reason: string;
}

type AutoscalerModule = typeof import('../../src/operator/autoscaler/index.ts');

async function loadAutoscaler(): Promise<AutoscalerModule> {
  const entry = join(AUTOSCALER_DIR, 'index.ts');
  if (!existsSync(entry)) throw new Error(`${entry} not found; the bench imports the autoscaler from there`);
  return (await import(pathToFileURL(entry).href)) as AutoscalerModule;
}

scenarioMain(async (params: AutoscaleParams): Promise<AutoscaleRun> => {
  const autoscaler = await loadAutoscaler();
  const pollMs = autoscaler.DEFAULT_POLL_INTERVAL_MS;
  const admin = new Redis(params.redisUrl);
  excludeFromCount(admin);
  await admin.flushall();

  // An engine without workers: the burst's work messages wait on the worker stream.
  const hotMesh = await startOurs({ redisUrl: params.redisUrl, appId: 'bench', engine: true, workers: false, concurrency: 100 });
  try {
    await hotMesh.activate((await hotMesh.deploy(SEQUENCE_APP)).version);
    const scaling = autoscaler.resolveScaling({ minReplicas: 1, maxReplicas: 10, targetPerReplica: 100 } as never);
    let history = autoscaler.emptyHistory();
    const throughput = autoscaler.emptyThroughput();
    const current = 1;
    // The controller polls on its own clock: the burst lands at a random
    // point of the polling interval, as it would in a cluster.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * pollMs));
    const began = performance.now();
    await Promise.all(Array.from({ length: params.burst }, (_, n) => hotMesh.pub(SEQUENCE_TOPIC, { n })));
    let nextPoll = began + Math.random() * pollMs;
    while (performance.now() - began < params.timeoutMs) {
      const wait = nextPoll - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      nextPoll += pollMs;
      const sample = await autoscaler.readBacklog(admin, hotMesh.keys, ['bench.first'], scaling, current, throughput, Date.now());
      const decision = autoscaler.decide(scaling, current, sample, history, Date.now());
      history = decision.history;
      if (decision.replicas > current) {
        return { burst: params.burst, reactionMs: performance.now() - began, pollMs, replicas: decision.replicas, reason: decision.reason };
      }
    }
    throw new Error(`the autoscaler did not scale up within ${params.timeoutMs} ms of a ${params.burst}-job burst`);
  } finally {
    await hotMesh.stop(1000);
    admin.disconnect();
  }
});
