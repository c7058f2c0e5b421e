// `npm run demo -- --cluster` end to end: the demo runs the real operator
// against the test control plane, with the pod runner running the engine
// and worker pods as local processes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ClusterSupport } from '../../../src/operator/local/cluster-demo.ts';
import * as binaries from '../../support/cluster/binaries.ts';
import { ControlPlane } from '../../support/cluster/control-plane.ts';
import { skipUnlessBuilt } from '../../support/cluster/e2e.ts';
import { PodRunner } from '../../support/cluster/pod-runner.ts';

const demo = join(import.meta.dirname, '../../../src/operator/local/demo.ts');

// cluster-demo.ts loads these modules at run time and declares their types
// itself, so this assignment is what makes `npm run typecheck` fail when
// they drift apart.
const support: ClusterSupport = { ...binaries, ControlPlane, PodRunner };

/** Runs demo.ts with `args` to its exit and returns the exit code and output. */
async function runDemo(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [demo, ...args], { env: { ...process.env, HOTMESH_REDIS_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

describe('demo --cluster', function () {
  this.timeout(180_000);

  it('exits 2 when the control plane is not built', async () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'hotmesh-no-binaries-'));
    try {
      const result = await runDemo(['--cluster', '--jobs', '10'], { HOTMESH_CLUSTER_CACHE: emptyCache });
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stdout).to.equal('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^demo --cluster: .*etcd is missing; run `npm run cluster:build` \(needs Go/);
    } finally {
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });

  it('finds the control-plane code it loads', () => {
    for (const name of ['binariesBuilt', 'kubectlPath'] as const) expect(support[name], name).to.be.a('function');
    expect(support.ControlPlane.start).to.be.a('function');
    expect(support.PodRunner.start).to.be.a('function');
  });

  describe('against the control plane', function () {
    before(function () {
      skipUnlessBuilt(this);
    });

    it('runs jobs, scales up and back down, and cleans up', async () => {
      const { code, stdout, stderr } = await runDemo(['--cluster', '--jobs', '2000']);
      expect(code, `${stdout}\n${stderr.slice(-4000)}`).to.equal(0);
      expect(stdout).to.match(/(using the control plane of npm run cluster:up|started a control plane for this demo at https:\/\/127\.0\.0\.1:\d+)/);
      expect(stdout).to.match(/applied .*config\/samples to namespace hotmesh-demo-\w+ from a copy with spec\.redis\.url redis:\/\/127\.0\.0\.1:\d+/);
      expect(stdout).to.match(/hotmesh operator running as pid \d+/);
      expect(stdout).to.match(/HotMeshApp orders is Ready on version 1/);
      expect(stdout).to.match(/HotMeshWorker\/orders-\w+ ScaledUp: \d+ → \d+ replicas: backlog \d+ by streamLength/);
      expect(stdout).to.match(/HotMeshWorker\/orders-\w+ Scaled(Down|ToZero): \d+ → \d+ replicas/);
      expect(stdout).to.match(/jobs completed\s+2000 of 2000/);
      expect(stdout).to.match(/latency\s+p50 \d+ ms, p99 \d+ ms/);
      const peak = /peak replicas\s+orders-pay (\d+), orders-ship (\d+)/.exec(stdout);
      expect(Number(peak?.[1]) + Number(peak?.[2]), stdout).to.be.greaterThan(1);
      expect(stdout).to.match(/deleted the samples; namespace hotmesh-demo-\w+ is being deleted/);
    });
  });
});
