// BullMQ's side of the bench: the three steps as a chain of jobs. A chain is
// three jobs on three queues: the step-1 processor adds the step-2 job,
// whose processor adds the step-3 job. A chain completes when the step-3
// worker emits `completed` in this process, which costs no Redis command,
// so BullMQ's latency has no notification hop while ours has a PUBLISH.
import { Queue, Worker, type Job } from 'bullmq';

interface ChainData {
  chain: number;
  n?: number;
  x?: number;
}

export interface BullMqChain {
  /** Runs chain `n` and resolves with its step-3 result y = 2(n + 1). */
  runOne(n: number): Promise<number>;
  close(): Promise<void>;
}

/** Starts the three queues and workers, each worker at `concurrency`. */
export async function startBullMqChain(host: string, port: number, concurrency: number): Promise<BullMqChain> {
  const connection = { host, port, maxRetriesPerRequest: null };
  const jobOptions = { removeOnComplete: true, removeOnFail: 1000 };
  const queues = ['bench-start', 'bench-first', 'bench-second'].map((name) => new Queue<ChainData>(name, { connection, defaultJobOptions: jobOptions }));
  const [startQueue, firstQueue, secondQueue] = queues;
  const waiting = new Map<number, (y: number) => void>();

  const workers = [
    new Worker<ChainData>('bench-start', async (job: Job<ChainData>) => {
      await firstQueue.add('first', { chain: job.data.chain, n: job.data.n });
    }, { connection, concurrency }),
    new Worker<ChainData>('bench-first', async (job: Job<ChainData>) => {
      await secondQueue.add('second', { chain: job.data.chain, x: Number(job.data.n) + 1 });
    }, { connection, concurrency }),
    new Worker<ChainData, { y: number }>('bench-second', async (job: Job<ChainData>) => ({ y: Number(job.data.x) * 2 }), { connection, concurrency }),
  ];
  workers[2].on('completed', (job, result) => waiting.get(job.data.chain)?.(result.y));
  for (const worker of workers) worker.on('failed', (job, error) => console.error(`bullmq job ${job?.id} failed: ${error.message}`));
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  let nextChain = 0;
  return {
    runOne: async (n) => {
      const chain = nextChain++;
      const done = new Promise<number>((resolve) => waiting.set(chain, resolve));
      await startQueue.add('start', { chain, n });
      const y = await done;
      waiting.delete(chain);
      return y;
    },
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      await Promise.all(queues.map((queue) => queue.close()));
    },
  };
}

export async function bullMqVersion(): Promise<string> {
  const manifest = await import('bullmq/package.json', { with: { type: 'json' } });
  return (manifest.default as { version: string }).version;
}
