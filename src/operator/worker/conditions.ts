// Pure status computation for HotMeshWorker: conditions from an outcome.
import type { Condition } from '../api/index.ts';
import { setCondition, type ConditionInput } from '../app/conditions.ts';
import type { PollResult } from './backlog-poller.ts';
import { WORKER_CONDITION, WORKER_REASON } from './reasons.ts';

/** Outcome of a reconcile of a worker. */
export interface WorkerOutcome {
  /** Summary: the app resolved and the workload is applied. */
  ready: boolean;
  reason: string;
  message: string;
  /** The latest poll; undefined before the first poll or when no poll can run. */
  polled?: PollResult;
  /** Why no poll can run, e.g. the app is missing. */
  metricsBlocked?: { reason: string; message: string };
  activationThreshold: number;
  minReplicas: number;
}

/** Returns the conditions of a worker after a reconcile with `outcome`. */
export function workerConditions(current: readonly Condition[], outcome: WorkerOutcome, generation: number, now: Date): Condition[] {
  const inputs: ConditionInput[] = [
    { type: WORKER_CONDITION.ready, status: outcome.ready ? 'True' : 'False', reason: outcome.reason, message: outcome.message },
    metricsCondition(outcome),
    activeCondition(outcome),
    fallbackCondition(outcome),
  ];
  let conditions = [...current];
  for (const input of inputs) conditions = setCondition(conditions, input, generation, now);
  return conditions;
}

function metricsCondition(outcome: WorkerOutcome): ConditionInput {
  const type = WORKER_CONDITION.metricsAvailable;
  if (outcome.metricsBlocked) {
    return { type, status: 'False', reason: outcome.metricsBlocked.reason, message: `${outcome.metricsBlocked.message}; staying at minReplicas ${outcome.minReplicas}` };
  }
  const sample = outcome.polled?.sample;
  if (!sample) return { type, status: 'Unknown', reason: WORKER_REASON.awaitingFirstPoll, message: 'the backlog has not been read yet' };
  if (!sample.ok) return { type, status: 'False', reason: WORKER_REASON.metricsFailed, message: `reading the backlog failed: ${sample.error}` };
  if (sample.missing.length > 0) {
    const message = `no stream or no WORKER consumer group yet for topic ${sample.missing.join(', ')}: the app has not deployed a version that uses it. `
      + `A missing stream counts as a backlog of 0, so the worker stays at minReplicas ${outcome.minReplicas} until messages arrive`;
    return { type, status: 'False', reason: WORKER_REASON.streamsNotFound, message };
  }
  return { type, status: 'True', reason: WORKER_REASON.backlogRead, message: '' };
}

function activeCondition(outcome: WorkerOutcome): ConditionInput {
  const type = WORKER_CONDITION.active;
  const sample = outcome.polled?.sample;
  if (!sample || !sample.ok) return { type, status: 'Unknown', reason: outcome.metricsBlocked?.reason ?? WORKER_REASON.awaitingFirstPoll, message: 'the backlog is unknown' };
  const total = Object.values(sample.backlog).reduce((sum, value) => sum + value, 0);
  return total > outcome.activationThreshold
    ? { type, status: 'True', reason: WORKER_REASON.aboveThreshold, message: `backlog ${total} is above activationThreshold ${outcome.activationThreshold}` }
    : { type, status: 'False', reason: WORKER_REASON.atOrBelowThreshold, message: `backlog ${total} is not above activationThreshold ${outcome.activationThreshold}` };
}

function fallbackCondition(outcome: WorkerOutcome): ConditionInput {
  const decision = outcome.polled?.decision;
  return decision?.fallback
    ? { type: WORKER_CONDITION.fallback, status: 'True', reason: WORKER_REASON.fallbackActive, message: decision.message }
    : { type: WORKER_CONDITION.fallback, status: 'False', reason: WORKER_REASON.metricsHealthy, message: '' };
}
