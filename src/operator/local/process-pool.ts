// Runs the replicas of a workload as local processes, for the local mode
// that needs no cluster: the container's command and args with its
// environment, the image ignored. Scaling down sends SIGTERM, so worker
// processes drain the messages in hand as pods do.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'winston';

/** Folder of this repository, where the CLI and the examples live. */
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(REPO_ROOT, 'src', 'cli', 'main.ts');

/** How to start one replica. */
export interface ProcessSpec {
  command: string[];
  env: Record<string, string>;
  /** Time a stopping replica gets before SIGKILL, ms. */
  graceMs: number;
}

interface Replica {
  child: ChildProcess;
  ready: boolean;
  stopping: boolean;
}

/**
 * Maps a container command to a local one: `hotmesh` runs this repository's
 * CLI on the current Node, `node` is the current Node, and paths under /app/
 * (the images' working folder) point into this repository, with `.js`
 * falling back to the `.ts` source.
 */
export function localCommand(command: string[]): string[] {
  const mapped = command.map((part) => {
    if (!part.startsWith('/app/')) return part;
    const local = join(REPO_ROOT, part.slice('/app/'.length));
    if (!existsSync(local) && local.endsWith('.js') && existsSync(local.replace(/\.js$/, '.ts'))) return local.replace(/\.js$/, '.ts');
    return local;
  });
  const [head, ...rest] = mapped;
  if (head === 'hotmesh') return [process.execPath, CLI, ...rest];
  if (head === 'node') return [process.execPath, ...rest];
  return mapped;
}

/** The replicas of every local workload, by name. */
export class ProcessPool {
  private readonly workloads = new Map<string, { spec: ProcessSpec; replicas: Replica[] }>();
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Starts or stops replicas until `count` run with `spec`; a changed spec replaces them all. */
  scale(name: string, count: number, spec: ProcessSpec): void {
    let workload = this.workloads.get(name);
    if (workload && JSON.stringify(workload.spec) !== JSON.stringify(spec)) {
      for (const replica of workload.replicas) this.stopReplica(name, replica, workload.spec.graceMs);
      workload.replicas = [];
    }
    if (!workload) {
      workload = { spec, replicas: [] };
      this.workloads.set(name, workload);
    }
    workload.spec = spec;
    const live = workload.replicas.filter((replica) => !replica.stopping);
    while (live.length < count) {
      const replica = this.startReplica(name, spec);
      live.push(replica);
      workload.replicas.push(replica);
    }
    // Newest first, as a ReplicaSet prefers to delete the youngest pods.
    while (live.length > count) this.stopReplica(name, live.pop()!, spec.graceMs);
  }

  /** Running replicas, and those that reported started. */
  state(name: string): { replicas: number; readyReplicas: number } | undefined {
    const workload = this.workloads.get(name);
    if (!workload) return undefined;
    const live = workload.replicas.filter((replica) => !replica.stopping && replica.child.exitCode === null && replica.child.signalCode === null);
    return { replicas: live.length, readyReplicas: live.filter((replica) => replica.ready).length };
  }

  /** Stops every replica and waits for them to exit. */
  async stopAll(): Promise<void> {
    const exits: Array<Promise<unknown>> = [];
    for (const [name, workload] of this.workloads) {
      for (const replica of workload.replicas) {
        if (replica.child.exitCode === null && replica.child.signalCode === null) {
          exits.push(new Promise((resolve) => replica.child.once('exit', resolve)));
          this.stopReplica(name, replica, workload.spec.graceMs);
        }
      }
    }
    await Promise.all(exits);
    this.workloads.clear();
  }

  private startReplica(name: string, spec: ProcessSpec): Replica {
    const [file, ...args] = localCommand(spec.command);
    const child = spawn(file, args, { cwd: REPO_ROOT, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const replica: Replica = { child, ready: false, stopping: false };
    const watch = (chunk: Buffer): void => {
      if (!replica.ready && chunk.toString().includes('hotmesh started')) replica.ready = true;
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
    child.on('error', (error) => this.logger.error('replica failed to start', { workload: name, err: error.message }));
    child.on('exit', (code, signal) => {
      if (!replica.stopping) {
        this.logger.warn('replica exited; starting another', { workload: name, code, signal });
        const workload = this.workloads.get(name);
        if (!workload) return;
        workload.replicas = workload.replicas.filter((candidate) => candidate !== replica);
        setTimeout(() => {
          const current = this.workloads.get(name);
          if (current) this.scale(name, current.replicas.filter((candidate) => !candidate.stopping).length + 1, current.spec);
        }, 1000).unref();
      }
    });
    return replica;
  }

  private stopReplica(name: string, replica: Replica, graceMs: number): void {
    if (replica.stopping) return;
    replica.stopping = true;
    replica.child.kill('SIGTERM');
    const timer = setTimeout(() => replica.child.kill('SIGKILL'), graceMs);
    timer.unref();
    replica.child.once('exit', () => {
      clearTimeout(timer);
      const workload = this.workloads.get(name);
      if (workload) workload.replicas = workload.replicas.filter((candidate) => candidate !== replica);
    });
  }
}
