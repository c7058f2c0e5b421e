import { expect } from 'chai';
import { AppHarness } from '../../support/app-harness.ts';
import { CommandMonitor } from '../../support/command-monitor.ts';

// A work message carries the job's hash as its sending step left it, so the
// worker plans leg 2 without reading the job. These tests watch the commands
// clients send (MONITOR, scripts' own commands left out) to see which path ran.

const SEQUENCE = `
app:
  id: carry
  version: '1'
  graphs:
    - subscribes: carry.start
      activities:
        t: { type: trigger }
        a:
          type: worker
          topic: carry.a
          input: { maps: { n: '{t.output.data.n}' } }
          job: { maps: { x: '{$self.output.data.x}' } }
        b:
          type: worker
          topic: carry.b
          input: { maps: { x: '{a.output.data.x}' } }
          job: { maps: { y: '{$self.output.data.y}' } }
      transitions:
        t: [{ to: a }]
        a: [{ to: b }]
`;

// A worker beside a one-second sleep. The worker returns after the sleep's
// wake-up has committed, which makes its carried state overtaken, and maps
// the time of the wake-up, so it must read the job again to see it.
const BRANCHES = `
app:
  id: branches
  version: '1'
  graphs:
    - subscribes: branches.start
      activities:
        t: { type: trigger }
        nap:
          type: hook
          sleep: 1
          job: { maps: { woke: '{$self.hook.data.timestamp}' } }
        slow:
          type: worker
          topic: branches.slow
          job: { maps: { seen: '{$job.data.woke}', slow: '{$self.output.data.v}' } }
      transitions:
        t: [{ to: nap }, { to: slow }]
`;

// One step sends three work messages: none of them carries the state.
const FAN_OUT = `
app:
  id: fan
  version: '1'
  graphs:
    - subscribes: fan.start
      activities:
        t: { type: trigger }
        a: { type: worker, topic: fan.work, job: { maps: { a: '{$self.output.data.v}' } } }
        b: { type: worker, topic: fan.work, job: { maps: { b: '{$self.output.data.v}' } } }
        c: { type: worker, topic: fan.work, job: { maps: { c: '{$self.output.data.v}' } } }
      transitions:
        t: [{ to: a }, { to: b }, { to: c }]
`;

const BIG = 'x'.repeat(40_000);

/** Starts recording the commands that clients send; the test reads `commands`. */
async function watchCommands(url: string): Promise<{ commands: string[][]; stop: () => void }> {
  const monitor = await CommandMonitor.start(url);
  return {
    get commands() {
      return monitor.commands.filter((command) => !command.fromScript).map((command) => command.args);
    },
    stop: () => monitor.stop(),
  };
}

function reads(commands: string[][], jobId: string): number {
  return commands.filter((args) => args[0].toLowerCase() === 'hgetall' && args[1].endsWith(`:j:${jobId}`)).length;
}

