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

// Two branches at once. The slow one maps the fast one's output into the job,
// so it must see the fast branch's commit, which came after its work message.
const BRANCHES = `
app:
  id: branches
  version: '1'
  graphs:
    - subscribes: branches.start
      activities:
        t: { type: trigger }
        fast:
          type: worker
          topic: branches.fast
          job: { maps: { fast: '{$self.output.data.v}' } }
        slow:
          type: worker
          topic: branches.slow
          job: { maps: { seen: '{fast.output.data.v}', slow: '{$self.output.data.v}' } }
      transitions:
        t: [{ to: fast }, { to: slow }]
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
    let fastCommitted!: () => void;
    const fastDone = new Promise<void>((resolve) => { fastCommitted = resolve; });
    const hotMesh = await harness.deployed(BRANCHES, [
      { topic: 'branches.fast', callback: async () => ({ v: 'from fast' }) },
      {
        topic: 'branches.slow',
        callback: async () => {
          await fastDone;
          return { v: 'from slow' };
        },
      },
    ]);
    const watch = await watchCommands(harness.redis.url);
    try {
      const result = hotMesh.pubsub('branches.start', {}, { id: 'branch-1', timeout: 10_000 });
      // The slow callback returns after the fast branch commits, when the
      // status drops from 2 to 1. getStatus sends HGET, which is not a read here.
      for (let i = 0; i < 200; i++) {
        const status = await hotMesh.getStatus('branch-1').catch(() => undefined);
        if (status === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      fastCommitted();
      const output = await result;
      expect(output.data).to.deep.equal({ fast: 'from fast', seen: 'from fast', slow: 'from slow' });
      expect(output.metadata.js).to.equal(0);
      expect(reads(watch.commands, 'branch-1')).to.equal(1);
    } finally {
      watch.stop();
    }
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
