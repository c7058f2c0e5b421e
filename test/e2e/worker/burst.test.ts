import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { AppKeys } from '../../../src/engine/store/keys.ts';
import { waitUntil } from '../../support/cluster/e2e.ts';
import {
  applyObject, createApp, idleTemplate, publishJobs, readWorker, ReplicaRecorder, streamLength, useWorkerSuite, waitForJobs, workerCondition,
  workerObject, workerStream, workerTemplate, type WorkerSuite,
} from './worker-harness.ts';

const POLL_SECONDS = 2;
const WINDOW_SECONDS = 15;

/** Samples the worker stream's length every 100 ms. */
class BacklogSampler {
  readonly samples: Array<{ at: number; length: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(suite: WorkerSuite) {
    this.timer = setInterval(() => {
      streamLength(suite).then((length) => this.samples.push({ at: Date.now(), length }), () => undefined);
    }, 100);
  }

  firstAbove(length: number): number | undefined {
    return this.samples.find((sample) => sample.length > length)?.at;
  }

  lastAbove(length: number): number | undefined {
    return this.samples.findLast((sample) => sample.length > length)?.at;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Lines of the pod runner's log about the pods of `prefix`. */
function runnerLog(suite: WorkerSuite, prefix: string): Array<Record<string, unknown>> {
  const text = readFileSync(join(suite.cluster.runner.logDir, 'pod-runner.log'), 'utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => String(entry.pod ?? '').startsWith(prefix));
}

describe('HotMeshWorker: burst and scale-down', function () {
  this.timeout(150_000);
  const suite = useWorkerSuite();

  it('burst scales to max, then drains back', async function () {
    await createApp(suite);
    const kubeConfig = suite.cluster.plane.kubeConfig();
    const maxReplicas = 4;
    const targetPerReplica = 50;
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'charge', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      engine: false,
      template: workerTemplate(10, [{ name: 'HOTMESH_RECLAIM_IDLE_MS', value: '3000' }]),
      scaling: { minReplicas: 1, maxReplicas, targetPerReplica, pollingIntervalSeconds: POLL_SECONDS, scaleDownStabilizationSeconds: WINDOW_SECONDS },
    }));
    const recorder = new ReplicaRecorder(kubeConfig, suite.namespace, 'charge-worker');
    const sampler = new BacklogSampler(suite);
    const trickle: string[] = [];
    let trickling: NodeJS.Timeout | undefined;
    try {
      await waitUntil('one worker is ready', async () => {
        const worker = await readWorker(kubeConfig, suite.namespace, 'charge');
        return workerCondition(worker, 'MetricsAvailable')?.status === 'True' && worker.status?.readyReplicas === 1;
      }, 30_000);

      // Burst: 1,000 short jobs for workers that take one message at a time.
      const burst = await publishJobs(suite, 1000, 20);
      await waitUntil(`the Deployment is scaled to ${maxReplicas}`, () => recorder.current === maxReplicas, 20_000);
      // ceil(backlog / targetPerReplica) reaches the maximum once the backlog passes this.
      const highFrom = sampler.firstAbove((maxReplicas - 1) * targetPerReplica)!;
      expect(highFrom, 'time the backlog first asked for the maximum').to.be.a('number');
      expect(recorder.reachedAt(maxReplicas)! - highFrom, 'ms from the backlog to the maximum').to.be.at.most(POLL_SECONDS * 1000 + 1000);
      expect(recorder.changes.map((change) => change.replicas).slice(0, 2), 'one step from 1 to the maximum').to.deep.equal([1, maxReplicas]);
      expect(await waitForJobs(suite, burst, 90_000)).to.equal(1000);

      // A trickle of 3 s jobs keeps work in hand on every pod while the
      // window runs out, so the scale-down stops pods in the middle of work.
      trickling = setInterval(() => {
        publishJobs(suite, 1, 3000).then((ids) => trickle.push(...ids), () => undefined);
      }, 1000);
      await waitUntil('the Deployment is back at 1', () => recorder.current === 1, (WINDOW_SECONDS + 20) * 1000);
      const lastHigh = sampler.lastAbove((maxReplicas - 1) * targetPerReplica)!;
      const firstDown = recorder.changes.find((change) => change.replicas < maxReplicas && change.at > recorder.reachedAt(maxReplicas)!)!;
      expect(firstDown.at - lastHigh, 'ms from the last high backlog to the first scale-down').to.be.at.least((WINDOW_SECONDS - POLL_SECONDS) * 1000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      clearInterval(trickling);
      trickling = undefined;

      expect(trickle.length).to.be.at.least(WINDOW_SECONDS - 5);
      expect(await waitForJobs(suite, trickle, 60_000)).to.equal(trickle.length);
      const deadLetters = await suite.redisClient().xlen(new AppKeys(suite.appId).deadLetterStream());
      expect(deadLetters, 'dead-lettered messages').to.equal(0);

      // The stopped pods drained: each exited 0 on SIGTERM, none needed SIGKILL.
      const log = runnerLog(suite, `${suite.namespace}/charge-worker-`);
      const exits = log.filter((entry) => entry.message === 'process exited');
      expect(exits.length, 'worker processes stopped by the scale-down').to.be.at.least(maxReplicas - 1);
      expect(exits.map((entry) => entry.exitCode)).to.deep.equal(exits.map(() => 0));
      expect(log.filter((entry) => entry.message === 'process ignored SIGTERM, sending SIGKILL')).to.deep.equal([]);

      const worker = await readWorker(kubeConfig, suite.namespace, 'charge');
      expect(worker.status?.desiredReplicas).to.equal(1);
      expect(worker.status?.lastScaleReason).to.match(/^ScaledDown: /);
    } finally {
      clearInterval(trickling);
      recorder.stop();
      sampler.stop();
    }
  });

  it('oscillating backlog scales down once per window', async function () {
    await createApp(suite);
    const kubeConfig = suite.cluster.plane.kubeConfig();
    const window = 8;
    await applyObject(suite.cluster.plane, workerObject(suite.namespace, 'idle', {
      appRef: { name: 'orders' },
      topics: ['work.item'],
      template: idleTemplate(),
      scaling: { minReplicas: 1, maxReplicas: 5, targetPerReplica: 10, pollingIntervalSeconds: 1, scaleDownStabilizationSeconds: window },
    }));
    const recorder = new ReplicaRecorder(kubeConfig, suite.namespace, 'idle-worker');
    const redis = suite.redisClient();
    const stream = workerStream(suite);
    try {
      await waitUntil('the Deployment runs 1', () => recorder.current === 1, 20_000);
      // No pod reads the stream, so the backlog is exactly what is added here:
      // 60 messages (5 replicas at 10 per replica) for 2 s, then none for 2 s, for 20 s.
      const started = Date.now();
      let lastHigh = 0;
      for (let cycle = 0; cycle < 5; cycle++) {
        const pipeline = redis.pipeline();
        for (let index = 0; index < 60; index++) pipeline.xadd(stream, '*', 'test', String(index));
        await pipeline.exec();
        await new Promise((resolve) => setTimeout(resolve, 2000));
        lastHigh = Date.now();
        await redis.xtrim(stream, 'MAXLEN', 0);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      await waitUntil('the Deployment is back at 1', () => recorder.current === 1 && recorder.changes.length > 1, (window + 10) * 1000);

      const replicas = recorder.changes.map((change) => change.replicas);
      expect(replicas, 'replicas over the oscillation').to.deep.equal([1, 5, 1]);
      expect(recorder.changes[1].at - started).to.be.below(3000);
      expect(recorder.changes[2].at - lastHigh, 'ms from the last high backlog to the scale-down').to.be.at.least((window - 1) * 1000);
    } finally {
      recorder.stop();
    }
  });
});
