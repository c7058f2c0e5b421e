// The contract between a controller and its reconcile function.

/** Result a reconcile returns to the work queue when it ends normally. */
export interface ReconcileResult {
  /** Queue the key again after this many ms, e.g. to poll. Absent: only a new event queues it. */
  requeueAfterMs?: number;
}

/**
 * Reconciles one object, named by `namespace/name`, to its spec. It reads
 * the current state itself; it is not told what changed.
 *
 * - Returning a result: success; the key's backoff resets.
 * - Throwing a {@link TerminalError}: logged, not retried; a later event retries.
 * - Throwing anything else: logged, retried with the key's exponential backoff.
 */
export interface Reconciler {
  reconcile(key: ObjectKey): Promise<ReconcileResult>;
}

/** Namespace and name of an object. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

/** Thrown by a reconcile that retrying cannot fix, such as an invalid spec. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** Formats a key as `namespace/name`. */
export function formatKey(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

/** Parses `namespace/name`. */
export function parseKey(text: string): ObjectKey {
  const slash = text.indexOf('/');
  return { namespace: text.slice(0, slash), name: text.slice(slash + 1) };
}
