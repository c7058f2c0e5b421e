/** Exponential backoff with jitter, as a pure function of the failure count. */
export interface BackoffOptions {
  /** Delay after the first failure, ms. */
  baseMs: number;
  /** Upper bound of the delay, ms. */
  maxMs: number;
  /** Share of the delay that is random, 0 to 1: 0.2 spreads delays over ±20%. @default 0 */
  jitter?: number;
}

/**
 * Returns the delay before retry number `failures` (1 for the first retry):
 * baseMs × 2^(failures − 1), capped at maxMs, then spread by the jitter.
 * The result never exceeds maxMs.
 */
export function backoffDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(failures - 1, 52));
  const delay = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  const jitter = options.jitter ?? 0;
  if (jitter <= 0) return delay;
  const spread = delay * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(options.maxMs, Math.round(delay + spread)));
}

/** Returns `ms` spread by ±`jitter` (a share from 0 to 1). */
export function jittered(ms: number, jitter: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(ms * (1 + jitter * (2 * random() - 1))));
}

/** A timer that `wake` can end early, so a loop that waits between tries stops at once. */
export class WakeableSleep {
  private wakeUp: (() => void) | undefined;

  /** Waits `ms`, or until `wake` is called; the timer never keeps the process alive. */
  async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.wakeUp?.();
  }
}
