/**
 * Formats a time as a Kubernetes MicroTime, which needs exactly six
 * fractional digits. client-node 2.0.1 sends a Date with three, which the
 * apiserver rejects, so callers pass this string where the type is Date.
 */
export function microTime(date: Date): Date {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}