describe('work messages carry the job state', function () {
  this.timeout(30_000);
  let harness: AppHarness;

  before(async () => {
    harness = await AppHarness.start();
  });

  after(async () => {
    await harness?.close();
  });

  it('plans worker steps without reads', async () => {
    const hotMesh = await harness.deployed(SEQUENCE, [
      { topic: 'carry.a', callback: async (input) => ({ x: Number(input.n) + 1 }) },
      { topic: 'carry.b', callback: async (input) => ({ y: Number(input.x) * 2 }) },
    ]);
    const watch = await watchCommands(harness.redis.url);
    try {
      const output = await hotMesh.pubsub('carry.start', { n: 4 }, { id: 'seq-1', timeout: 10_000 });
      expect(output.data).to.deep.equal({ x: 5, y: 10 });
      expect(reads(watch.commands, 'seq-1')).to.equal(0);
    } finally {
      watch.stop();
    }
  });

  it('replans an overtaken state after a read', async () => {
    let napCommitted!: () => void;
    const napDone = new Promise<void>((resolve) => { napCommitted = resolve; });
    const hotMesh = await harness.deployed(BRANCHES, [
      {
        topic: 'branches.slow',
        callback: async () => {
          await napDone;
          return { v: 'from slow' };
        },
      },
    ]);
    const watch = await watchCommands(harness.redis.url);
    try {
      const result = hotMesh.pubsub('branches.start', {}, { id: 'branch-1', timeout: 10_000 });
      // The status drops from 2 to 1 when the sleep's wake-up commits.
      // getStatus sends HGET, which is not counted as a read here.
      let status: number | undefined;
      for (let i = 0; i < 300 && status !== 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        status = await hotMesh.getStatus('branch-1').catch(() => undefined);
      }
      expect(status, 'status after the sleep').to.equal(1);
      napCommitted();
      const output = await result;
      expect(output.data.woke).to.be.a('string');
      expect(output.data.seen).to.equal(output.data.woke);
      expect(output.data.slow).to.equal('from slow');
      expect(output.metadata.js).to.equal(0);
      // One read by the engine's step for the wake-up, one by the replan.
      expect(reads(watch.commands, 'branch-1')).to.equal(2);
    } finally {
      watch.stop();
    }
  });

  it('leaves the state out of a fan-out', async () => {
    const hotMesh = await harness.deployed(FAN_OUT, [
      { topic: 'fan.work', callback: async (_input, context) => ({ v: context.activityId }) },
    ]);
    const watch = await watchCommands(harness.redis.url);
    try {
      const output = await hotMesh.pubsub('fan.start', {}, { id: 'fan-1', timeout: 10_000 });
      expect(output.data).to.deep.equal({ a: 'a', b: 'b', c: 'c' });
      expect(reads(watch.commands, 'fan-1')).to.equal(3);
    } finally {
      watch.stop();
    }
  });

  it('drops a carried step for an interrupted job', async () => {
    let interrupted!: () => void;
    const gate = new Promise<void>((resolve) => { interrupted = resolve; });
    let calls = 0;
    const hotMesh = await harness.deployed(SEQUENCE.replace('id: carry', 'id: halt').replace(/carry\./g, 'halt.'), [
      {
        topic: 'halt.a',
        callback: async (input) => {
          calls++;
          await gate;
          return { x: Number(input.n) + 1 };
        },
      },
      { topic: 'halt.b', callback: async () => ({ y: 0 }) },
    ]);
    const result = hotMesh.pubsub('halt.start', { n: 1 }, { id: 'halt-1', timeout: 10_000 });
    const settled = result.then(() => 'completed', (error: Error) => error.message);
    for (let i = 0; i < 300 && calls === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));

    await hotMesh.interrupt('halt-1', { reason: 'stopped by the test' });
    expect(await settled).to.contain('stopped by the test');
    interrupted();

    // The worker's commit finds the job done and only acknowledges its message.
    let backlog = -1;
    for (let i = 0; i < 300 && backlog !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      backlog = await hotMesh.redis.xlen('hmsh:{halt}:x:halt.a');
    }
    expect(backlog).to.equal(0);
    const state = await hotMesh.getState('halt-1');
    expect(state.metadata.js).to.be.below(0);
    expect(state.data).to.deep.equal({});
    expect(state.metadata.err).to.include({ message: 'stopped by the test' });
  });

  it('reads jobs above the size limit', async () => {
    const hotMesh = await harness.hotMesh('carry', [
      { topic: 'carry.a', callback: async (input) => ({ x: Number(input.n) + 1 }) },
      { topic: 'carry.b', callback: async (input) => ({ y: Number(input.x) * 2 }) },
    ]);
    const watch = await watchCommands(harness.redis.url);
    try {
      const output = await hotMesh.pubsub('carry.start', { n: 1, pad: BIG }, { id: 'big-1', timeout: 10_000 });
      expect(output.data).to.deep.equal({ x: 2, y: 4 });
      expect(reads(watch.commands, 'big-1')).to.equal(2);
    } finally {
      watch.stop();
    }
  });
});
