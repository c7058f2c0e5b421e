import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DuplicateJobError, JobFailedError, reply } from '../../../src/index.ts';
import { AppHarness, sleep } from '../../support/app-harness.ts';
import { startCli, waitFor, waitForExit } from '../../support/cli.ts';
import { quietLogger, MemoryTransport } from '../../support/logger.ts';
import { RedisServer } from '../../support/redis-server.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import chainWorkers, { chainManifest } from '../../fixtures/chain.ts';

const workerModule = join(import.meta.dirname, '../../fixtures/chain.ts');
const workers = Object.entries(chainWorkers).map(([topic, callback]) => ({ topic, callback }));

/** Reads how many times each worker leg of a chain job was applied, from Redis. */
async function legCounts(redis: RedisServer, jobId: string): Promise<{ status: number; a: number; b: number; vrs: string; data: string[] }> {
  const client = redis.client();
  const [status, a, b, vrs] = await client.hmget(`hmsh:{chain}:j:${jobId}`, ':', 'r/a,0,0', 'r/b,0,0,0', 'm/vrs');
  const data = await client.hmget(`hmsh:{chain}:j:${jobId}`, 'd/b', 'd/finishedOn');
  client.disconnect();
  return { status: Number(status), a: Number(a ?? 0), b: Number(b ?? 0), vrs: JSON.parse(vrs ?? '""'), data: data.map((value) => JSON.parse(value ?? 'null')) };
}

