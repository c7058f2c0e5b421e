// Mocha glue for e2e suites: one control plane and one pod runner per test
// run. The first suite that calls testCluster() starts them, and a root
// `after` hook stops them once every suite has finished.
import { execFile } from 'node:child_process';
import { binariesBuilt, helmPath, kubectlPath } from './binaries.ts';
import { sharedControlPlane, stopSharedControlPlane, type ControlPlane } from './control-plane.ts';
import { PodRunner } from './pod-runner.ts';

export { createNamespace, deleteNamespace, uncachedResource, type ControlPlane } from './control-plane.ts';
export { helmPath, kubectlPath } from './binaries.ts';
export type { PodRunner } from './pod-runner.ts';

/** The shared control plane and the pod runner that serves all its namespaces. */
export interface TestCluster {
  plane: ControlPlane;
  runner: PodRunner;
}

let reasonPrinted = false;
let cluster: Promise<TestCluster> | undefined;

/**
 * Skips the calling suite when the control-plane binaries are missing. Call
 * it first in a `before` hook. The reason is printed once per run.
 */
export function skipUnlessBuilt(context: Mocha.Context): void {
  const built = binariesBuilt();
  if (built.ok) return;
  if (!reasonPrinted) {
    reasonPrinted = true;
    console.log(`  skipping control-plane e2e suites: ${built.reason}`);
  }
  context.skip();
}

/** Returns the shared cluster, starting the control plane and pod runner on the first call. */
export async function testCluster(): Promise<TestCluster> {
  cluster ??= (async () => {
    const plane = await sharedControlPlane();
    const runner = await PodRunner.start({ kubeConfig: plane.kubeConfig() });
    process.once('exit', () => runner.killSync());
    return { plane, runner };
  })();
  return await cluster;
}

async function stopTestCluster(): Promise<void> {
  if (!cluster) return;
  const starting = cluster;
  cluster = undefined;
  try {
    const { runner } = await starting;
    await runner.stop();
  } catch {
    // Start failed; the suite that started it has already reported why.
  }
  await stopSharedControlPlane();
}

/** Result of a kubectl or helm run. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built kubectl against the shared cluster. A non-zero exit is returned, not thrown. */
export async function kubectl(plane: ControlPlane, args: string[], input?: string): Promise<CommandResult> {
  return await runTool(kubectlPath(), plane, args, input);
}

/** Runs the built helm against the shared cluster. A non-zero exit is returned, not thrown. */
export async function helm(plane: ControlPlane, args: string[]): Promise<CommandResult> {
  return await runTool(helmPath(), plane, args);
}

async function runTool(file: string, plane: ControlPlane, args: string[], input?: string): Promise<CommandResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: plane.dir, KUBECONFIG: plane.kubeconfigPath };
  return await new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      let code = 0;
      if (error) code = typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * Polls `probe` every 100 ms until it returns a value other than undefined
 * or false, and returns that value. Throws after `timeoutMs` with `what`
 * and the last error the probe threw.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}${lastError}`);
}

// A hook outside any describe() belongs to mocha's root suite, so it runs
// once after all suites. This module is evaluated once, so it is added once.
if (typeof after === 'function') {
  after(async function () {
    this.timeout(60_000);
    await stopTestCluster();
  });
}
