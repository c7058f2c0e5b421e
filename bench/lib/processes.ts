// Node child processes of the bench and the messages they exchange over IPC.
// The orchestrator (bench/run.ts) runs each measured configuration in a fresh
// scenario process; a scenario may start helper processes for a
// two-process layout. Every child is `process.execPath`, so it runs on the
// Node that runs the bench, and every child exits when its parent goes away.
import { fork, type ChildProcess } from 'node:child_process';
import { peakRssBytes, readProcessCounters, type ProcessCounters } from './measure.ts';

/** Environment variable that carries a scenario's parameters as JSON. */
const PARAMS_VARIABLE = 'BENCH_PARAMS';

type ScenarioReply = { type: 'result'; result: unknown } | { type: 'error'; message: string };

type HelperRequest = { type: 'snapshot' | 'stop'; id: number };
type HelperReply =
  | { type: 'ready'; counters: ProcessCounters }
  | { type: 'reply'; id: number; counters: ProcessCounters; peakRss: number }
  | { type: 'error'; message: string };

const children = new Set<ChildProcess>();

/** Kills every child this process started and that is still running. */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

process.on('exit', killChildren);

function forkNode(script: string, env: NodeJS.ProcessEnv, execArgv: string[]): ChildProcess {
  const child = fork(script, [], {
    execPath: process.execPath,
    execArgv: [...process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof')), ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Runs one scenario file in a fresh process and returns the result it
 * sends. Rejects when the process reports an error, exits without a result
 * or runs longer than `timeoutMs`.
 */
export async function runScenarioProcess<T>(script: string, params: unknown, timeoutMs: number, execArgv: string[] = []): Promise<T> {
  const child = forkNode(script, { [PARAMS_VARIABLE]: JSON.stringify(params) }, execArgv);
  return await new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`scenario ${script} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, result?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result as T);
    };
    let reply: ScenarioReply | undefined;
    child.on('message', (message: ScenarioReply) => { reply = message; });
    child.once('error', (error) => finish(error));
    child.once('exit', (code, signal) => {
      if (reply?.type === 'result') finish(undefined, reply.result as T);
      else if (reply?.type === 'error') finish(new Error(reply.message));
      else finish(new Error(`scenario ${script} exited with ${signal ?? `code ${code}`} before sending a result`));
    });
  });
}

/**
 * Runs `main` as the body of a scenario process: reads the parameters that
 * `runScenarioProcess` passed, sends back the result or the error, and exits.
 */
export function scenarioMain<P, R>(main: (params: P) => Promise<R>): void {
  process.once('disconnect', () => process.exit(1));
  const params = JSON.parse(process.env[PARAMS_VARIABLE] ?? '{}') as P;
  main(params).then(
    (result) => process.send!({ type: 'result', result } satisfies ScenarioReply, () => process.exit(0)),
    (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.send!({ type: 'error', message } satisfies ScenarioReply, () => process.exit(1));
    },
  );
}

/** A helper process of a two-process layout, driven by its scenario. */
export class Helper {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (reply: Extract<HelperReply, { type: 'reply' }>) => void>();
  private nextId = 1;
  private failure: Error | undefined;
  readonly ready: Promise<ProcessCounters>;

  /** Starts `script` with `params`; `ready` resolves once it has started its engine and workers. */
  constructor(script: string, params: unknown) {
    this.child = forkNode(script, { [PARAMS_VARIABLE]: JSON.stringify(params) }, []);
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message: HelperReply) => {
        if (message.type === 'ready') resolve(message.counters);
        else if (message.type === 'reply') this.pending.get(message.id)?.(message);
        else {
          this.failure = new Error(`helper ${script} failed: ${message.message}`);
          reject(this.failure);
        }
      });
      this.child.once('exit', (code, signal) => {
        this.failure ??= new Error(`helper ${script} exited with ${signal ?? `code ${code}`}`);
        reject(this.failure);
      });
    });
  }

  /** Returns the helper's counters now and its peak RSS since it started (getrusage maxrss). */
  async snapshot(): Promise<{ counters: ProcessCounters; peakRss: number }> {
    return await this.request('snapshot');
  }

  /** Stops the helper's engine and waits for the process to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.request('stop').catch(() => undefined);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private async request(type: HelperRequest['type']): Promise<{ counters: ProcessCounters; peakRss: number }> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`helper did not reply to ${type} within 30 s`)), 30_000);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ counters: reply.counters, peakRss: reply.peakRss });
      });
      this.child.send({ type, id } satisfies HelperRequest);
    });
  }
}

/**
 * Runs `start` as the body of a helper process, then serves snapshot and
 * stop requests until stopped.
 */
export function helperMain<P>(start: (params: P) => Promise<{ stop(): Promise<void> }>): void {
  process.once('disconnect', () => process.exit(1));
  const params = JSON.parse(process.env[PARAMS_VARIABLE] ?? '{}') as P;
  start(params).then(
    (running) => {
      process.on('message', (request: HelperRequest) => {
        if (request.type === 'snapshot') {
          process.send!({ type: 'reply', id: request.id, counters: readProcessCounters(), peakRss: peakRssBytes() } satisfies HelperReply);
          return;
        }
        running.stop().finally(() => {
          process.send!({ type: 'reply', id: request.id, counters: readProcessCounters(), peakRss: peakRssBytes() } satisfies HelperReply, () => process.exit(0));
        });
      });
      process.send!({ type: 'ready', counters: readProcessCounters() } satisfies HelperReply);
    },
    (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.send!({ type: 'error', message } satisfies HelperReply, () => process.exit(1));
    },
  );
}
