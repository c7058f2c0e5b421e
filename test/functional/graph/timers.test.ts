import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { AppHarness, sleep } from '../../support/app-harness.ts';
import { startCli, waitFor, waitForExit } from '../../support/cli.ts';

const manifest = `
app:
  id: naps
  version: '1'
  graphs:
    - subscribes: nap.start
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        nap:
          type: hook
          sleep: '{t1.output.data.seconds}'
        woke:
          type: hook
          job:
            maps:
              woke: true
      transitions:
        t1: [ { to: nap } ]
        nap: [ { to: woke } ]
`;

describe('durable timers', function () {
  this.timeout(90_000);
  let harness: AppHarness;
  const engines: ChildProcess[] = [];

  before(async () => { harness = await AppHarness.start(); });
  afterEach(async () => {
    for (const engine of engines.splice(0)) {
      if (engine.exitCode === null) {
        engine.kill('SIGKILL');
        await waitForExit(engine).catch(() => undefined);
      }
    }
  });
  after(async () => { await harness?.close(); });

  function startEngine(): ChildProcess & { output: () => string } {
    const engine = startCli(['engine', 'naps'], { HOTMESH_REDIS_URL: harness.redis.url });
    engines.push(engine);
    return engine;
  }

  async function wokeOnce(ids: string[]): Promise<{ done: number; fired: number }> {
    const client = harness.redis.client();
    let done = 0;
    let fired = 0;
    for (const id of ids) {
      const [status, entries] = await client.hmget(`hmsh:{naps}:j:${id}`, ':', 'r/nap,0,0');
      if (Number(status) === 0) done++;
      fired += Number(entries ?? 0);
    }
    client.disconnect();
    return { done, fired };
  }

  it('resumes a 2-second sleep between 2 and 3 seconds later', async () => {
    const client = await harness.deployed(manifest, [], { engine: { timerPollMs: 500 } });
    const started = Date.now();
    const output = await client.pubsub('nap.start', { id: 'two-seconds', seconds: 2 }, { timeout: 10_000 });
    const elapsed = Date.now() - started;
    expect(output.data.woke).to.equal(true);
    expect(elapsed).to.be.at.least(2000);
    expect(elapsed).to.be.below(3000);
    await client.stop(0);
  });

  it('fires 500 timers due together exactly once across three engines', async () => {
    const client = await harness.hotMesh('naps', [], { engine: false });
    const running = [startEngine(), startEngine(), startEngine()];
    await waitFor(() => running.every((engine) => engine.output().includes('hotmesh started')), 15_000, 'three engines');
    const ids = Array.from({ length: 500 }, (_, i) => `many-${i}`);
    await Promise.all(ids.map((id) => client.pub('nap.start', { id, seconds: 1 })));
    await waitFor(async () => (await wokeOnce(ids)).done === 500, 30_000, 'all 500 jobs to wake');
    await sleep(1000);
    expect(await wokeOnce(ids)).to.deep.equal({ done: 500, fired: 500 });
    const redis = harness.redis.client();
    expect(await redis.zcard('hmsh:{naps}:t')).to.equal(0);
    redis.disconnect();
  });

  it('fires a timer once, late, when no engine ran at its due time', async () => {
    const client = await harness.hotMesh('naps', [], { engine: false });
    await client.pub('nap.start', { id: 'while-down', seconds: 1 });
    await sleep(2500);
    expect((await wokeOnce(['while-down'])).done).to.equal(0);
    const running = [startEngine(), startEngine()];
    await waitFor(() => running.every((engine) => engine.output().includes('hotmesh started')), 15_000, 'two engines');
    await waitFor(async () => (await wokeOnce(['while-down'])).done === 1, 5000, 'the late timer');
    await sleep(1000);
    expect(await wokeOnce(['while-down'])).to.deep.equal({ done: 1, fired: 1 });
  });
});
