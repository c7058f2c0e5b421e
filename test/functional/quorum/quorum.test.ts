import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { HotMesh } from '../../../src/index.ts';
import { sleep } from '../../support/app-harness.ts';
import { runCli, startCli, waitFor, waitForExit } from '../../support/cli.ts';
import { quietLogger } from '../../support/logger.ts';
import { RedisServer } from '../../support/redis-server.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';
import chainWorkers, { chainManifest } from '../../fixtures/chain.ts';

const workerModule = join(import.meta.dirname, '../../fixtures/chain.ts');
const HEARTBEAT_MS = 500;

describe('quorum', function () {
  this.timeout(90_000);
  let redis: RedisServer;
  let client: HotMesh;
  const children: ChildProcess[] = [];
  const proxies: TcpProxy[] = [];

  beforeEach(async () => {
    redis = await RedisServer.start();
    client = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), engine: false, heartbeatMs: HEARTBEAT_MS });
    await client.deploy(chainManifest('1'));
    await client.deploy(chainManifest('2'));
    await client.activate('1');
  });

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await waitForExit(child).catch(() => undefined);
      }
    }
    for (const proxy of proxies.splice(0)) await proxy.close();
    await client.stop(0);
    await redis.stop();
  });

  function engine(url = redis.url): ChildProcess & { output: () => string } {
    const child = startCli(['engine', 'chain'], { HOTMESH_REDIS_URL: url, HOTMESH_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    children.push(child);
    return child;
  }

  async function engineVersions(): Promise<string[]> {
    return (await client.rollCall(200)).filter((profile) => profile.engine).map((profile) => String(profile.version)).sort();
  }

  it('moves every engine to a new version, even one that missed the message', async () => {
    const proxy = await TcpProxy.start({ targetPort: redis.port });
    proxies.push(proxy);
    const engines = [engine(), engine(), engine(`redis://127.0.0.1:${proxy.port}`)];
    await waitFor(async () => (await engineVersions()).length === 3, 15_000, 'three engines in the roll call');
    expect(await engineVersions()).to.deep.equal(['1', '1', '1']);

    // Cut the third engine off, activate while it is away, then let it back.
    await proxy.refuse();
    proxy.cut();
    await client.activate('2');
    await sleep(300);
    await proxy.acceptAgain();
    await waitFor(async () => (await engineVersions()).join() === '2,2,2', 10_000, 'all three engines on version 2');
    expect(engines.every((child) => child.exitCode === null)).to.equal(true);
  });

  it('rolls back to an earlier version without a new deploy', async () => {
    engine();
    engine();
    await waitFor(async () => (await engineVersions()).length === 2, 15_000, 'two engines');
    await client.activate('2');
    await waitFor(async () => (await engineVersions()).join() === '2,2', 5000, 'version 2');
    const deployedBefore = await client.listVersions();
    const result = await runCli(['activate', 'chain', '1'], { HOTMESH_REDIS_URL: redis.url });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^activated chain version 1 \(was 2\)\n2 engines on version 1\n$/);
    expect(await engineVersions()).to.deep.equal(['1', '1']);
    const deployedAfter = await client.listVersions();
    expect(deployedAfter.map((record) => [record.version, record.digest, record.deployedAt])).to.deep.equal(deployedBefore.map((record) => [record.version, record.digest, record.deployedAt]));
    const worker = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), workers: Object.entries(chainWorkers).map(([topic, callback]) => ({ topic, callback })) });
    const output = await client.pubsub('chain.start', { id: 'after-rollback', n: 1 });
    expect(output.metadata.vrs).to.equal('1');
    expect(output.data.finishedOn).to.equal('1');
    await worker.stop(500);
  });

  it('holds a paused topic and loses nothing on resume', async () => {
    const worker = startCli(['worker', 'chain', '--module', workerModule], { HOTMESH_REDIS_URL: redis.url, HOTMESH_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    children.push(worker);
    await waitFor(async () => (await client.rollCall(100)).length === 1, 15_000, 'the worker');
    const paused = await runCli(['throttle', 'chain', '--topic', 'chain.a', 'pause'], { HOTMESH_REDIS_URL: redis.url });
    expect(paused.stdout).to.equal('topic chain.a paused\n');
    await waitFor(async () => (await client.rollCall(100))[0]?.throttles['chain.a'] === -1, 5000, 'the pause to apply');

    const ids = Array.from({ length: 100 }, (_, i) => `paused-${i}`);
    await Promise.all(ids.map((id, i) => client.pub('chain.start', { id, n: i })));
    await sleep(1500);
    const statuses = await Promise.all(ids.map((id) => client.getStatus(id)));
    expect(statuses.filter((status) => status === 0)).to.have.length(0);
    expect(await redis.client().xlen('hmsh:{chain}:x:chain.a')).to.equal(100);

    // A process started while paused inherits the pause.
    const late = await HotMesh.init({ appId: 'chain', redis: { url: redis.url }, logger: quietLogger(), engine: false, workers: [{ topic: 'chain.a', callback: chainWorkers['chain.a'] }] });
    await sleep(500);
    expect(await redis.client().xlen('hmsh:{chain}:x:chain.a')).to.equal(100);
    await late.stop(0);

    await runCli(['throttle', 'chain', '--topic', 'chain.a', 'resume'], { HOTMESH_REDIS_URL: redis.url });
    await waitFor(async () => (await Promise.all(ids.map((id) => client.getStatus(id)))).every((status) => status === 0), 20_000, '100 jobs after resume');
    for (const [i, id] of ids.entries()) expect((await client.getState(id)).data.b).to.equal((i + 1) * 2);
  });

  it('drops a killed process from the roll call within three heartbeats', async () => {
    const first = engine();
    engine();
    const worker = startCli(['worker', 'chain', '--module', workerModule, '--no-engine'], { HOTMESH_REDIS_URL: redis.url, HOTMESH_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    children.push(worker);
    await waitFor(async () => (await client.rollCall(100)).length === 3, 15_000, 'three processes');
    const listed = await client.rollCall(100);
    expect(listed.filter((profile) => profile.engine)).to.have.length(2);
    expect(listed.filter((profile) => profile.topics.join() === 'chain.a,chain.b')).to.have.length(1);
    expect(listed.map((profile) => profile.pid).sort()).to.deep.equal([first.pid, children[1].pid, worker.pid].sort());

    first.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => !(await client.rollCall(0)).some((profile) => profile.pid === first.pid), 5000, 'the killed engine to drop out');
    expect(Date.now() - killedAt).to.be.below(HEARTBEAT_MS * 3 + 500);
    expect((await client.rollCall(0)).map((profile) => profile.pid).sort()).to.deep.equal([children[1].pid, worker.pid].sort());

    const table = await runCli(['rollcall', 'chain'], { HOTMESH_REDIS_URL: redis.url });
    expect(table.code).to.equal(0);
    expect(table.stdout.split('\n')[0]).to.match(/^PROCESS\s+HOST:PID\s+VERSION\s+ROLES\s+DEPTH\s+THROTTLE\s+BUSY\s+HEARTBEAT$/);
    expect(table.stdout.trim().split('\n')).to.have.length(3);
    const json = JSON.parse((await runCli(['rollcall', 'chain', '--json'], { HOTMESH_REDIS_URL: redis.url })).stdout);
    expect(json.processes).to.have.length(2);
    expect(json.streamDepths).to.have.property('engine');
  });

  it('lists versions with the active one marked', async () => {
    const result = await runCli(['versions', 'chain'], { HOTMESH_REDIS_URL: redis.url });
    expect(result.code).to.equal(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^VERSION\s+DIGEST\s+DEPLOYED\s+ACTIVATED\s+LIVE JOBS$/);
    expect(lines[1]).to.match(/^1 \*\s+sha256:/);
    expect(lines[2]).to.match(/^2\s+sha256:\S+\s+\S+\s+-\s+0$/);
    const json = JSON.parse((await runCli(['versions', 'chain', '--json'], { HOTMESH_REDIS_URL: redis.url })).stdout);
    expect(json.map((record: { version: string; active: boolean }) => [record.version, record.active])).to.deep.equal([['1', true], ['2', false]]);
  });

  it('refuses to activate a version never deployed, and serialises activations', async () => {
    const result = await runCli(['activate', 'chain', '7'], { HOTMESH_REDIS_URL: redis.url });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/version 7 of app chain is not deployed/);
    await Promise.all([client.activate('2'), client.activate('1'), client.activate('2')]);
    const active = (await client.listVersions()).filter((record) => record.active);
    expect(active).to.have.length(1);
  });
});
