import { expect } from 'chai';
import { backoffDelay, jittered } from '../../../src/operator/kube/backoff.ts';
import { WorkQueue } from '../../../src/operator/kube/work-queue.ts';

describe('backoffDelay', function () {
  it('doubles from the base up to the cap', function () {
    const options = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 50].map((failures) => backoffDelay(failures, options))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });

  it('jitter stays within the spread and the cap', function () {
    const options = { baseMs: 1000, maxMs: 1500, jitter: 0.2 };
    expect(backoffDelay(1, options, () => 0)).to.equal(800);
    expect(backoffDelay(1, options, () => 1)).to.equal(1200);
    expect(backoffDelay(2, options, () => 1)).to.equal(1500);
  });

  it('jittered spreads both ways', function () {
    expect(jittered(300, 0.5, () => 0)).to.equal(150);
    expect(jittered(300, 0.5, () => 1)).to.equal(450);
  });
});

describe('WorkQueue', function () {
  it('deduplicates a key added twice', async function () {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.length).to.equal(2);
    expect(await queue.get()).to.equal('a');
    expect(await queue.get()).to.equal('b');
  });

  it('requeues a key added while processing', async function () {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    expect(queue.length).to.equal(0);
    queue.done(key!);
    expect(queue.length).to.equal(1);
    expect(await queue.get()).to.equal('a');
  });

  it('never hands one key to two workers', async function () {
    const queue = new WorkQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    let second: string | undefined = 'pending';
    const waiting = queue.get().then((key) => { second = key; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).to.equal('pending');
    queue.done(first!);
    await waiting;
    expect(second).to.equal('a');
  });

  it('backs off failed keys until forgotten', async function () {
    const queue = new WorkQueue({ backoff: { baseMs: 20, maxMs: 1000 } });
    expect(queue.addRateLimited('a')).to.equal(20);
    expect(queue.addRateLimited('a')).to.equal(40);
    expect(queue.retries('a')).to.equal(2);
    queue.forget('a');
    expect(queue.retries('a')).to.equal(0);
    const started = Date.now();
    expect(await queue.get()).to.equal('a');
    expect(Date.now() - started).to.be.at.least(15);
  });

  it('counts adds, retries and depth', async function () {
    const counts = { adds: 0, retries: 0, depth: -1 };
    const queue = new WorkQueue({ metrics: { added: () => counts.adds++, retried: () => counts.retries++, depth: (value) => { counts.depth = value; } } });
    queue.add('a');
    queue.add('a');
    queue.addRateLimited('b');
    expect(counts).to.deep.equal({ adds: 1, retries: 1, depth: 1 });
    queue.shutDown();
  });

  it('shutDown releases waiting workers', async function () {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).to.equal(undefined);
  });
});
