import { expect } from 'chai';
import { appConditions, setCondition, type AppOutcome } from '../../../src/operator/app/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

describe('setCondition', function () {
  it('keeps lastTransitionTime while the status holds', function () {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'Activated', message: 'a' }, 1, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'Activated', message: 'b' }, 2, t1);
    expect(second[0].lastTransitionTime).to.equal('2026-01-01T00:00:00Z');
    expect(second[0].observedGeneration).to.equal(2);
    expect(second[0].message).to.equal('b');
  });

  it('moves lastTransitionTime when the status flips', function () {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'Activated', message: '' }, 1, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'CompileFailed', message: '' }, 2, t1);
    expect(second[0].lastTransitionTime).to.equal('2026-01-01T00:05:00Z');
  });
});

describe('appConditions', function () {
  const cases: { name: string; outcome: AppOutcome; expected: Record<string, string> }[] = [
    {
      name: 'activated',
      outcome: { ready: true, reason: 'Activated', message: 'version 2 is active', progressing: false, compiled: { ok: true, reason: 'Compiled', message: '' }, activated: { ok: true, reason: 'Activated', message: '' } },
      expected: { Ready: 'True/Activated', Compiled: 'True/Compiled', Activated: 'True/Activated', Reconciling: 'False/Reconciled', Stalled: 'False/Reconciled' },
    },
    {
      name: 'compile failed',
      outcome: { ready: false, reason: 'CompileFailed', message: 'bad', progressing: false, compiled: { ok: false, reason: 'CompileFailed', message: 'bad' } },
      expected: { Ready: 'False/CompileFailed', Compiled: 'False/CompileFailed', Reconciling: 'False/Reconciled', Stalled: 'True/CompileFailed' },
    },
    {
      name: 'redis unavailable',
      outcome: { ready: false, reason: 'RedisUnavailable', message: 'down', progressing: true },
      expected: { Ready: 'False/RedisUnavailable', Reconciling: 'True/RedisUnavailable', Stalled: 'False/Reconciled' },
    },
    {
      name: 'version conflict',
      outcome: { ready: false, reason: 'VersionConflict', message: 'x', progressing: false },
      expected: { Ready: 'False/VersionConflict', Reconciling: 'False/Reconciled', Stalled: 'True/VersionConflict' },
    },
  ];
  for (const { name, outcome, expected } of cases) {
    it(`sets conditions when ${name}`, function () {
      const conditions = appConditions([], outcome, 3, t0);
      const actual = Object.fromEntries(conditions.map((condition) => [condition.type, `${condition.status}/${condition.reason}`]));
      expect(actual).to.deep.equal(expected);
      for (const condition of conditions) expect(condition.observedGeneration).to.equal(3);
    });
  }
});
