import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const demo = join(import.meta.dirname, '../../../src/operator/local/demo.ts');

describe('demo in local mode', function () {
  this.timeout(180_000);

  it('runs jobs, scales up and back down, and prints a summary', async () => {
    const child = spawn(process.execPath, [demo, '--jobs', '3000'], { env: { ...process.env, HOTMESH_REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', () => undefined);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stdout).to.equal(0);
    expect(stdout).to.match(/HotMeshApp orders is Ready on version 1/);
    expect(stdout).to.match(/HotMeshWorker\/orders-\w+ ScaledUp: \d+ → \d+ replicas: backlog \d+ by streamLength/);
    expect(stdout).to.match(/HotMeshWorker\/orders-\w+ Scaled(Down|ToZero): \d+ → \d+ replicas/);
    expect(stdout).to.match(/jobs completed\s+3000 of 3000/);
    expect(stdout).to.match(/latency\s+p50 \d+ ms, p99 \d+ ms/);
    const peak = /peak replicas\s+orders-pay (\d+), orders-ship (\d+)/.exec(stdout);
    expect(Number(peak?.[1]) + Number(peak?.[2])).to.be.greaterThan(1);
  });
});
