import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { HotMesh } from '../../../src/index.ts';
import { sleep } from '../../support/app-harness.ts';
import { startCli, waitFor, waitForExit } from '../../support/cli.ts';
import { quietLogger } from '../../support/logger.ts';
import { RedisServer } from '../../support/redis-server.ts';
import { chainManifest } from '../../fixtures/chain.ts';

const workerModule = join(import.meta.dirname, '../../fixtures/chain.ts');
const JOBS = 1000;

// Four processes run the app while crash points fire at random and the test
// kills processes with SIGKILL; a supervisor restarts each one, as a
// Deployment would. Every check reads Redis, never logs.
describe('fault injection across processes', function () {
  this.timeout(240_000);
  let redis: RedisServer;
  let client: HotMesh;
  let stopping = false;
  const running = new Set<ChildProcess>();
  const supervisors: Array<Promise<void>> = [];
  let restarts = 0;

  const env = (): Record<string, string> => ({
    HOTMESH_REDIS_URL: redis.url,
    HOTMESH_FAULTS: 'consumer.after-read:0.002,worker.after-callback:0.002,engine.before-commit:0.002,engine.after-commit:0.002',
    HOTMESH_RECLAIM_IDLE_MS: '1500',
    HOTMESH_MAX_DELIVERIES: '50',
    HOTMESH_LOG_LEVEL: 'error',
    CHAIN_DELAY_MS: '20',
  });

  function supervise(args: string[]): void {
    supervisors.push((async () => {
      while (!stopping) {
        const child = startCli(args, env());
        running.add(child);
        await waitForExit(child, 600_000).catch(() => undefined);
        running.delete(child);
        if (!stopping) restarts++;
      }
    })());
  }

  before(async () => {
    redis = await RedisServer.start();
    client = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), engine: false });
    await client.deploy(chainManifest('1'));
    await client.deploy(chainManifest('2'));
    await client.activate('1');
  });

  after(async () => {
    stopping = true;
    for (const child of running) child.kill('SIGKILL');
    await Promise.all(supervisors);
    await client?.stop(0);
    await redis?.stop();
  });

  it('loses no job and applies no step twice', async () => {
    supervise(['engine', 'chain']);
    supervise(['engine', 'chain']);
    supervise(['worker', 'chain', '--module', workerModule, '--no-engine', '--concurrency', '20']);
    supervise(['worker', 'chain', '--module', workerModule, '--no-engine', '--concurrency', '20']);

    const killer = (async () => {
      while (!stopping) {
        await sleep(1500 + Math.random() * 1500);
        const victims = [...running];
        const victim = victims[Math.floor(Math.random() * victims.length)];
        victim?.kill('SIGKILL');
      }
    })();

    const ids = Array.from({ length: JOBS }, (_, i) => `chaos-${i}`);
    const parked: string[] = [];
    for (const [i, id] of ids.entries()) {
      const wait = i % 5 === 0;
      await client.pub('chain.start', { id, n: i, wait });
      if (wait) parked.push(id);
      if (i === JOBS / 2) await client.activate('2');
      if (i % 50 === 49) await sleep(100);
    }
    for (const id of parked) await client.hook('chain.resume', { id });

    const probe = redis.client();
    const finished = async (): Promise<number> => {
      let done = 0;
      for (const id of ids) if (Number(await probe.hget(`hmsh:{chain}:j:${id}`, ':')) === 0) done++;
      return done;
    };
    await waitFor(async () => (await finished()) === JOBS, 180_000, `all ${JOBS} jobs to finish`);
    stopping = true;
    await killer;

    let twice = 0;
    for (const [i, id] of ids.entries()) {
      const fields = await probe.hgetall(`hmsh:{chain}:j:${id}`);
      const legA = Object.entries(fields).filter(([field]) => field.startsWith('r/a,'));
      const legB = Object.entries(fields).filter(([field]) => field.startsWith('r/b,'));
      expect(legA.map(([, count]) => count), `${id} leg a`).to.deep.equal(['1']);
      expect(legB.map(([, count]) => count), `${id} leg b`).to.deep.equal(['1']);
      if (legA.length !== 1 || legB.length !== 1) twice++;
      const version = JSON.parse(fields['m/vrs']);
      expect(fields['m/err'], `${id} error`).to.equal(undefined);
      expect(JSON.parse(fields['d/b']), `${id} result`).to.equal((i + 1) * 2);
      expect(JSON.parse(fields['d/finishedOn']), `${id} version`).to.equal(version);
      expect(version, `${id} started on`).to.equal(i <= JOBS / 2 ? '1' : '2');
      if (i % 5 === 0) expect(JSON.parse(fields['d/parkedOn']), `${id} parked on`).to.equal(version);
    }
    expect(twice).to.equal(0);
    expect(restarts, 'processes were killed and restarted').to.be.greaterThan(3);
    expect(await probe.hlen('hmsh:{chain}:inflight')).to.equal(0);
    probe.disconnect();
  });
});
