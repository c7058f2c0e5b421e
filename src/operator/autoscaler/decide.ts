// The autoscaler's decision: a pure function of the scaling spec, the
// replicas now, one metric sample, the decision history and the time. It
// follows the HPA where the HPA is right (scale up at once, scale down to
// the highest recommendation of the stabilization window) and fixes what
// KEDA users hit: one message wakes a worker from zero, and drainTime sizes
// the fleet from measured throughput instead of a fixed count.
import type { ScalingSpec } from '../api/hotmesh-worker.ts';

/** The scaling spec with every default applied. */
export interface Scaling {
  minReplicas: number;
  maxReplicas: number;
  metric: 'streamLength' | 'lag' | 'pending' | 'drainTime';
  targetPerReplica: number;
  drainSeconds: number;
  activationThreshold: number;
  pollingIntervalSeconds: number;
  scaleDownStabilizationSeconds: number;
  cooldownSeconds: number;
  /** Most replicas added in one interval; unlimited when undefined. */
  scaleUpLimit?: number;
  fallback: { failureThreshold: number; replicas: number };
}

/** Applies the documented defaults, which follow KEDA's and the HPA's where those fit. */
export function resolveScaling(spec: ScalingSpec): Scaling {
  return {
    minReplicas: spec.minReplicas ?? 0,
    maxReplicas: spec.maxReplicas,
    metric: (spec.metric ?? 'streamLength') as Scaling['metric'],
    targetPerReplica: spec.targetPerReplica ?? 100,
    drainSeconds: spec.drainSeconds ?? 60,
    activationThreshold: spec.activationThreshold ?? 0,
    pollingIntervalSeconds: spec.pollingIntervalSeconds ?? 5,
    scaleDownStabilizationSeconds: spec.scaleDownStabilizationSeconds ?? 300,
    cooldownSeconds: spec.cooldownSeconds ?? 300,
    scaleUpLimit: spec.scaleUpLimit,
    fallback: { failureThreshold: spec.fallback?.failureThreshold ?? 3, replicas: spec.fallback?.replicas ?? 1 },
  };
}

/** One poll of the metric. */
export type MetricSample =
  | {
    ok: true;
    /** Backlog per topic by the chosen metric. */
    backlog: Record<string, number>;
    /** Topics whose stream or group does not exist yet. */
    missing: string[];
    /** Messages handled per second per ready replica, over recent polls; undefined when unknown. */
    throughputPerReplica?: number;
  }
  | { ok: false; error: string };

/** State the autoscaler keeps between polls, in the controller's memory. */
export interface ScalingHistory {
  /** Recent recommendations, for the scale-down stabilization window. */
  recommendations: Array<{ at: number; replicas: number }>;
  /** Last time the backlog was above the activation threshold, ms. */
  lastActiveAt?: number;
  /** Metric reads that failed in a row. */
  failures: number;
}

/** The outcome of one poll. */
export interface ScaleDecision {
  replicas: number;
  /** Short machine-readable reason, e.g. `ScaleUp`, `StabilizationWindow`. */
  reason: string;
  /** A sentence for the status and the Event. */
  message: string;
  /** The backlog is above the activation threshold. */
  active: boolean;
  /** The fallback replicas are in force because metrics failed. */
  fallback: boolean;
  total: number;
  history: ScalingHistory;
}

export function emptyHistory(): ScalingHistory {
  return { recommendations: [], failures: 0 };
}

/**
 * Returns the history of a worker the poller starts on, as after an operator
 * restart, which loses the history kept in memory. The replicas running now
 * count as a recommendation made now and the backlog as active now, so the
 * first scale-down waits a whole stabilization window and scaling to zero a
 * whole cooldown, instead of acting on a single poll.
 */
export function startingHistory(current: number, now: number): ScalingHistory {
  if (current <= 0) return emptyHistory();
  return { recommendations: [{ at: now, replicas: current }], lastActiveAt: now, failures: 0 };
}

function clamp(value: number, scaling: Scaling): number {
  return Math.min(scaling.maxReplicas, Math.max(scaling.minReplicas, value));
}

/** Returns the replicas the backlog calls for, before stabilization and limits. */
export function recommend(scaling: Scaling, total: number, throughputPerReplica: number | undefined): number {
  if (total <= scaling.activationThreshold) return 0;
  let needed: number;
  if (scaling.metric === 'drainTime' && throughputPerReplica !== undefined && throughputPerReplica > 0) {
    needed = Math.ceil(total / (throughputPerReplica * scaling.drainSeconds));
  } else {
    needed = Math.ceil(total / scaling.targetPerReplica);
  }
  // Any backlog above the threshold wakes at least one worker.
  return Math.max(1, needed);
}

