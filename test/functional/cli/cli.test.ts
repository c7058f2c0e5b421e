import { expect } from 'chai';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { RedisServer } from '../../support/redis-server.ts';
import { runCli, startCli, waitFor, waitForExit } from '../../support/cli.ts';

const root = join(import.meta.dirname, '../../..');
const manifest = join(root, 'examples/quote/app.yaml');
const workerModule = join(root, 'examples/quote/workers.ts');

describe('hotmesh CLI', function () {
  this.timeout(90_000);
  let redis: RedisServer;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  before(async () => {
    redis = await RedisServer.start();
    env = { HOTMESH_REDIS_URL: redis.url };
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await redis?.stop();
  });

  it('deploys and activates a manifest', async () => {
    const result = await runCli(['deploy', manifest, '--activate'], env);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^deployed quote version 1 \(sha256:[0-9a-f]{64}\)\nactivated quote version 1\n$/);
    const again = await runCli(['deploy', manifest], env);
    expect(again.stdout).to.match(/^unchanged quote version 1/);
  });

  it('runs jobs through separate engine and worker processes', async () => {
    const engine = startCli(['engine', 'quote'], env);
    const worker = startCli(['worker', 'quote', '--module', workerModule], env);
    children.push(engine, worker);
    await waitFor(() => engine.output().includes('hotmesh started') && worker.output().includes('hotmesh started'), 15_000, 'engine and worker to start');

    const cases = [
      { input: { id: 'cli-1', sku: 'gadget', quantity: 3, customer: 'ada' }, data: { customer: 'ada', subtotal: 120, discount: 12, total: 108, summary: 'quote for ada with discount' } },
      { input: { id: 'cli-2', sku: 'widget', quantity: 2, customer: 'bo' }, data: { customer: 'bo', subtotal: 25, discount: 0, total: 25, summary: 'quote for bo' } },
      { input: { id: 'cli-3', sku: 'gizmo', quantity: 1, customer: 'cy' }, data: { customer: 'cy', subtotal: 99, discount: 0, total: 99, summary: 'quote for cy' } },
    ];
    for (const { input, data } of cases) {
      const result = await runCli(['pub', 'quote', 'quote.requested', JSON.stringify(input), '--await', '--timeout', '10000'], env);
      expect(result.code, result.stderr).to.equal(0);
      const output = JSON.parse(result.stdout);
      expect(output.metadata.jid).to.equal(input.id);
      expect(output.metadata.js).to.equal(0);
      expect(output.metadata.vrs).to.equal('1');
      expect(output.data).to.deep.equal(data);
    }

    const job = await runCli(['job', 'quote', 'cli-1'], env);
    expect(job.code).to.equal(0);
    expect(JSON.parse(job.stdout).data.total).to.equal(108);

    const published = await runCli(['pub', 'quote', 'quote.requested', JSON.stringify({ id: 'cli-4', sku: 'gizmo', quantity: 2, customer: 'dee' })], env);
    expect(published.stdout).to.equal('cli-4\n');

    worker.kill('SIGTERM');
    engine.kill('SIGTERM');
    expect(await waitForExit(worker)).to.deep.equal({ code: 0, signal: null });
    expect(await waitForExit(engine)).to.deep.equal({ code: 0, signal: null });
  });

  it('exits 1 when an awaited job fails', async () => {
    const worker = startCli(['worker', 'quote', '--module', workerModule], env);
    children.push(worker);
    await waitFor(() => worker.output().includes('hotmesh started'), 15_000, 'worker to start');
    // An unknown sku makes the price worker throw on every attempt.
    const result = await runCli(['pub', 'quote', 'quote.requested', JSON.stringify({ id: 'cli-bad', sku: 'anvil', quantity: 1, customer: 'x' }), '--await', '--timeout', '20000'], env);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/job cli-bad failed with code 500: unknown sku anvil/);
    expect(JSON.parse(result.stdout).metadata.err).to.deep.include({ message: 'unknown sku anvil', code: 500 });
    worker.kill('SIGTERM');
    await waitForExit(worker);
  });

  it('exits 1 when --await times out', async () => {
    const result = await runCli(['pub', 'quote', 'quote.requested', JSON.stringify({ id: 'cli-slow', sku: 'gizmo', quantity: 1, customer: 'x' }), '--await', '--timeout', '300'], env);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/job cli-slow did not finish within 300 ms/);
  });

  const badInput: Array<{ name: string; args: () => string[]; pattern: RegExp; code: number }> = [
    { name: 'unknown command', args: () => ['frobnicate'], pattern: /unknown command "frobnicate"/, code: 2 },
    { name: 'invalid JSON', args: () => ['pub', 'quote', 'quote.requested', '{nope'], pattern: /the job input \(JSON\) is not valid JSON/, code: 2 },
    { name: 'JSON that is not an object', args: () => ['pub', 'quote', 'quote.requested', '[1]'], pattern: /must be a JSON object/, code: 2 },
    { name: 'unknown topic', args: () => ['pub', 'quote', 'no.such.topic', '{}'], pattern: /no graph of app quote version 1 subscribes to topic no\.such\.topic/, code: 1 },
    { name: 'missing job', args: () => ['job', 'quote', 'ghost'], pattern: /job ghost not found in app quote/, code: 1 },
    { name: 'missing manifest file', args: () => ['deploy', '/no/such/app.yaml'], pattern: /cannot read manifest: file not found/, code: 2 },
    { name: 'activate of an undeployed version', args: () => ['activate', 'quote', '9'], pattern: /version 9 of app quote is not deployed/, code: 1 },
    { name: 'worker without --module', args: () => ['worker', 'quote'], pattern: /worker needs --module PATH/, code: 2 },
    { name: 'unknown option', args: () => ['job', 'quote', 'x', '--frob'], pattern: /Unknown option '--frob'/, code: 2 },
    { name: 'unreachable Redis', args: () => ['versions', 'quote', '--redis', 'redis://127.0.0.1:1'], pattern: /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(no connection after 3 tries\); set --redis or HOTMESH_REDIS_URL/, code: 1 },
    { name: 'URL that is not Redis', args: () => ['versions', 'quote', '--redis', 'http://127.0.0.1:1'], pattern: /--redis must be a redis:\/\/ or rediss:\/\/ URL/, code: 2 },
    { name: 'throttle of an unknown topic', args: () => ['throttle', 'quote', '--topic', 'quote.pricee', 'pause'], pattern: /no deployed version of app quote has worker topic quote\.pricee; topics: quote\.discount, quote\.price/, code: 1 },
    { name: 'database that is not a number', args: () => ['versions', 'quote', '--redis', `${redis.url}/abc`], pattern: /--redis: Redis URL .* has the path \/abc; the path can only be a database number/, code: 2 },
    { name: 'database the server lacks', args: () => ['versions', 'quote', '--redis', `${redis.url}/99`], pattern: /has no database 99 \(ERR DB index is out of range\)/, code: 2 },
    { name: 'database the server lacks, as a query', args: () => ['versions', 'quote', '--redis', `${redis.url}?db=99`], pattern: /has no database 99/, code: 2 },
    { name: 'port out of range', args: () => ['versions', 'quote', '--redis', 'redis://127.0.0.1:99999'], pattern: /--redis: Redis URL "redis:\/\/127\.0\.0\.1:99999" is not a valid URL/, code: 2 },
    { name: 'option without its value', args: () => ['versions', 'quote', '--redis'], pattern: /--redis needs a value/, code: 2 },
    { name: 'bad timeout', args: () => ['pub', 'quote', 'quote.requested', '{}', '--await', '--timeout', 'soon'], pattern: /--timeout must be a positive whole number/, code: 2 },
  ];
  for (const testCase of badInput) {
    it(`rejects ${testCase.name} with one line`, async () => {
      const result = await runCli(testCase.args(), env);
      expect(result.code).to.equal(testCase.code);
      expect(result.stderr).to.match(testCase.pattern);
      expect(result.stderr.trim().split('\n')).to.have.length(1);
      expect(result.stderr).to.match(/^hotmesh: /);
    });
  }

  it('rejects an invalid manifest naming file, line and path, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotmesh-cli-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, "app:\n  id: broken\n  version: 1.10\n  graphs:\n    - subscribes: b.start\n      activities:\n        t1: { type: trigger }\n");
    const result = await runCli(['deploy', file], env);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include(`${file}:3: app.version: app.version must be a string`);
    expect(result.stderr).to.include("quote it, version: '1.10'");
    const client = redis.client();
    expect(await client.keys('*{broken}*')).to.deep.equal([]);
    client.disconnect();
  });
});
