// Pure status computation for HotMeshApp: conditions from an outcome.
import type { Condition } from '../api/index.ts';
import { CONDITION, REASON, STALLED_REASONS } from './reasons.ts';

/** A condition without its bookkeeping fields. */
export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Returns `conditions` with `input` set. lastTransitionTime changes only
 * when the status changes; observedGeneration is always `generation`.
 */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, generation: number, now: Date): Condition[] {
  const previous = conditions.find((condition) => condition.type === input.type);
  const lastTransitionTime = previous && previous.status === input.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: Condition = { ...input, observedGeneration: generation, lastTransitionTime };
  const others = conditions.filter((condition) => condition.type !== input.type);
  return [...others, next].sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type));
}

const ORDER: string[] = [CONDITION.ready, CONDITION.compiled, CONDITION.activated, CONDITION.reconciling, CONDITION.stalled];

function conditionOrder(type: string): number {
  const index = ORDER.indexOf(type);
  return index === -1 ? ORDER.length : index;
}

/** Outcome of a reconcile of an app. */
export interface AppOutcome {
  /** Compile state; undefined when the step did not run. */
  compiled?: { ok: boolean; reason: string; message: string };
  /** Activation state; undefined when the step did not run. */
  activated?: { ok: boolean; reason: string; message: string };
  /** Summary: everything the spec requests is done. */
  ready: boolean;
  reason: string;
  message: string;
  /** The operator is still working, e.g. retrying after a transient error. */
  progressing: boolean;
}

/** Returns the conditions of an app after a reconcile with `outcome`. */
export function appConditions(current: readonly Condition[], outcome: AppOutcome, generation: number, now: Date): Condition[] {
  let conditions = setCondition(current, {
    type: CONDITION.ready, status: outcome.ready ? 'True' : 'False', reason: outcome.reason, message: outcome.message,
  }, generation, now);
  if (outcome.compiled) {
    conditions = setCondition(conditions, {
      type: CONDITION.compiled, status: outcome.compiled.ok ? 'True' : 'False', reason: outcome.compiled.reason, message: outcome.compiled.message,
    }, generation, now);
  }
  if (outcome.activated) {
    conditions = setCondition(conditions, {
      type: CONDITION.activated, status: outcome.activated.ok ? 'True' : 'False', reason: outcome.activated.reason, message: outcome.activated.message,
    }, generation, now);
  }
  const stalled = !outcome.ready && STALLED_REASONS.includes(outcome.reason);
  conditions = setCondition(conditions, {
    type: CONDITION.reconciling,
    status: outcome.progressing ? 'True' : 'False',
    reason: outcome.progressing ? outcome.reason : REASON.reconciled,
    message: outcome.progressing ? outcome.message : '',
  }, generation, now);
  conditions = setCondition(conditions, {
    type: CONDITION.stalled,
    status: stalled ? 'True' : 'False',
    reason: stalled ? outcome.reason : REASON.reconciled,
    message: stalled ? outcome.message : '',
  }, generation, now);
  return conditions;
}

/** Conditions written when a reconcile of a new generation starts, so readers never see stale Ready=True. */
export function progressingConditions(current: readonly Condition[], generation: number, now: Date): Condition[] {
  let conditions = setCondition(current, { type: CONDITION.ready, status: 'Unknown', reason: REASON.progressing, message: 'reconciling the new spec' }, generation, now);
  conditions = setCondition(conditions, { type: CONDITION.reconciling, status: 'True', reason: REASON.progressing, message: 'reconciling the new spec' }, generation, now);
  return setCondition(conditions, { type: CONDITION.stalled, status: 'False', reason: REASON.progressing, message: '' }, generation, now);
}
