import { expect } from 'chai';
import { decide, emptyHistory, recommend, resolveScaling, startingHistory, type MetricSample, type ScalingHistory } from '../../../src/operator/autoscaler/decide.ts';

const SECOND = 1000;
const base = resolveScaling({ maxReplicas: 10, minReplicas: 0, targetPerReplica: 100, scaleDownStabilizationSeconds: 60, cooldownSeconds: 30, pollingIntervalSeconds: 5 } as never);

function sample(total: number, extra: Partial<Extract<MetricSample, { ok: true }>> = {}): MetricSample {
  return { ok: true, backlog: { 'pay.charge': total }, missing: [], ...extra };
}

/** Runs a series of polls every `every` ms, returning the replicas after each. */
function run(totals: number[], every: number, start = 0, scaling = base): number[] {
  let history: ScalingHistory = emptyHistory();
  let replicas = start;
  const out: number[] = [];
  totals.forEach((total, index) => {
    const decision = decide(scaling, replicas, sample(total), history, index * every);
    history = decision.history;
    replicas = decision.replicas;
    out.push(replicas);
  });
  return out;
}

describe('autoscaler decide', () => {
  it('wakes one worker from zero for one message', () => {
    const decision = decide(base, 0, sample(1), emptyHistory(), 0);
    expect(decision.replicas).to.equal(1);
    expect(decision.reason).to.equal('ScaleUp');
    expect(decision.active).to.equal(true);
  });

  it('stays at zero at or below the activation threshold', () => {
    const scaling = { ...base, activationThreshold: 5 };
    expect(decide(scaling, 0, sample(5), emptyHistory(), 0).replicas).to.equal(0);
    expect(decide(scaling, 0, sample(6), emptyHistory(), 0).replicas).to.equal(1);
  });

  it('jumps straight to the maximum on a burst', () => {
    expect(decide({ ...base, targetPerReplica: 1 }, 1, sample(1000), emptyHistory(), 0).replicas).to.equal(10);
  });

  it('limits scale-up per interval when asked', () => {
    expect(decide({ ...base, scaleUpLimit: 2 }, 1, sample(1000), emptyHistory(), 0).replicas).to.equal(3);
  });

  it('waits out the stabilization window before scaling down', () => {
    // Burst to 5, then no backlog: polls every 5 s with a 60 s window and 30 s cooldown.
    const replicas = run([500, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5 * SECOND);
    expect(replicas.slice(0, 12)).to.deep.equal([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(replicas[12]).to.equal(0);
  });

  it('keeps one replica through the cooldown before zero', () => {
    const scaling = { ...base, scaleDownStabilizationSeconds: 0, cooldownSeconds: 30 };
    const replicas = run([300, 0, 0, 0, 0, 0, 0, 0], 5 * SECOND, 0, scaling);
    expect(replicas).to.deep.equal([3, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('waits a window and a cooldown after a restart', () => {
    // The operator restarts with 4 replicas running and no backlog left.
    let history = startingHistory(4, 0);
    let replicas = 4;
    const reasons: string[] = [];
    const seen: number[] = [];
    for (let at = 5 * SECOND; at <= 95 * SECOND; at += 5 * SECOND) {
      const decision = decide(base, replicas, sample(0), history, at);
      history = decision.history;
      replicas = decision.replicas;
      reasons.push(decision.reason);
      seen.push(replicas);
    }
    // The 60 s window keeps 4 until its seed expires at 60 s. By then the
    // 30 s cooldown, counted from the restart, has passed too.
    expect(seen.slice(0, 11)).to.deep.equal(Array(11).fill(4));
    expect(reasons[0]).to.equal('StabilizationWindow');
    expect(seen[11]).to.equal(0);
    expect(reasons[11]).to.equal('ScaleToZero');
  });

  it('keeps one replica for the cooldown after a restart', () => {
    const scaling = { ...base, scaleDownStabilizationSeconds: 10, cooldownSeconds: 40 };
    let history = startingHistory(3, 0);
    let replicas = 3;
    const seen: number[] = [];
    for (let at = 5 * SECOND; at <= 45 * SECOND; at += 5 * SECOND) {
      const decision = decide(scaling, replicas, sample(0), history, at);
      history = decision.history;
      replicas = decision.replicas;
      seen.push(replicas);
    }
    expect(seen).to.deep.equal([3, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('starts empty when no replica runs', () => {
    expect(startingHistory(0, 1000)).to.deep.equal(emptyHistory());
    expect(decide(base, 0, sample(1), startingHistory(0, 1000), 1000).replicas).to.equal(1);
  });

  it('does not oscillate faster than the window', () => {
    const totals = Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? 800 : 0));
    const replicas = run(totals, 5 * SECOND);
    const changes = replicas.filter((value, index) => index > 0 && value !== replicas[index - 1]).length;
    expect(replicas[0]).to.equal(8);
    expect(changes).to.equal(0);
  });

  it('respects minReplicas', () => {
    const scaling = { ...base, minReplicas: 2 };
    expect(decide(scaling, 0, sample(0), emptyHistory(), 0).replicas).to.equal(2);
  });

  it('sizes replicas to drain within drainSeconds from throughput', () => {
    // One replica drains 1 msg/s, so a backlog of 600 takes it 10 minutes;
    // to drain in 60 s takes 10 replicas.
    const scaling = { ...base, metric: 'drainTime' as const, drainSeconds: 60, maxReplicas: 50 };
    expect(recommend(scaling, 600, 1)).to.equal(10);
    expect(decide(scaling, 1, sample(600, { throughputPerReplica: 1 }), emptyHistory(), 0).replicas).to.equal(10);
  });

  it('falls back to the count target while throughput is unknown', () => {
    const scaling = { ...base, metric: 'drainTime' as const };
    expect(recommend(scaling, 600, undefined)).to.equal(6);
  });

  it('holds replicas while metrics fail, then runs the fallback', () => {
    const failed: MetricSample = { ok: false, error: 'timed out' };
    let history = emptyHistory();
    const first = decide(base, 4, failed, history, 0);
    expect(first.replicas).to.equal(4);
    expect(first.reason).to.equal('MetricsUnavailable');
    history = first.history;
    history = decide(base, 4, failed, history, 5000).history;
    const third = decide(base, 4, failed, history, 10_000);
    expect(third.replicas).to.equal(1);
    expect(third.fallback).to.equal(true);
    expect(third.reason).to.equal('Fallback');
    const recovered = decide(base, 1, sample(250), third.history, 15_000);
    expect(recovered.replicas).to.equal(3);
    expect(recovered.history.failures).to.equal(0);
  });
});
