import type { RetryPolicy } from './types.ts';

/**
 * The policy of a worker activity without `retry`: a thrown error (code 500)
 * is tried three times in all, 1 s then 2 s apart. Other codes end the
 * activity at once.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maximumAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 60_000,
  retryOn: ['500'],
});

const CODE_PATTERN = /^[1-9][0-9*]{2}$/;

/** Parses `10s`, `500ms`, `2m`, `1h` or a number of milliseconds. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? 'ms';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return amount * factor;
}

/**
 * Parses an activity's `retry`. Two forms are accepted:
 * - the policy form: `{ maximumAttempts, initialInterval, backoffCoefficient, maximumInterval, retryOn }`;
 * - HotMesh's shorthand `{ '500': [3] }`: up to 3 retries of code 500, 10 ms,
 *   100 ms, then 1 s apart (HotMesh caps the count at 3; this does not).
 */
export function parseRetryPolicy(raw: unknown, path: string, report: (path: string, message: string) => void): RetryPolicy | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    report(path, 'retry must be a map: a policy such as {maximumAttempts: 5, initialInterval: 1s} or the shorthand {"500": [3]}');
    return undefined;
  }
  const record = raw as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 0 && keys.every((key) => CODE_PATTERN.test(key))) return parseShorthand(record, path, report);

  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, retryOn: [...DEFAULT_RETRY_POLICY.retryOn] };
  const known = new Set(['maximumAttempts', 'initialInterval', 'backoffCoefficient', 'maximumInterval', 'retryOn']);
  for (const key of keys) {
    if (!known.has(key)) report(`${path}.${key}`, `unknown retry field ${key}; known fields: ${[...known].join(', ')}`);
  }
  if (record.maximumAttempts !== undefined) {
    const value = record.maximumAttempts;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) report(`${path}.maximumAttempts`, `maximumAttempts must be a whole number ≥ 1; found ${JSON.stringify(value)}`);
    else policy.maximumAttempts = value;
  }
  for (const [field, target] of [['initialInterval', 'initialIntervalMs'], ['maximumInterval', 'maximumIntervalMs']] as const) {
    if (record[field] === undefined) continue;
    const ms = parseDurationMs(record[field]);
    if (ms === undefined) report(`${path}.${field}`, `${field} must be a duration such as 500ms, 10s, 2m or a number of ms; found ${JSON.stringify(record[field])}`);
    else policy[target] = ms;
  }
  if (record.backoffCoefficient !== undefined) {
    const value = record.backoffCoefficient;
    if (typeof value !== 'number' || !(value >= 1)) report(`${path}.backoffCoefficient`, `backoffCoefficient must be a number ≥ 1; found ${JSON.stringify(value)}`);
    else policy.backoffCoefficient = value;
  }
  if (record.retryOn !== undefined) {
    const list = Array.isArray(record.retryOn) ? record.retryOn : [record.retryOn];
    const codes = list.map(String);
    const bad = codes.filter((code) => !CODE_PATTERN.test(code));
    if (bad.length > 0) report(`${path}.retryOn`, `retryOn must list codes such as 500 or patterns such as 5**; found ${bad.join(', ')}`);
    else policy.retryOn = codes;
  }
  if (policy.maximumIntervalMs < policy.initialIntervalMs) {
    report(`${path}.maximumInterval`, `maximumInterval (${policy.maximumIntervalMs} ms) is shorter than initialInterval (${policy.initialIntervalMs} ms)`);
  }
  return policy;
}

function parseShorthand(record: Record<string, unknown>, path: string, report: (path: string, message: string) => void): RetryPolicy | undefined {
  let retries = 0;
  const codes: string[] = [];
  for (const [code, value] of Object.entries(record)) {
    const count = Array.isArray(value) ? value[0] : value;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      report(`${path}.${code}`, `the shorthand retry form is {"${code}": [retries]}; found ${JSON.stringify(value)}`);
      return undefined;
    }
    codes.push(code);
    retries = Math.max(retries, count);
  }
  return { maximumAttempts: retries + 1, initialIntervalMs: 10, backoffCoefficient: 10, maximumIntervalMs: 1000, retryOn: codes };
}

/** Tells whether a status code matches a pattern such as `500` or `5**`. */
export function codeMatches(code: number, pattern: string): boolean {
  const text = String(code);
  if (text.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) if (pattern[i] !== '*' && pattern[i] !== text[i]) return false;
  return true;
}

/** Milliseconds to wait before attempt `attempt` (2 for the first retry). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  const delay = policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, attempt - 2);
  return Math.min(delay, policy.maximumIntervalMs);
}
