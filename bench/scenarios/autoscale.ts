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
const WORKER_GROUP = 'WORKER';

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

/** The decision function's shape as the architecture sketches it: (spec, metrics, history, now) → replicas and reason. */
type Decide = (spec: unknown, metrics: unknown, history: unknown, now: Date) => { replicas: number; reason?: string };

async function loadDecide(): Promise<{ decide: Decide; pollMs: number }> {
  const entry = join(AUTOSCALER_DIR, 'index.ts');
  if (!existsSync(entry)) throw new Error(`${entry} not found; the bench imports the autoscaler from there`);
  const module = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  const decide = module.decide;
  if (typeof decide !== 'function') {
    throw new Error('src/operator/autoscaler/index.ts exports no decide(); adapt bench/scenarios/autoscale.ts to its API');
  }
  const pollMs = typeof module.DEFAULT_POLL_INTERVAL_MS === 'number' ? module.DEFAULT_POLL_INTERVAL_MS : 1000;
  return { decide: decide as Decide, pollMs };
}

scenarioMain(async (params: AutoscaleParams): Promise<AutoscaleRun> => {
  const { decide, pollMs } = await loadDecide();
  const admin = new Redis(params.redisUrl);
  excludeFromCount(admin);
  await admin.flushall();

  // An engine without workers: the burst's work messages wait on the worker stream.
  const hotMesh = await startOurs({ redisUrl: params.redisUrl, appId: 'bench', engine: true, workers: false, concurrency: 100 });
  try {
    await hotMesh.activate((await hotMesh.deploy(SEQUENCE_APP)).version);
    const stream = hotMesh.keys.workerStream('bench.first');
    const began = performance.now();
    await Promise.all(Array.from({ length: params.burst }, (_, n) => hotMesh.pub(SEQUENCE_TOPIC, { n })));

    // NOTE: the spec, metrics and history below follow the architecture
    // sketch; align them with the autoscaler's real types when it lands.
    const spec = { topic: 'bench.first', minReplicas: 1, maxReplicas: 10, targetBacklogPerReplica: 100 };
    const history: unknown[] = [];
    const current = 1;
    while (performance.now() - began < params.timeoutMs) {
      const backlog = await admin.xlen(stream);
      const groups = (await admin.xinfo('GROUPS', stream)) as unknown[][];
      const group = groups.find((fields) => fields[1] === WORKER_GROUP);
      const lag = group ? Number(group[group.indexOf('lag') + 1]) : backlog;
      const metrics = { topic: 'bench.first', backlog, lag, replicas: current };
      const decision = decide(spec, metrics, history, new Date());
      history.push({ at: new Date(), metrics, decision });
      if (decision.replicas > current) {
        return { burst: params.burst, reactionMs: performance.now() - began, pollMs, replicas: decision.replicas, reason: decision.reason ?? '' };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    throw new Error(`the autoscaler did not scale up within ${params.timeoutMs} ms of a ${params.burst}-job burst`);
  } finally {
    await hotMesh.stop(1000);
    admin.disconnect();
  }
});