describe('durability', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await waitForExit(child).catch(() => undefined);
      }
    }
  });

  describe('job ids', () => {
    let harness: AppHarness;
    before(async () => { harness = await AppHarness.start(); });
    after(async () => { await harness.close(); });

    it('keeps exactly one job under 20 concurrent duplicates', async () => {
      const hotMesh = await harness.deployed(chainManifest('1'), workers);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => hotMesh.pub('chain.start', { id: 'same', n: 1 })));
      const fulfilled = results.filter((result) => result.status === 'fulfilled');
      const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(fulfilled).to.have.length(1);
      expect(rejected).to.have.length(19);
      for (const result of rejected) {
        expect(result.reason).to.be.instanceOf(DuplicateJobError);
        expect((result.reason as DuplicateJobError).jobId).to.equal('same');
      }
      await waitFor(async () => (await hotMesh.getStatus('same')) === 0, 5000, 'the job');
      expect(await legCounts(harness.redis, 'same')).to.deep.include({ a: 1, b: 1 });
      try {
        await hotMesh.pub('chain.start', { id: 'same', n: 1 });
        expect.fail('a finished job id is still taken until it expires');
      } catch (error) {
        expect(error).to.be.instanceOf(DuplicateJobError);
      }
    });

    it('accepts the id again once the job expired', async () => {
      const hotMesh = await harness.hotMesh('chain', workers);
      await hotMesh.pubsub('chain.start', { id: 'expiring', n: 1 });
      const client = harness.redis.client();
      await client.del('hmsh:{chain}:j:expiring');
      client.disconnect();
      expect(await hotMesh.pub('chain.start', { id: 'expiring', n: 2 })).to.equal('expiring');
    });
  });

  describe('failures', () => {
    let harness: AppHarness;
    before(async () => { harness = await AppHarness.start(); });
    after(async () => { await harness.close(); });

    it('fails the job with the last error once retries are exhausted', async () => {
      let attempts = 0;
      const failing = [{ topic: 'chain.a', callback: async () => { attempts++; throw new Error(`boom ${attempts}`); } }, workers[1]];
      const hotMesh = await harness.deployed(chainManifest('1'), failing);
      try {
        await hotMesh.pubsub('chain.start', { id: 'exhausted', n: 1 }, { timeout: 10_000 });
        expect.fail('expected the job to fail');
      } catch (error) {
        expect(error).to.be.instanceOf(JobFailedError);
        expect((error as JobFailedError).status).to.equal(500);
        expect((error as JobFailedError).message).to.equal('boom 2');
      }
      expect(attempts).to.equal(2);
    });

    it('takes the error transition when the graph has one', async () => {
      const manifest = `
app:
  id: routed
  version: '1'
  graphs:
    - subscribes: routed.start
      activities:
        t1: { type: trigger }
        w1:
          type: worker
          topic: routed.work
          retry: { maximumAttempts: 2, initialInterval: 20ms }
        recover:
          type: hook
          job: { maps: { recovered: '{w1.output.metadata.err.message}' } }
      transitions:
        t1: [ { to: w1 } ]
        w1:
          - to: recover
            conditions: { code: 500 }
`;
      const hotMesh = await harness.deployed(manifest, [{ topic: 'routed.work', callback: async () => { throw new Error('always'); } }]);
      const output = await hotMesh.pubsub('routed.start', {}, { timeout: 10_000 });
      expect(output.data).to.deep.equal({ recovered: 'always' });
      expect(output.metadata.err).to.equal(undefined);
    });

    it('dead-letters a message that crashes its worker every time', async () => {
      // A harness of its own: the failing workers of the tests above must not take the message.
      const own = await AppHarness.start();
      const hotMesh = await own.deployed(chainManifest('1'), [workers[1]]);
      const env = { HOTMESH_REDIS_URL: own.redis.url, HOTMESH_FAULTS: 'worker.after-callback', HOTMESH_RECLAIM_IDLE_MS: '400', HOTMESH_MAX_DELIVERIES: '3' };
      let starts = 0;
      let stop = false;
      // Restarts the crashing worker, as a Deployment would.
      const supervise = (async () => {
        while (!stop) {
          const worker = startCli(['worker', 'chain', '--module', workerModule, '--topics', 'chain.a', '--no-engine'], env);
          children.push(worker);
          starts++;
          await waitForExit(worker, 60_000);
        }
      })();
      try {
        await hotMesh.pubsub('chain.start', { id: 'poison', n: 1 }, { timeout: 30_000 });
        expect.fail('expected the job to fail');
      } catch (error) {
        expect(error).to.be.instanceOf(JobFailedError);
        expect((error as JobFailedError).status, (error as JobFailedError).message).to.equal(999);
        expect((error as JobFailedError).message).to.match(/failed 4 times and was moved to the dead-letter stream/);
        expect((error as JobFailedError).error.kind).to.equal('E_DEAD_LETTER');
      } finally {
        stop = true;
      }
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await supervise;
      expect(starts).to.be.at.least(3);
      const client = own.redis.client();
      const dead = await client.xrange('hmsh:{chain}:dlq', '-', '+');
      expect(dead).to.have.length(1);
      expect(dead[0][1]).to.include('hmsh:{chain}:x:chain.a');
      client.disconnect();
      await own.close();
    });
  });

  describe('crash between read and acknowledgement', () => {
    it('completes the step exactly once after a peer reclaims it', async () => {
      const harness = await AppHarness.start();
      try {
        const hotMesh = await harness.deployed(chainManifest('1'), [workers[1]]);
        const dying = startCli(['worker', 'chain', '--module', workerModule, '--topics', 'chain.a', '--no-engine'], { HOTMESH_REDIS_URL: harness.redis.url, HOTMESH_FAULTS: 'worker.after-callback' });
        children.push(dying);
        await waitFor(() => dying.output().includes('hotmesh started'), 15_000, 'the dying worker');
        await hotMesh.pub('chain.start', { id: 'crash-1', n: 20 });
        await waitForExit(dying, 15_000);
        const peer = await harness.hotMesh('chain', [{ ...workers[0], reclaimIdleMs: 500 }]);
        void peer;
        await waitFor(async () => (await legCounts(harness.redis, 'crash-1')).status === 0, 15_000, 'the reclaimed job');
        expect(await legCounts(harness.redis, 'crash-1')).to.deep.equal({ status: 0, a: 1, b: 1, vrs: '1', data: [42, '1'] });
      } finally {
        await harness.close();
      }
    });
  });

  describe('long callbacks', () => {
    it('keeps a message a live worker is handling from its peers', async () => {
      const harness = await AppHarness.start();
      try {
        let calls = 0;
        const slow = { topic: 'chain.a', reclaimIdleMs: 300, maxDeliveries: 2, callback: async (input: Record<string, unknown>) => { calls++; await sleep(1200); return { a: Number(input.n) + 1 }; } };
        const hotMesh = await harness.deployed(chainManifest('1'), [slow, workers[1]]);
        await harness.hotMesh('chain', [{ ...slow }]);
        const output = await hotMesh.pubsub('chain.start', { id: 'long-1', n: 1 }, { timeout: 10_000 });
        expect(output.data.b).to.equal(4);
        expect(calls).to.equal(1);
        const client = harness.redis.client();
        expect(await client.xlen('hmsh:{chain}:dlq')).to.equal(0);
        client.disconnect();
      } finally {
        await harness.close();
      }
    });
  });

  describe('version pinning', () => {
    it('finishes parked jobs on the version they started on', async () => {
      const harness = await AppHarness.start();
      try {
        const hotMesh = await harness.deployed(chainManifest('1'), workers);
        const ids = Array.from({ length: 100 }, (_, i) => `pinned-${i}`);
        await Promise.all(ids.map((id, i) => hotMesh.pub('chain.start', { id, n: i, wait: true })));
        await hotMesh.deploy(chainManifest('2'));
        await hotMesh.activate('2');
        const fresh = await hotMesh.pubsub('chain.start', { id: 'fresh', n: 1 });
        expect(fresh.metadata.vrs).to.equal('2');
        expect(fresh.data.finishedOn).to.equal('2');
        for (const id of ids) await hotMesh.hook('chain.resume', { id });
        await waitFor(async () => {
          for (const id of ids) if ((await legCounts(harness.redis, id)).status !== 0) return false;
          return true;
        }, 20_000, '100 parked jobs');
        for (const [i, id] of ids.entries()) {
          const state = await hotMesh.getState(id);
          expect(state.metadata.vrs, id).to.equal('1');
          expect(state.data, id).to.deep.equal({ parkedOn: '1', a: i + 1, b: (i + 1) * 2, finishedOn: '1' });
        }
      } finally {
        await harness.close();
      }
    });
  });

  describe('lost messages', () => {
    it('fails jobs whose pending messages were trimmed', async () => {
      const harness = await AppHarness.start();
      try {
        const client = await harness.deployed(chainManifest('1'), []);
        for (const id of ['trim-1', 'trim-2', 'trim-3']) await client.pub('chain.start', { id, n: 1 });
        const redis = harness.redis.client();
        const stream = 'hmsh:{chain}:x:chain.a';
        // A consumer reads all three and dies; then two of them are trimmed away.
        await redis.xreadgroup('GROUP', 'WORKER', 'dead-consumer', 'COUNT', 10, 'STREAMS', stream, '>');
        const entries = await redis.xrange(stream, '-', '+');
        await redis.xdel(stream, entries[0][0], entries[1][0]);
        await harness.hotMesh('chain', [{ ...workers[0], reclaimIdleMs: 300 }, workers[1]]);
        await waitFor(async () => {
          const states = await Promise.all(['trim-1', 'trim-2', 'trim-3'].map((id) => legCounts(harness.redis, id)));
          return states.every((state) => state.status <= 0);
        }, 15_000, 'all three jobs to end');
        const failed = await Promise.all(['trim-1', 'trim-2'].map((id) => client.getState(id)));
        for (const state of failed) expect(state.metadata.err).to.deep.include({ kind: 'E_MESSAGE_LOST', code: 999 });
        const survivor = await client.getState('trim-3');
        expect(survivor.metadata.err).to.equal(undefined);
        expect(survivor.data.b).to.equal(4);
        expect(await redis.xpending(stream, 'WORKER')).to.deep.equal([0, null, null, null]);
        expect(await redis.hlen('hmsh:{chain}:inflight')).to.equal(0);
        redis.disconnect();
      } finally {
        await harness.close();
      }
    });
  });

  describe('Redis outages', () => {
    it('loses no accepted job when Redis with AOF is killed and restarted', async () => {
      const redis = await RedisServer.start({ appendOnly: true });
      const harness = { redis } as AppHarness;
      void harness;
      const { HotMesh } = await import('../../../src/index.ts');
      const client = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), engine: false });
      try {
        await client.deploy(chainManifest('1'));
        await client.activate('1');
        for (let i = 0; i < 50; i++) await client.pub('chain.start', { id: `aof-${i}`, n: i });
        await redis.kill();
        await redis.restart();
        const worker = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), workers });
        await waitFor(async () => {
          for (let i = 0; i < 50; i++) if ((await legCounts(redis, `aof-${i}`)).status !== 0) return false;
          return true;
        }, 20_000, '50 jobs after the restart');
        for (let i = 0; i < 50; i++) expect((await legCounts(redis, `aof-${i}`)).data[0]).to.equal((i + 1) * 2);
        await worker.stop(500);
      } finally {
        await client.stop(0);
        await redis.stop();
      }
    });

    it('recreates consumer groups when Redis comes back empty', async () => {
      const redis = await RedisServer.start();
      const { HotMesh } = await import('../../../src/index.ts');
      const memory = new MemoryTransport();
      const hotMesh = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(memory), workers, engine: { blockMs: 500 } });
      try {
        await hotMesh.deploy(chainManifest('1'));
        await hotMesh.activate('1');
        expect((await hotMesh.pubsub('chain.start', { id: 'before', n: 1 })).data.b).to.equal(4);
        await redis.kill();
        await redis.restart();
        await waitFor(() => memory.entries.some((entry) => entry.message === 'consumer group was missing and has been created again; Redis may have lost its data'), 20_000, 'the loud log line');
        const errorsSoon = memory.entries.length;
        await sleep(2000);
        // No hot loop: a handful of lines in two seconds, not thousands.
        expect(memory.entries.length - errorsSoon).to.be.below(50);
        await hotMesh.deploy(chainManifest('1'));
        await hotMesh.activate('1');
        expect((await hotMesh.pubsub('chain.start', { id: 'after', n: 2 }, { timeout: 10_000 })).data.b).to.equal(6);
      } finally {
        await hotMesh.stop(500);
        await redis.stop();
      }
    });

    it('resumes blocking reads after a network cut', async () => {
      const redis = await RedisServer.start();
      const proxy = await TcpProxy.start({ targetPort: redis.port });
      const { HotMesh } = await import('../../../src/index.ts');
      const client = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), engine: false });
      const worker = await HotMesh.init({ appId: 'chain', redis: { url: `redis://127.0.0.1:${proxy.port}` }, logger: quietLogger(), workers, engine: { blockMs: 10_000 } });
      try {
        await client.deploy(chainManifest('1'));
        await client.activate('1');
        expect((await client.pubsub('chain.start', { id: 'pre-cut', n: 1 })).data.b).to.equal(4);
        await proxy.refuse(5000);
        proxy.stall();
        await sleep(5000);
        proxy.resume();
        proxy.cut();
        await proxy.acceptAgain();
        const started = Date.now();
        const output = await client.pubsub('chain.start', { id: 'post-cut', n: 2 }, { timeout: 20_000 });
        expect(output.data.b).to.equal(6);
        expect(Date.now() - started).to.be.below(20_000);
      } finally {
        await worker.stop(500);
        await client.stop(0);
        await proxy.close();
        await redis.stop();
      }
    });
  });

  describe('retry codes', () => {
    it('retries a returned 503 only when the policy lists it', async () => {
      const harness = await AppHarness.start();
      try {
        let calls = 0;
        const manifest = `
app:
  id: codes
  version: '1'
  graphs:
    - subscribes: codes.start
      activities:
        t1: { type: trigger }
        w1:
          type: worker
          topic: codes.work
          retry: { maximumAttempts: 4, initialInterval: 10ms, backoffCoefficient: 2, retryOn: ['5**'] }
          job: { maps: { calls: '{$self.output.data.calls}' } }
      transitions:
        t1: [ { to: w1 } ]
`;
        const hotMesh = await harness.deployed(manifest, [{ topic: 'codes.work', callback: async () => (++calls < 3 ? reply({ code: 503, data: { message: 'busy' } }) : { calls }) }]);
        expect((await hotMesh.pubsub('codes.start', {}, { timeout: 5000 })).data.calls).to.equal(3);
      } finally {
        await harness.close();
      }
    });
  });
});
