/** Thrown for bad command-line input; main prints the message and exits 2. */
export class UsageError extends Error {}

/** Parses a JSON object argument, naming the argument when it is not one. */
export function parseJsonObject(text: string, name: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${name} must be a JSON object such as '{"id": "a1"}'`);
  }
  return value as Record<string, unknown>;
}

/** Parses a positive whole number option. */
export function parsePositiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${name} must be a positive whole number; got ${JSON.stringify(text)}`);
  return value;
}

/** Returns the app id from the argument or HOTMESH_APP_ID. */
export function appIdFrom(argument: string | undefined): string {
  const appId = argument ?? process.env.HOTMESH_APP_ID;
  if (!appId) throw new UsageError('missing APP_ID: pass it as an argument or set HOTMESH_APP_ID');
  return appId;
}
