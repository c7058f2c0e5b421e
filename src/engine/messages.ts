// Messages on the app's streams. Every field name is short because each one
// is written for every step of every job.

/** Address of an activity at one dimension of a job. */
export interface ActivityAddress {
  /** job id */
  jid: string;
  /** activity id */
  aid: string;
  /** dimensional address, e.g. `,0,0` */
  dad: string;
}

/** Outcome of a leg as HotMesh names it. */
export type LegStatus = 'success' | 'pending' | 'error';

/** A work item on a worker topic's stream. */
export interface WorkMessage extends ActivityAddress {
  /** worker topic */
  tpc: string;
  /** attempt, from 1 */
  n: number;
  /** mapped input */
  d: Record<string, unknown>;
  /**
   * The job's whole hash as `[field, value, …]` when the step that sent this
   * message committed, added by the script unless the job is large.
   */
  js?: string[];
}

/** Messages on the engine stream. `mid` makes each one applicable once. */
export type EngineMessage =
  /** Run leg 1 of an activity that a parent step queued instead of running. */
  | (ActivityAddress & { t: 'transition'; mid: string })
  /** A worker's answer to a work message. */
  | (ActivityAddress & { t: 'response'; mid: string; n: number; st: LegStatus; c: number; d: unknown })
  /** Start a child job for an await activity. */
  | (ActivityAddress & { t: 'await'; mid: string; vrs: string; tpc: string; d: Record<string, unknown>; detached: boolean })
  /**
   * A child job finished or emitted; `s` is its snapshot, added by the script.
   * `d`, when present, is the answer itself (a detached child's id, or the
   * error of a child that could not start).
   */
  | (ActivityAddress & { t: 'result'; mid: string; child: string; st: LegStatus; c: number; s?: string[]; d?: unknown })
  /** A retry timer fired: send attempt `n` to the worker again. */
  | (ActivityAddress & { t: 'retry'; mid: string; n: number })
  /** A sleep timer fired. */
  | (ActivityAddress & { t: 'wake'; mid: string })
  /** A cycle re-enters its ancestor with new data. */
  | (ActivityAddress & { t: 'cycle'; mid: string; d: Record<string, unknown> })
  /** A signal for the hook registered under `<tpc>:<key>`. */
  | { t: 'webhook'; mid: string; tpc: string; key: string; d: Record<string, unknown>; st: LegStatus; c: number }
  /** Signal every job of an index (HotMesh's hookAll). */
  | { t: 'hookAll'; mid: string; tpc: string; d: Record<string, unknown>; q: Record<string, unknown>; facets: string[]; scrub: boolean; vrs: string }
  /** Interrupt a job; `children` sends it only to the job's child jobs. */
  | { t: 'interrupt'; mid: string; jid: string; reason?: string; c?: number; throw?: boolean; descend?: boolean; children?: boolean };

export type EngineMessageType = EngineMessage['t'];