/**
 * Decides the replicas for one poll. Scaling up goes straight to the
 * recommendation, or by `scaleUpLimit` per interval. Scaling down takes the
 * highest recommendation of the last `scaleDownStabilizationSeconds`, and
 * scaling to zero also waits `cooldownSeconds` after the backlog was last active.
 */
export function decide(scaling: Scaling, current: number, sample: MetricSample, history: ScalingHistory, now: number): ScaleDecision {
  if (!sample.ok) {
    const failures = history.failures + 1;
    const next = { ...history, failures };
    if (failures >= scaling.fallback.failureThreshold) {
      const replicas = Math.min(scaling.maxReplicas, scaling.fallback.replicas);
      return { replicas, reason: 'Fallback', message: `metrics failed ${failures} times in a row (${sample.error}); running the fallback of ${replicas}`, active: false, fallback: true, total: 0, history: next };
    }
    return { replicas: current, reason: 'MetricsUnavailable', message: `metrics failed (${sample.error}); keeping ${current} replicas`, active: false, fallback: false, total: 0, history: next };
  }

  const total = Object.values(sample.backlog).reduce((sum, value) => sum + value, 0);
  const active = total > scaling.activationThreshold;
  const lastActiveAt = active ? now : history.lastActiveAt;
  const unclamped = recommend(scaling, total, sample.throughputPerReplica);
  const raw = clamp(unclamped, scaling);
  const windowStart = now - scaling.scaleDownStabilizationSeconds * 1000;
  const recommendations = [...history.recommendations.filter((entry) => entry.at > windowStart), { at: now, replicas: raw }];
  const next: ScalingHistory = { recommendations, lastActiveAt, failures: 0 };
  const base = { active, fallback: false, total, history: next };

  if (raw > current) {
    const replicas = scaling.scaleUpLimit === undefined ? raw : Math.min(raw, current + scaling.scaleUpLimit);
    const limited = replicas < raw ? `, limited by scaleUpLimit ${scaling.scaleUpLimit}` : '';
    const basis = scaling.metric === 'drainTime' && sample.throughputPerReplica ? `drainSeconds ${scaling.drainSeconds}` : `targetPerReplica ${scaling.targetPerReplica}`;
    const capped = unclamped > scaling.maxReplicas ? `, capped at maxReplicas ${scaling.maxReplicas}` : '';
    return { ...base, replicas, reason: 'ScaleUp', message: `backlog ${total} by ${scaling.metric} asks for ${unclamped} ${unclamped === 1 ? 'replica' : 'replicas'} (${basis})${capped}${limited}` };
  }

  const stabilized = Math.max(...recommendations.map((entry) => entry.replicas));
  let replicas = Math.min(current, stabilized);
  if (replicas === current) {
    const reason = raw < current ? 'StabilizationWindow' : 'Steady';
    const message = raw < current
      ? `backlog ${total} asks for ${raw}, but ${stabilized} was recommended within the last ${scaling.scaleDownStabilizationSeconds} s; keeping ${current}`
      : `backlog ${total} by ${scaling.metric}; keeping ${current}`;
    return { ...base, replicas: current, reason, message };
  }
  if (replicas === 0) {
    const quietFor = lastActiveAt === undefined ? Number.POSITIVE_INFINITY : now - lastActiveAt;
    if (quietFor < scaling.cooldownSeconds * 1000) {
      replicas = Math.max(1, scaling.minReplicas);
      if (replicas >= current) {
        return { ...base, replicas: current, reason: 'Cooldown', message: `no backlog, but the last was ${Math.round(quietFor / 1000)} s ago; scaling to zero after ${scaling.cooldownSeconds} s` };
      }
    }
  }
  const message = replicas === 0
    ? `no backlog above activationThreshold ${scaling.activationThreshold} for the ${scaling.cooldownSeconds} s cooldown`
    : `backlog ${total} by ${scaling.metric}; ${replicas} is the highest recommendation of the last ${scaling.scaleDownStabilizationSeconds} s`;
  return { ...base, replicas, reason: replicas === 0 ? 'ScaleToZero' : 'ScaleDown', message };
}
