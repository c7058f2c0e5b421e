import type { AppKeys } from '../store/keys.ts';

/** One message a step emits: the stream key and its JSON payload. */
interface PlannedMessage {
  key: string;
  payload: string;
  /**
   * Snapshot the script adds to the payload. `public` adds the job's status,
   * metadata and data as field `s`, for a child's result to its parent.
   * `state` adds the job's whole hash as field `js`, so the worker that gets
   * a work message plans leg 2 without reading the job again.
   */
  snapshot?: 'public' | 'state';
  /** The job the message belongs to, recorded while it is in flight. */
  jobId?: string;
}

const SNAPSHOT_CODES = { none: 0, public: 1, state: 2 } as const;

/**
 * Everything one step decided, gathered before a single `commit-step` call.
 * See scripts/commit-step.lua for what each part does in Redis.
 */
export class StepPlan {
  readonly jobKey: string;
  readonly jobId: string;
  private readonly keys: AppKeys;
  create?: { version: string; requireActive: boolean };
  messageId?: string;
  readonly guards: Array<[string, string[]]> = [];
  readonly checks: Array<[string, string]> = [];
  ack?: { stream: string; group: string; id: string };
  readonly fields = new Map<string, string>();
  readonly deleted = new Set<string>();
  statusDelta = 0;
  readonly messages: PlannedMessage[] = [];
  readonly timers: Array<{ delayMs: number; member: string }> = [];
  emit?: { channels: string[]; messages: PlannedMessage[] };
  readonly hashSets: Array<[string, string, string]> = [];
  readonly hashDeletes: Array<[string, string]> = [];
  readonly listPushes: Array<[string, string]> = [];
  readonly hashIncrements: Array<[string, string, number]> = [];
  readonly parks: Array<{ field: string; registration: string }> = [];
  /** Apply even when the job is already done. */
  applyWhenDone = false;
  /** Remove the job's hook registrations when it finishes. */
  cleanSignals = false;
  finish?: { channels: string[]; messages: PlannedMessage[]; expireSeconds: number; version: string };

  constructor(keys: AppKeys, jobId: string) {
    this.keys = keys;
    this.jobId = jobId;
    this.jobKey = keys.job(jobId);
  }

  set(field: string, value: string): void {
    this.fields.set(field, value);
    this.deleted.delete(field);
  }

  xadd(key: string, message: unknown, snapshot?: PlannedMessage['snapshot']): void {
    const jobId = (message as { jid?: unknown }).jid;
    this.messages.push({ key, payload: JSON.stringify(message), snapshot, jobId: typeof jobId === 'string' ? jobId : undefined });
  }

  addTimer(delayMs: number, message: unknown): void {
    this.timers.push({ delayMs: Math.max(0, Math.round(delayMs)), member: JSON.stringify(message) });
  }

  /** Builds the KEYS and ARGV of the `commit-step` call. */
  toScriptArgs(): { keys: string[]; args: string[] } {
    const keys = [this.jobKey, this.keys.app(), this.keys.inflight()];
    const index = (key: string): number => {
      let position = keys.indexOf(key);
      if (position < 0) {
        keys.push(key);
        position = keys.length - 1;
      }
      return position + 1;
    };
    // Of several work messages of one step, such as a fan-out, all but the
    // first would find their state overtaken, so none carries it.
    const carrying = this.messages.filter((message) => message.snapshot === 'state').length;
    const code = (message: PlannedMessage): number => (message.snapshot === 'state' && carrying > 1 ? 0 : SNAPSHOT_CODES[message.snapshot ?? 'none']);
    const encodeMessages = (list: PlannedMessage[]): unknown[] =>
      list.map((message) => [index(message.key), message.payload, code(message), message.jobId ?? '']);

    const plan: Record<string, unknown> = { j: this.jobId };
    if (this.create) plan.c = { v: this.create.version, a: this.create.requireActive };
    if (this.messageId) plan.m = this.messageId;
    if (this.guards.length > 0) plan.g = this.guards;
    if (this.checks.length > 0) plan.o = this.checks;
    if (this.ack) plan.k = [index(this.ack.stream), this.ack.group, this.ack.id];
    if (this.fields.size > 0) plan.h = [...this.fields].flat();
    if (this.deleted.size > 0) plan.d = [...this.deleted];
    if (this.statusDelta !== 0) plan.s = this.statusDelta;
    if (this.messages.length > 0) plan.x = encodeMessages(this.messages);
    if (this.timers.length > 0) {
      const timerKey = index(this.keys.timers());
      plan.z = this.timers.map((timer) => [timerKey, timer.delayMs, timer.member]);
    }
    if (this.emit && (this.emit.channels.length > 0 || this.emit.messages.length > 0)) {
      plan.e = { p: this.emit.channels, x: encodeMessages(this.emit.messages) };
    }
    if (this.hashSets.length > 0) plan.hs = this.hashSets.map(([key, field, value]) => [index(key), field, value]);
    if (this.hashDeletes.length > 0) plan.hd = this.hashDeletes.map(([key, field]) => [index(key), field]);
    if (this.hashIncrements.length > 0) plan.hi = this.hashIncrements.map(([key, field, amount]) => [index(key), field, amount]);
    if (this.listPushes.length > 0) plan.lp = this.listPushes.map(([key, value]) => [index(key), value]);
    if (this.parks.length > 0) {
      plan.pk = this.parks.map((park) => [
        index(this.keys.signals()), park.field, park.registration, index(this.keys.earlySignals(park.field)), index(this.keys.engineStream()),
      ]);
    }
    if (this.applyWhenDone) plan.a = true;
    if (this.finish) {
      const finish: Record<string, unknown> = { p: this.finish.channels, x: encodeMessages(this.finish.messages), t: this.finish.expireSeconds, v: this.finish.version };
      if (this.cleanSignals) finish.g = index(this.keys.signals());
      plan.f = finish;
    }
    return { keys, args: [JSON.stringify(plan)] };
  }
}

/** Outcome codes of `commit-step`, from its header. */
export const COMMIT = {
  committed: 0,
  duplicateMessage: 1,
  stale: 2,
  duplicateJob: 3,
  inactiveVersion: 4,
  jobNotFound: 5,
  conflict: 6,
  jobDone: 7,
} as const;
