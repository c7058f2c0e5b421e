import { expect } from 'chai';
import { emptyHistory } from '../../../src/operator/autoscaler/decide.ts';
import { workerConditions, type WorkerOutcome } from '../../../src/operator/worker/conditions.ts';

const now = new Date('2026-08-30T10:00:00Z');
const base: WorkerOutcome = { ready: true, reason: 'Reconciled', message: '', activationThreshold: 0, minReplicas: 0 };

function byType(outcome: WorkerOutcome): Record<string, { status: string; reason: string; message: string }> {
  return Object.fromEntries(workerConditions([], outcome, 1, now).map((condition) => [condition.type, condition]));
}

describe('worker conditions', () => {
  it('says which streams are missing', () => {
    const conditions = byType({ ...base, polled: { at: 0, sample: { ok: true, backlog: { 'pay.charge': 0 }, missing: ['pay.charge'] } } });
    expect(conditions.MetricsAvailable.status).to.equal('False');
    expect(conditions.MetricsAvailable.reason).to.equal('StreamsNotFound');
    expect(conditions.MetricsAvailable.message).to.contain('pay.charge');
    expect(conditions.MetricsAvailable.message).to.contain('minReplicas 0');
    expect(conditions.Active.status).to.equal('False');
  });

  it('reports a missing app as blocked metrics', () => {
    const conditions = byType({ ...base, ready: false, reason: 'AppNotFound', message: 'no app', metricsBlocked: { reason: 'AppNotFound', message: 'HotMeshApp orders not found' } });
    expect(conditions.Ready.status).to.equal('False');
    expect(conditions.MetricsAvailable.reason).to.equal('AppNotFound');
    expect(conditions.MetricsAvailable.message).to.equal('HotMeshApp orders not found; staying at minReplicas 0');
    expect(conditions.Active.status).to.equal('Unknown');
  });

  it('marks fallback and activity', () => {
    const decision = { replicas: 1, reason: 'Fallback', message: 'metrics failed 3 times', active: false, fallback: true, total: 0, history: emptyHistory() };
    const failed = byType({ ...base, polled: { at: 0, sample: { ok: false, error: 'timed out' }, decision } });
    expect(failed.Fallback.status).to.equal('True');
    expect(failed.MetricsAvailable.reason).to.equal('MetricsFailed');
    const active = byType({ ...base, activationThreshold: 2, polled: { at: 0, sample: { ok: true, backlog: { a: 2, b: 1 }, missing: [] } } });
    expect(active.Active.status).to.equal('True');
    expect(active.Fallback.status).to.equal('False');
    expect(active.MetricsAvailable.status).to.equal('True');
  });
});
