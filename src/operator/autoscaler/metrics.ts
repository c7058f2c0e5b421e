// Reads the backlog of a worker's topics from Redis for the autoscaler: one
// pipelined round trip per poll, bounded by a timeout so a slow Redis can
// never stall the controller.
import type { Redis } from 'ioredis';
import { WORKER_GROUP, type AppKeys } from '../../engine/store/keys.ts';
import type { MetricSample, Scaling } from './decide.ts';

/** Throughput bookkeeping kept between polls of one HotMeshWorker. */
export interface ThroughputState {
  /** Per topic: the group's entries-read counter at the last poll. */
  entriesRead: Record<string, number>;
  at?: number;
  /** Ready replicas at the last poll. */
  ready?: number;
  /** Recent per-replica rates, messages per second, newest last. */
  rates: number[];
  /** Messages were waiting undelivered at the last poll. */
  busy?: boolean;
}

export function emptyThroughput(): ThroughputState {
  return { entriesRead: {}, rates: [] };
}

/** Polls kept in the throughput average. */
const RATE_WINDOWS = 3;

type GroupInfo = { name: string; lag: number | null; pending: number; entriesRead: number | null };

function parseGroups(reply: unknown): GroupInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((entry) => {
    const fields = Array.isArray(entry) ? entry : [];
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[String(fields[i])] = fields[i + 1];
    const number = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
    return { name: String(record.name), lag: number(record.lag), pending: Number(record.pending ?? 0), entriesRead: number(record['entries-read']) };
  });
}

/**
 * Reads one sample. `streamLength` is XLEN, which is the backlog because the
 * engine deletes every handled message. A missing stream counts as 0 and a
 * missing group as the stream's length. `lag` uses the group's lag where
 * Redis reports it, else the stream length. `pending` counts read but
 * unacknowledged messages. `drainTime` uses XLEN and measures throughput
 * from the group's entries-read counter, over polls with the same ready
 * replicas at both ends.
 */
export async function readBacklog(
  client: Redis,
  keys: AppKeys,
  topics: string[],
  scaling: Scaling,
  readyReplicas: number,
  throughput: ThroughputState,
  now: number,
  timeoutMs = 2000,
): Promise<MetricSample> {
  const read = async (): Promise<MetricSample> => {
    const pipeline = client.pipeline();
    for (const topic of topics) {
      pipeline.xlen(keys.workerStream(topic));
      pipeline.xinfo('GROUPS', keys.workerStream(topic));
    }
    const replies = (await pipeline.exec()) ?? [];
    const backlog: Record<string, number> = {};
    const missing: string[] = [];
    let handled = 0;
    let waiting = 0;
    let measurable = throughput.at !== undefined;
    topics.forEach((topic, index) => {
      const [lengthError, lengthReply] = replies[index * 2] ?? [];
      if (lengthError) throw lengthError;
      const length = Number(lengthReply ?? 0);
      const [groupsError, groupsReply] = replies[index * 2 + 1] ?? [];
      const group = groupsError ? undefined : parseGroups(groupsReply).find((candidate) => candidate.name === WORKER_GROUP);
      if (groupsError || !group) missing.push(topic);
      // Not yet delivered to any consumer: the lag, else what is not pending.
      waiting += group ? group.lag ?? Math.max(0, length - group.pending) : length;
      switch (scaling.metric) {
        case 'lag':
          backlog[topic] = group?.lag ?? length;
          break;
        case 'pending':
          backlog[topic] = group?.pending ?? 0;
          break;
        default:
          backlog[topic] = length;
      }
      if (group?.entriesRead !== null && group?.entriesRead !== undefined) {
        const previous = throughput.entriesRead[topic];
        if (previous === undefined) measurable = false;
        else handled += Math.max(0, group.entriesRead - previous);
        throughput.entriesRead[topic] = group.entriesRead;
      } else {
        measurable = false;
      }
    });
    // Only windows with the same ready replicas at both ends count: a pod
    // that just became ready may not read yet, and would pull the rate down.
    // Windows also need messages waiting undelivered at both ends, because
    // otherwise the replicas had free slots for part of the window.
    const steady = throughput.ready === readyReplicas;
    const busy = waiting > 0;
    if (measurable && steady && busy && throughput.busy === true && readyReplicas > 0 && throughput.at !== undefined && now > throughput.at && handled > 0) {
      const rate = handled / ((now - throughput.at) / 1000) / readyReplicas;
      throughput.rates = [...throughput.rates, rate].slice(-RATE_WINDOWS);
    }
    throughput.at = now;
    throughput.ready = readyReplicas;
    throughput.busy = busy;
    const throughputPerReplica = throughput.rates.length === 0 ? undefined : throughput.rates.reduce((sum, rate) => sum + rate, 0) / throughput.rates.length;
    return { ok: true, backlog, missing, throughputPerReplica };
  };

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<MetricSample>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `Redis did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([read().catch((error: Error) => ({ ok: false as const, error: error.message })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
