import { ApiException, type CoreV1Api } from '@kubernetes/client-node';

/** Returns the HTTP status of a client-node error, or undefined for other errors. */
export function httpStatus(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  const code = (error as { code?: unknown; statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Returns the apiserver's message from a client-node error, falling back to the error's own. */
export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        return body;
      }
    }
    if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  }
  return (error as Error).message ?? String(error);
}

/** Reads one key of a Secret, decoded; undefined when the Secret or the key is missing. */
export async function readSecretKey(core: CoreV1Api, namespace: string, name: string, key: string): Promise<string | undefined> {
  try {
    const secret = await core.readNamespacedSecret({ namespace, name });
    const value = secret.data?.[key];
    return value === undefined ? secret.stringData?.[key] : Buffer.from(value, 'base64').toString('utf8');
  } catch (error) {
    if (httpStatus(error) === 404) return undefined;
    throw error;
  }
}
