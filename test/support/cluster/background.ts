// Runs one test control plane and pod runner in the background for manual
// work and for tests run by hand against it.
//
//   node test/support/cluster/background.ts up     start, write .cluster/kubeconfig, return
//   node test/support/cluster/background.ts down   stop what `up` started
//   node test/support/cluster/background.ts serve  (internal) the detached process `up` starts
//
// `up` is `npm run cluster:up` and `down` is `npm run cluster:down`.
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binariesBuilt, repoRoot } from './binaries.ts';
import { ControlPlane } from './control-plane.ts';
import { PodRunner } from './pod-runner.ts';

const stateDir = join(repoRoot, '.cluster');
const kubeconfigPath = join(stateDir, 'kubeconfig');
const pidsPath = join(stateDir, 'pids.json');
const serveLogPath = join(stateDir, 'cluster.log');
const podLogDir = join(stateDir, 'pods');
const upTimeoutMs = 120_000;
const downTimeoutMs = 30_000;

/** Contents of .cluster/pids.json. */
interface ClusterState {
  /** The detached `serve` process. */
  serve: number;
  /** Component pids by name. Each is the leader of its own process group. */
  components: Record<string, number>;
  /** Temp folder of the control plane, removed by a clean stop. */
  dir: string;
  apiServerUrl: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): ClusterState | undefined {
  try {
    return JSON.parse(readFileSync(pidsPath, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

async function up(): Promise<void> {
  const built = binariesBuilt();
  if (!built.ok) {
    console.error(`cluster:up: ${built.reason}`);
    process.exitCode = 1;
    return;
  }
  const existing = readState();
  if (existing && isAlive(existing.serve)) {
    console.log(`cluster:up: already running (pid ${existing.serve}, ${existing.apiServerUrl}), KUBECONFIG=${kubeconfigPath}`);
    return;
  }

  mkdirSync(stateDir, { recursive: true });
  rmSync(pidsPath, { force: true });
  rmSync(kubeconfigPath, { force: true });
  const log = openSync(serveLogPath, 'a');
  const started = Date.now();
  const child = spawn(process.execPath, [import.meta.filename, 'serve'], {
    cwd: repoRoot, detached: true, stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();

  while (Date.now() - started < upTimeoutMs) {
    if (existsSync(pidsPath)) {
      const state = readState()!;
      console.log(`cluster:up: control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${state.apiServerUrl}`);
      console.log(`cluster:up: pids ${JSON.stringify({ serve: state.serve, ...state.components })}`);
      console.log(`cluster:up: pod logs in ${podLogDir}, control-plane log in ${serveLogPath}`);
      console.log(`export KUBECONFIG=${kubeconfigPath}`);
      return;
    }
    if (child.exitCode !== null || (child.pid !== undefined && !isAlive(child.pid))) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.error(`cluster:up: the control plane failed to start or timed out after ${upTimeoutMs / 1000} s, see ${serveLogPath}`);
  if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, 'SIGTERM');
  process.exitCode = 1;
}

async function serve(): Promise<void> {
  const plane = await ControlPlane.start();
  const runner = await PodRunner.start({ kubeConfig: plane.kubeConfig(), logDir: podLogDir, verbose: true });
  copyFileSync(plane.kubeconfigPath, kubeconfigPath);
  const state: ClusterState = { serve: process.pid, components: plane.pids(), dir: plane.dir, apiServerUrl: plane.apiServerUrl };
  // Written last: `up` takes its existence as the ready signal.
  writeFileSync(pidsPath, `${JSON.stringify(state, null, 2)}\n`);
  console.log(`cluster serve: ready at ${plane.apiServerUrl}, pids ${JSON.stringify(state.components)}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`cluster serve: ${signal} received, stopping`);
    await runner.stop();
    await plane.stop();
    rmSync(pidsPath, { force: true });
    rmSync(kubeconfigPath, { force: true });
    console.log('cluster serve: stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    console.log('cluster:down: nothing to stop (no .cluster/pids.json)');
    return;
  }

  if (isAlive(state.serve)) {
    process.kill(state.serve, 'SIGTERM');
    const deadline = Date.now() + downTimeoutMs;
    while (isAlive(state.serve) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  }

  // A serve process that died or hung leaves its components behind: kill their groups.
  let killed = 0;
  for (const [name, pid] of Object.entries(state.components)) {
    if (!isAlive(pid)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      killed += 1;
      console.log(`cluster:down: killed ${name} (pid ${pid})`);
    } catch (error) {
      console.error(`cluster:down: cannot kill ${name} (pid ${pid}): ${(error as Error).message}`);
    }
  }
  if (isAlive(state.serve)) {
    process.kill(state.serve, 'SIGKILL');
    console.log(`cluster:down: killed the serve process (pid ${state.serve}) after ${downTimeoutMs / 1000} s`);
  }
  if (killed > 0) {
    // NOTE: pod processes of a killed serve process are not tracked here.
    // Find them with `pgrep -f` and the commands in .cluster/pods/pod-runner.log.
    rmSync(state.dir, { recursive: true, force: true });
  }
  rmSync(pidsPath, { force: true });
  rmSync(kubeconfigPath, { force: true });
  console.log('cluster:down: stopped');
}

const command = process.argv[2];
switch (command) {
  case 'up': await up(); break;
  case 'down': await down(); break;
  case 'serve':
    try {
      await serve();
    } catch (error) {
      console.error(`cluster serve: start failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    }
    break;
  default:
    console.error(`usage: node test/support/cluster/background.ts up|down (got ${JSON.stringify(command)})`);
    process.exitCode = 2;
}
