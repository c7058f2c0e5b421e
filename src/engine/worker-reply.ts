import type { LegStatus } from './messages.ts';

/**
 * A worker's explicit response, for when plain data is not enough: another
 * code (a 202 keeps the activity open for a later response), or an error
 * response without throwing.
 */
export class WorkerReply {
  readonly status: LegStatus;
  readonly code: number;
  readonly data: unknown;

  constructor(status: LegStatus, code: number, data: unknown) {
    this.status = status;
    this.code = code;
    this.data = data;
  }
}

/** Builds a WorkerReply; the status defaults from the code (2xx success, 202 pending, else error). */
export function reply(options: { code?: number; status?: LegStatus; data?: unknown }): WorkerReply {
  const code = options.code ?? 200;
  let status = options.status;
  if (status === undefined) {
    if (code === 202) status = 'pending';
    else if (code >= 200 && code < 300) status = 'success';
    else status = 'error';
  }
  return new WorkerReply(status, code, options.data ?? {});
}

/** Context a worker callback receives besides its input. */
export interface WorkerContext {
  jobId: string;
  activityId: string;
  topic: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The dimension of the activity, e.g. `,0,0`. */
  dad: string;
}

/** A worker callback: mapped input in, output data (or a WorkerReply) out. */
export type WorkerCallback = (input: Record<string, unknown>, context: WorkerContext) => unknown;

/** Turns a callback's return value or thrown error into a leg outcome. */
export function toOutcome(result: { value?: unknown; error?: unknown }): { status: LegStatus; code: number; data: unknown } {
  if ('error' in result && result.error !== undefined) {
    const error = result.error;
    const code = typeof (error as { code?: unknown }).code === 'number' && /^[1-9]\d\d$/.test(String((error as { code: number }).code))
      ? (error as { code: number }).code
      : 500;
    const data = error instanceof Error
      ? { message: error.message, name: error.name, code }
      : { message: String(error), code };
    return { status: 'error', code, data };
  }
  const value = result.value;
  if (value instanceof WorkerReply) return { status: value.status, code: value.code, data: value.data };
  return { status: 'success', code: 200, data: value === undefined ? {} : value };
}
