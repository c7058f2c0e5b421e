import { expect } from 'chai';
import { readBacklog, emptyThroughput } from '../../../src/operator/autoscaler/metrics.ts';
import { resolveScaling } from '../../../src/operator/autoscaler/decide.ts';
import { AppKeys, WORKER_GROUP } from '../../../src/engine/store/keys.ts';
import { RedisPool } from '../../../src/operator/app/redis-pool.ts';
import { BacklogPoller } from '../../../src/operator/worker/backlog-poller.ts';
import { quietLogger } from '../../support/logger.ts';
import { RedisServer } from '../../support/redis-server.ts';

describe('backlog metrics', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  const keys = new AppKeys('orders');
  const stream = keys.workerStream('pay.charge');

  before(async () => { redis = await RedisServer.start(); });
  after(async () => { await redis.stop(); });

  const scaling = (metric: string) => resolveScaling({ maxReplicas: 10, metric } as never);

  it('counts a missing stream as zero and says it is missing', async () => {
    const client = redis.client();
    const sample = await readBacklog(client, keys, ['pay.charge'], scaling('streamLength'), 0, emptyThroughput(), Date.now());
    expect(sample).to.deep.equal({ ok: true, backlog: { 'pay.charge': 0 }, missing: ['pay.charge'], throughputPerReplica: undefined });
    client.disconnect();
  });

  it('counts a stream without a group by its length', async () => {
    const client = redis.client();
    for (let i = 0; i < 7; i++) await client.xadd(stream, '*', 'm', '{}');
    const sample = await readBacklog(client, keys, ['pay.charge'], scaling('lag'), 0, emptyThroughput(), Date.now());
    expect(sample).to.deep.include({ ok: true, backlog: { 'pay.charge': 7 }, missing: ['pay.charge'] });
    client.disconnect();
  });

  it('reads length, lag and pending of a group', async () => {
    const client = redis.client();
    await client.xgroup('CREATE', stream, WORKER_GROUP, '0');
    await client.xreadgroup('GROUP', WORKER_GROUP, 'c1', 'COUNT', 3, 'STREAMS', stream, '>');
    const now = Date.now();
    const length = await readBacklog(client, keys, ['pay.charge'], scaling('streamLength'), 1, emptyThroughput(), now);
    const lag = await readBacklog(client, keys, ['pay.charge'], scaling('lag'), 1, emptyThroughput(), now);
    const pending = await readBacklog(client, keys, ['pay.charge'], scaling('pending'), 1, emptyThroughput(), now);
    expect(length).to.deep.include({ backlog: { 'pay.charge': 7 }, missing: [] });
    expect(lag).to.deep.include({ backlog: { 'pay.charge': 4 } });
    expect(pending).to.deep.include({ backlog: { 'pay.charge': 3 } });
    client.disconnect();
  });

  it('measures throughput per ready replica from entries read', async () => {
    const client = redis.client();
    const throughput = emptyThroughput();
    const start = Date.now();
    // 2 more messages, so some still wait undelivered when the window ends.
    for (let i = 0; i < 2; i++) await client.xadd(stream, '*', 'm', '{}');
    await readBacklog(client, keys, ['pay.charge'], scaling('drainTime'), 2, throughput, start);
    await client.xreadgroup('GROUP', WORKER_GROUP, 'c1', 'COUNT', 4, 'STREAMS', stream, '>');
    const sample = await readBacklog(client, keys, ['pay.charge'], scaling('drainTime'), 2, throughput, start + 2000);
    // 4 messages in 2 s by 2 replicas: 1 message per second per replica.
    expect(sample.ok && sample.throughputPerReplica).to.equal(1);
    client.disconnect();
  });

  it('leaves out a window that starts without a backlog', async () => {
    const client = redis.client();
    const empty = keys.workerStream('pay.empty');
    await client.xgroup('CREATE', empty, WORKER_GROUP, '0', 'MKSTREAM');
    const throughput = emptyThroughput();
    const start = Date.now();
    const topic = ['pay.empty'];
    await readBacklog(client, keys, topic, scaling('drainTime'), 1, throughput, start);
    // Work arrives during the window: the replica was idle until then.
    for (let index = 0; index < 6; index++) await client.xadd(empty, '*', 'm', String(index));
    await client.xreadgroup('GROUP', WORKER_GROUP, 'c1', 'COUNT', 2, 'STREAMS', empty, '>');
    const first = await readBacklog(client, keys, topic, scaling('drainTime'), 1, throughput, start + 2000);
    expect(first).to.have.property('ok', true);
    expect(first).to.have.property('throughputPerReplica', undefined);
    // A window with work waiting at both ends counts.
    await client.xreadgroup('GROUP', WORKER_GROUP, 'c1', 'COUNT', 2, 'STREAMS', empty, '>');
    const second = await readBacklog(client, keys, topic, scaling('drainTime'), 1, throughput, start + 4000);
    expect(second).to.have.property('ok', true);
    expect(second).to.have.property('throughputPerReplica', 1);
    // The last 2 are delivered: none waits at the end, so this window is left out.
    await client.xreadgroup('GROUP', WORKER_GROUP, 'c1', 'COUNT', 2, 'STREAMS', empty, '>');
    const third = await readBacklog(client, keys, topic, scaling('drainTime'), 1, throughput, start + 5000);
    expect(third).to.have.property('ok', true);
    expect(third).to.have.property('throughputPerReplica', 1);
    client.disconnect();
  });

  it('holds the running replicas on the first poll after a restart', async () => {
    const pool = new RedisPool(quietLogger());
    const poller = new BacklogPoller({ redis: pool, logger: quietLogger(), onPolled: () => undefined });
    try {
      const quiet = new AppKeys('quiet');
      await redis.client().xgroup('CREATE', quiet.workerStream('pay.charge'), WORKER_GROUP, '0', 'MKSTREAM');
      const target = { redisUrl: redis.url, keys: quiet, topics: ['pay.charge'], mode: 'Internal' as const, scaling: resolveScaling({ minReplicas: 0, maxReplicas: 10, scaleDownStabilizationSeconds: 60 } as never) };
      // A new operator finds 3 replicas running and an empty stream.
      poller.configure('shop/pay', target, 3, 3);
      let decision;
      for (let i = 0; i < 100 && !decision; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        decision = poller.latest('shop/pay')?.decision;
      }
      expect(decision?.replicas).to.equal(3);
      expect(decision?.reason).to.equal('StabilizationWindow');
    } finally {
      poller.stop();
      await pool.close();
    }
  });

  it('fails the sample when Redis does not answer in time', async () => {
    const client = redis.client();
    await client.client('PAUSE', 1500, 'ALL');
    const other = redis.client();
    const sample = await readBacklog(other, keys, ['pay.charge'], scaling('streamLength'), 0, emptyThroughput(), Date.now(), 200);
    expect(sample).to.deep.equal({ ok: false, error: 'Redis did not answer within 200 ms' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    client.disconnect();
    other.disconnect();
  });
});
