import { expect } from 'chai';
import { join } from 'node:path';
import { HotMesh } from '../../../src/index.ts';
import workers from '../../../examples/quote/workers.ts';
import { RedisServer } from '../../support/redis-server.ts';
import { quietLogger } from '../../support/logger.ts';

const manifest = join(import.meta.dirname, '../../../examples/quote/app.yaml');

describe('quote app on the library', function () {
  this.timeout(120_000);
  let redis: RedisServer;
  let hotMesh: HotMesh;

  before(async () => {
    redis = await RedisServer.start();
    hotMesh = await HotMesh.init({
      appId: 'quote',
      redis: { url: redis.url },
      logger: quietLogger(),
      workers: Object.entries(workers).map(([topic, callback]) => ({ topic, callback, concurrency: 50 })),
    });
    await hotMesh.deploy(manifest);
    await hotMesh.activate('1');
  });

  after(async () => {
    await hotMesh?.stop(1000);
    await redis?.stop();
  });

  it('runs one job through the discount branch', async () => {
    const output = await hotMesh.pubsub('quote.requested', { id: 'q-1', sku: 'gadget', quantity: 3, customer: 'ada' }, { timeout: 10_000 });
    expect(output.metadata.jid).to.equal('q-1');
    expect(output.metadata.js).to.equal(0);
    expect(output.data).to.deep.equal({ customer: 'ada', subtotal: 120, discount: 12, total: 108, summary: 'quote for ada with discount' });
  });

  it('runs one job through the flat branch', async () => {
    const output = await hotMesh.pubsub('quote.requested', { id: 'q-2', sku: 'widget', quantity: 2, customer: 'bo' }, { timeout: 10_000 });
    expect(output.data).to.deep.equal({ customer: 'bo', subtotal: 25, discount: 0, total: 25, summary: 'quote for bo' });
  });

  it('runs 1,000 jobs to completion with exact outputs', async () => {
    const skus = ['widget', 'gadget', 'gizmo'];
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ id: `bulk-${i}`, sku: skus[i % 3], quantity: (i % 7) + 1, customer: `c${i}` }));
    const outputs = await Promise.all(jobs.map((job) => hotMesh.pubsub('quote.requested', job, { timeout: 60_000 })));
    outputs.forEach((output, i) => {
      const job = jobs[i];
      const unit = { widget: 12.5, gadget: 40, gizmo: 99 }[job.sku]!;
      const subtotal = Math.round(unit * job.quantity * 100) / 100;
      const discount = subtotal >= 100 ? Math.round(subtotal * 10) / 100 : 0;
      expect(output.metadata.jid).to.equal(job.id);
      expect(output.data.subtotal, job.id).to.equal(subtotal);
      expect(output.data.discount, job.id).to.equal(discount);
      expect(output.data.total, job.id).to.equal(subtotal - discount);
    });
  });
});
