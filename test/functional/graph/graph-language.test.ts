import { expect } from 'chai';
import { JobFailedError, JobNotFoundError, JobTimeoutError, reply, UnknownHookTopicError, type JobOutput } from '../../../src/index.ts';
import { AppHarness, sleep } from '../../support/app-harness.ts';
import { waitFor } from '../../support/cli.ts';

describe('graph language', function () {
  this.timeout(60_000);
  let harness: AppHarness;

  before(async () => { harness = await AppHarness.start(); });
  after(async () => { await harness?.close(); });

  describe('abc: sequence, fan-out and conditions', () => {
    const manifest = (version: string, transitions: string) => `
app:
  id: abc${version}
  version: '1'
  graphs:
    - subscribes: abc.test
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: work.do
          input:
            maps:
              x: '{t1.output.data.a}'
          job:
            maps:
              b: '{$self.output.data.y}'
        a2:
          type: worker
          topic: work.do.more
          input:
            maps:
              i: '{a1.output.data.y}'
          job:
            maps:
              c: '{$self.output.data.o}'
      transitions:
${transitions}`;
    const workers = [
      { topic: 'work.do', callback: async (input: Record<string, unknown>) => ({ y: `${String(input.x)} world` }) },
      { topic: 'work.do.more', callback: async (input: Record<string, unknown>) => ({ o: `${String(input.i)} world` }) },
    ];

    it('runs activities in sequence', async () => {
      const hotMesh = await harness.deployed(manifest('seq', '        t1:\n          - to: a1\n        a1:\n          - to: a2\n'), workers);
      const output = await hotMesh.pubsub('abc.test', { a: 'hello' });
      expect(output.data).to.deep.equal({ b: 'hello world', c: 'hello world world' });
    });

    it('takes only the transitions whose match holds', async () => {
      const conditional = `        t1:
          - to: a1
        a1:
          - to: a2
            conditions:
              match:
                - expected: 'hello world'
                  actual: '{a1.output.data.y}'
`;
      const hotMesh = await harness.deployed(manifest('cond', conditional), workers);
      expect((await hotMesh.pubsub('abc.test', { a: 'hello' })).data).to.deep.equal({ b: 'hello world', c: 'hello world world' });
      expect((await hotMesh.pubsub('abc.test', { a: 'help' })).data).to.deep.equal({ b: 'help world' });
    });

    it('matches with an or gate', async () => {
      const gated = `        t1:
          - to: a1
        a1:
          - to: a2
            conditions:
              gate: or
              match:
                - expected: 'hi world'
                  actual: '{a1.output.data.y}'
                - expected: 'yo world'
                  actual: '{a1.output.data.y}'
`;
      const hotMesh = await harness.deployed(manifest('gate', gated), workers);
      expect((await hotMesh.pubsub('abc.test', { a: 'yo' })).data.c).to.equal('yo world world');
      expect((await hotMesh.pubsub('abc.test', { a: 'no' })).data.c).to.equal(undefined);
    });
  });

  describe('tree: parallel branches', () => {
    const manifest = `
app:
  id: tree
  version: '1'
  graphs:
    - subscribes: spring
      activities:
        t1:
          type: trigger
          job:
            maps:
              seed: '{$self.output.data.seed}'
              speed: '{$self.output.data.speed}'
        h1:
          type: hook
          job:
            maps:
              height:
                '@pipe':
                  - ['{t1.output.data.seed}', '{t1.output.data.speed}']
                  - ['{@math.multiply}']
        w1: { type: worker, topic: grow, input: { maps: { n: 1 } }, job: { maps: { g1: '{$self.output.data.n}' } } }
        w2: { type: worker, topic: grow, input: { maps: { n: 2 } }, job: { maps: { g2: '{$self.output.data.n}' } } }
        w3: { type: worker, topic: grow, input: { maps: { n: 3 } }, job: { maps: { g3: '{$self.output.data.n}' } } }
      transitions:
        t1: [ { to: h1 }, { to: w1 }, { to: w2 }, { to: w3 } ]
`;
    it('completes only when every branch has ended', async () => {
      const hotMesh = await harness.deployed(manifest, [{ topic: 'grow', callback: async (input) => { await sleep(Number(input.n) * 50); return { n: Number(input.n) * 10 }; } }]);
      for (const [seed, speed] of [[2, 3], [5, 7], [4, 9], [55, 20]]) {
        const output = await hotMesh.pubsub('spring', { seed, speed });
        expect(output.metadata.js).to.equal(0);
        expect(output.data).to.deep.equal({ seed, speed, height: seed * speed, g1: 10, g2: 20, g3: 30 });
      }
    });
  });

  describe('calc: await, retries, errors, timeouts', () => {
    const manifest = `
app:
  id: calc
  version: '1'
  graphs:
    - subscribes: calculate
      publishes: calculated
      activities:
        t1:
          type: trigger
        a1:
          type: await
          topic: calculation.execute
          input:
            maps:
              operation: '{t1.output.data.operation}'
              values: '{t1.output.data.values}'
          job:
            maps:
              result: '{$self.output.data.result}'
      transitions:
        t1: [ { to: a1 } ]
    - subscribes: calculation.execute
      activities:
        t2:
          type: trigger
        w1:
          type: worker
          topic: calculation.execute.worker
          retry:
            '500': [3]
          input:
            maps:
              operation: '{t2.output.data.operation}'
              values:
                '@pipe':
                  - ['{t2.output.data.values}']
                  - ['{@json.parse}']
          job:
            maps:
              result: '{$self.output.data.result}'
      transitions:
        t2: [ { to: w1 } ]
`;
    let calls = 0;
    const calculate = async (input: Record<string, unknown>) => {
      calls++;
      if (calls === 1) return reply({ status: 'error', code: 500, data: { message: 'first call always fails' } });
      const values = input.values as number[];
      switch (input.operation) {
        case 'add': return { result: values.reduce((a, b) => a + b) };
        case 'subtract': return { result: values.reduce((a, b) => a - b) };
        case 'multiply': return { result: values.reduce((a, b) => a * b) };
        case 'divide': return { result: values.reduce((a, b) => a / b) };
        case 'slow': await sleep(1500); return { result: 5 };
        default: return reply({ status: 'error', code: 403, data: { code: 403, message: 'unrecoverable error' } });
      }
    };
    let hotMesh: Awaited<ReturnType<AppHarness['deployed']>>;

    before(async () => {
      hotMesh = await harness.deployed(manifest, [{ topic: 'calculation.execute.worker', callback: calculate }]);
    });

    it('retries a 500 then returns the child result', async () => {
      const output = await hotMesh.pubsub('calculate', { operation: 'add', values: JSON.stringify([1, 2, 3, 4, 5]) });
      expect(output.data.result).to.equal(15);
      expect(calls).to.equal(2);
    });

    for (const [operation, values, result] of [['subtract', [5, 4, 3, 2, 1], -5], ['multiply', [5, 4, 3, 2, 1], 120], ['divide', [100, 4, 5], 5], ['divide', [200, 4, 5], 10], ['multiply', [10, 10, 10], 1000]] as const) {
      it(`computes ${operation} of ${values.join(',')}`, async () => {
        expect((await hotMesh.pubsub('calculate', { operation, values: JSON.stringify(values) })).data.result).to.equal(result);
      });
    }

    it('times out the caller while the job goes on', async () => {
      let jobId = '';
      try {
        await hotMesh.pubsub('calculate', { operation: 'slow', values: '[1]' }, { timeout: 200 });
        expect.fail('expected a timeout');
      } catch (error) {
        expect(error).to.be.instanceOf(JobTimeoutError);
        jobId = (error as JobTimeoutError).jobId;
      }
      await waitFor(async () => (await hotMesh.getStatus(jobId)) === 0, 5000, 'the slow job to finish');
      expect((await hotMesh.getState('calculate', jobId)).data.result).to.equal(5);
    });

    it('rejects with the unrecoverable error of a child', async () => {
      try {
        await hotMesh.pubsub('calculate', { operation: 'explode', values: '[1]' });
        expect.fail('expected a failure');
      } catch (error) {
        expect(error).to.be.instanceOf(JobFailedError);
        expect((error as JobFailedError).status).to.equal(403);
        expect((error as JobFailedError).message).to.equal('unrecoverable error');
        const state = await hotMesh.getState((error as JobFailedError).jobId);
        expect(state.metadata.err).to.deep.equal({ code: 403, message: 'unrecoverable error' });
      }
    });

    it('scrubs a finished job', async () => {
      const output = await hotMesh.pubsub('calculate', { operation: 'add', values: '[1,1]' });
      await hotMesh.scrub(output.metadata.jid);
      try {
        await hotMesh.getState(output.metadata.jid);
        expect.fail('expected not found');
      } catch (error) {
        expect(error).to.be.instanceOf(JobNotFoundError);
      }
    });

    it('publishes completions to psub listeners', async () => {
      const seen: Array<{ topic: string; output: JobOutput }> = [];
      await hotMesh.psub('calculated.*', (topic, output) => seen.push({ topic, output }));
      const jobId = await hotMesh.pub('calculate', { operation: 'divide', values: JSON.stringify([100, 4, 5]) });
      await waitFor(() => seen.some((entry) => entry.output.metadata.jid === jobId), 5000, 'the psub message');
      const entry = seen.find((candidate) => candidate.output.metadata.jid === jobId)!;
      expect(entry.topic).to.equal('calculated');
      expect(entry.output.data.result).to.equal(5);
      await hotMesh.punsub('calculated.*');
    });

    it('starts a detached child and answers with its id', async () => {
      const detached = `
app:
  id: detach
  version: '1'
  graphs:
    - subscribes: parent.go
      activities:
        p0: { type: trigger }
        call:
          type: await
          topic: child.go
          await: false
          job: { maps: { child: '{$self.output.data.job_id}' } }
      transitions:
        p0: [ { to: call } ]
    - subscribes: child.go
      activities:
        c0: { type: trigger }
        nap: { type: hook, sleep: 1, job: { maps: { slept: true } } }
      transitions:
        c0: [ { to: nap } ]
`;
      const instance = await harness.deployed(detached);
      const started = Date.now();
      const output = await instance.pubsub('parent.go', {});
      expect(Date.now() - started).to.be.lessThan(900);
      const childId = String(output.data.child);
      expect(childId).to.have.length.greaterThan(5);
      expect(await instance.getStatus(childId)).to.equal(1);
      await waitFor(async () => (await instance.getStatus(childId)) === 0, 5000, 'the detached child to finish');
      expect((await instance.getState(childId)).data.slept).to.equal(true);
    });
  });

  describe('cycle: loops with fresh dimensions', () => {
    const manifest = (appId: string, exit: string) => `
app:
  id: ${appId}
  version: '1'
  graphs:
    - subscribes: cycle.test
      activities:
        t1: { type: trigger }
        a1: { type: hook, cycle: true }
        w1:
          type: worker
          topic: ${appId}.count
          job:
            maps:
              counter: '{$self.output.data.counter}'
        c1: { type: cycle, ancestor: a1 }
      transitions:
        t1: [ { to: a1 } ]
        a1: [ { to: w1 } ]
        w1:
${exit}`;

    it('loops while a condition holds', async () => {
      let n = 0;
      const hotMesh = await harness.deployed(manifest('cyclev1', `          - to: c1
            conditions:
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - ['{w1.output.data.counter}', 5]
                      - ['{@conditional.less_than}']
`), [{ topic: 'cyclev1.count', callback: async () => ({ counter: ++n }) }]);
      const output = await hotMesh.pubsub('cycle.test', {}, { timeout: 10_000 });
      expect(output.data.counter).to.equal(5);
      expect(output.metadata.js).to.equal(0);
      expect(n).to.equal(5);
    });

    it('loops while the worker answers 500 as a success code', async () => {
      let n = 0;
      const hotMesh = await harness.deployed(manifest('cyclev2', `          - to: c1
            conditions:
              code: 500
`), [{ topic: 'cyclev2.count', callback: async () => { n++; return n < 5 ? reply({ status: 'success', code: 500, data: { counter: n } }) : { counter: n }; } }]);
      const output = await hotMesh.pubsub('cycle.test', {}, { timeout: 10_000 });
      expect(output.data.counter).to.equal(5);
    });
  });

  describe('def: status codes', () => {
    const manifest = `
app:
  id: def
  version: '1'
  graphs:
    - subscribes: def.test
      activities:
        t1: { type: trigger }
        w1:
          type: worker
          topic: def.work
          input: { maps: { code: '{t1.output.data.code}' } }
          job: { maps: { code: '{$self.output.data.code}' } }
        a200:
          type: hook
          job: { maps: { message: success } }
      transitions:
        t1: [ { to: w1 } ]
        w1: [ { to: a200 } ]
`;
    let hotMesh: Awaited<ReturnType<AppHarness['deployed']>>;
    before(async () => {
      hotMesh = await harness.deployed(manifest, [{
        topic: 'def.work',
        callback: async (input) => (input.code === 200 ? { code: 200 } : reply({ status: 'error', code: Number(input.code), data: { code: Number(input.code), message: 'invalid input' } })),
      }]);
    });

    it('maps a 200 response', async () => {
      expect((await hotMesh.pubsub('def.test', { code: 200 })).data).to.deep.equal({ code: 200, message: 'success' });
    });

    it('fails with a 422 while the unconditional transition still runs', async () => {
      try {
        await hotMesh.pubsub('def.test', { code: 422 });
        expect.fail('expected a failure');
      } catch (error) {
        expect(error).to.be.instanceOf(JobFailedError);
        expect((error as JobFailedError).status).to.equal(422);
        const state = await hotMesh.getState((error as JobFailedError).jobId);
        expect(state.data.message).to.equal('success');
        expect(state.metadata.err).to.deep.equal({ code: 422, message: 'invalid input' });
      }
    });
  });

  describe('emit: interim results', () => {
    it('publishes an interim and a final result', async () => {
      const manifest = `
app:
  id: emit
  version: '1'
  graphs:
    - subscribes: emit.test
      publishes: emit.tested
      activities:
        t1: { type: trigger }
        w1:
          type: worker
          topic: emit.work
          emit: true
          job: { maps: { status: '{$self.output.data.status}' } }
        nap:
          type: hook
          sleep: 1
          job: { maps: { done: true } }
      transitions:
        t1: [ { to: w1 } ]
        w1: [ { to: nap } ]
`;
      const hotMesh = await harness.deployed(manifest, [{ topic: 'emit.work', callback: async () => ({ status: 'success' }) }]);
      const messages: JobOutput[] = [];
      await hotMesh.psub('emit.tested*', (_topic, output) => messages.push(output));
      const output = await hotMesh.pubsub('emit.test', {}, { timeout: 5000 });
      expect(output.data).to.deep.equal({ status: 'success', done: true });
      await waitFor(() => messages.length >= 2, 3000, 'two publications');
      expect(messages[0].data).to.deep.equal({ status: 'success' });
      expect(messages[0].metadata.js).to.be.greaterThan(0);
      expect(messages[1].data).to.deep.equal({ status: 'success', done: true });
    });
  });

  describe('hook: webhooks and signals', () => {
    const manifest = `
app:
  id: orders
  version: '1'
  graphs:
    - subscribes: order.placed
      publishes: order.done
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
            key: '{$self.input.data.region}'
            granularity: infinity
            measures:
              - measure: index
                target: '{$self.input.data.region}'
        approve:
          type: hook
          job:
            maps:
              approver: '{$self.hook.data.approver}'
        done:
          type: hook
          job: { maps: { finished: true } }
      transitions:
        t1: [ { to: approve } ]
        approve: [ { to: done } ]
      hooks:
        order.approved:
          - to: approve
            conditions:
              match:
                - expected: '{t1.output.data.id}'
                  actual: '{$self.hook.data.id}'
    - subscribes: notify.all
      activities:
        n0: { type: trigger }
        all:
          type: signal
          subtype: all
          topic: order.approved
          signal: { maps: { approver: '{n0.output.data.approver}' } }
          resolver: { maps: { data: { region: '{n0.output.data.region}' }, scrub: true } }
          key_name: region
          key_value: '{n0.output.data.region}'
      transitions:
        n0: [ { to: all } ]
`;
    let hotMesh: Awaited<ReturnType<AppHarness['deployed']>>;
    before(async () => { hotMesh = await harness.deployed(manifest); });

    it('parks until signalled, then resumes once', async () => {
      await hotMesh.pub('order.placed', { id: 'o-1', region: 'west' });
      await sleep(200);
      expect(await hotMesh.getStatus('o-1')).to.equal(1);
      await hotMesh.hook('order.approved', { id: 'o-1', approver: 'kim' });
      await waitFor(async () => (await hotMesh.getStatus('o-1')) === 0, 5000, 'the job to resume');
      expect((await hotMesh.getState('o-1')).data).to.deep.equal({ approver: 'kim', finished: true });
      // A second signal finds no parked hook and changes nothing.
      await hotMesh.hook('order.approved', { id: 'o-1', approver: 'lee' });
      await sleep(300);
      expect((await hotMesh.getState('o-1')).data.approver).to.equal('kim');
    });

    it('keeps a signal sent before the job exists', async () => {
      await hotMesh.hook('order.approved', { id: 'o-early', approver: 'early-bird' });
      await sleep(300);
      const output = await new Promise<JobOutput>((resolve, reject) => {
        hotMesh.sub('order.done.o-early', (_topic, job) => resolve(job)).then(() => hotMesh.pub('order.placed', { id: 'o-early', region: 'east' })).catch(reject);
      });
      expect(output.data).to.deep.equal({ approver: 'early-bird', finished: true });
    });

    it('refuses a signal that no hook rule listens to', async () => {
      try {
        await hotMesh.hook('order.nobody', { id: 'x' });
        expect.fail('expected an error');
      } catch (error) {
        expect(error).to.be.instanceOf(UnknownHookTopicError);
        expect((error as UnknownHookTopicError).topic).to.equal('order.nobody');
      }
    });

    it('signals every job of an index with a signal activity', async () => {
      for (const id of ['n-1', 'n-2', 'n-3']) await hotMesh.pub('order.placed', { id, region: 'north' });
      await hotMesh.pub('order.placed', { id: 's-1', region: 'south' });
      await sleep(200);
      await hotMesh.pub('notify.all', { region: 'north', approver: 'boss' });
      for (const id of ['n-1', 'n-2', 'n-3']) {
        await waitFor(async () => (await hotMesh.getStatus(id)) === 0, 5000, `${id} to resume`);
        expect((await hotMesh.getState(id)).data.approver).to.equal('boss');
      }
      expect(await hotMesh.getStatus('s-1')).to.equal(1);
      const client = harness.redis.client();
      expect(await client.exists('hmsh:{orders}:s:north:0:index:region:north')).to.equal(0);
      client.disconnect();
    });
  });

  describe('interrupt', () => {
    const manifest = `
app:
  id: stopper
  version: '1'
  graphs:
    - subscribes: long.run
      activities:
        t1: { type: trigger }
        call: { type: await, topic: child.run }
      transitions:
        t1: [ { to: call } ]
    - subscribes: child.run
      activities:
        c1: { type: trigger }
        wait: { type: hook, sleep: 30 }
      transitions:
        c1: [ { to: wait } ]
    - subscribes: self.stop
      activities:
        s1: { type: trigger }
        halt: { type: interrupt, reason: 'stopped on purpose', job: { maps: { halted: true } } }
        never: { type: hook, job: { maps: { reached: true } } }
      transitions:
        s1: [ { to: halt } ]
        halt: [ { to: never } ]
`;
    it('interrupts a job and its children', async () => {
      const hotMesh = await harness.deployed(manifest);
      const jobId = await hotMesh.pub('long.run', {});
      await sleep(300);
      const client = harness.redis.client();
      const [childId] = await client.lrange(`hmsh:{stopper}:d:${jobId}`, 0, -1);
      expect(childId).to.be.a('string');
      await hotMesh.interrupt(jobId, { descend: true });
      await waitFor(async () => (await hotMesh.getStatus(jobId)) < 0 && (await hotMesh.getStatus(childId)) < 0, 5000, 'both jobs to end');
      expect((await hotMesh.getState(jobId)).metadata.err).to.deep.include({ code: 410 });
      expect((await hotMesh.getState(childId)).metadata.err).to.deep.include({ code: 410 });
      client.disconnect();
    });

    it('lets a job interrupt itself after its job maps', async () => {
      const hotMesh = await harness.deployed(manifest);
      try {
        await hotMesh.pubsub('self.stop', {});
        expect.fail('expected the interruption');
      } catch (error) {
        expect(error).to.be.instanceOf(JobFailedError);
        expect((error as JobFailedError).status).to.equal(410);
        expect((error as JobFailedError).message).to.equal('stopped on purpose');
        const state = await hotMesh.getState((error as JobFailedError).jobId);
        expect(state.data).to.deep.equal({ halted: true });
      }
    });
  });
});
