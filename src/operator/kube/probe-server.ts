// HTTP servers for /healthz, /readyz and /metrics.
import { createServer, type Server } from 'node:http';

/** A `HOST:PORT` address; `:PORT` alone binds 127.0.0.1, and port 0 picks a free one. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` or `:PORT`; returns undefined for `0` or an empty string, which turn a server off. */
export function parseListenAddress(text: string, flag: string): ListenAddress | undefined {
  if (text === '' || text === '0') return undefined;
  const match = /^(.*):(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new Error(`${flag} must be HOST:PORT, :PORT or 0 to turn it off; got ${JSON.stringify(text)}`);
  return { host: match[1] === '' ? '127.0.0.1' : match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** A check: returns undefined when healthy, else the reason. */
export type Check = () => string | undefined;

/** Handler of one path: status code, content type and body. */
export type Route = () => Promise<{ status: number; type: string; body: string }>;

/** Returns the route of a probe that runs `checks`. */
export function probeRoute(checks: Record<string, Check>): Route {
  return async () => {
    const failed = Object.entries(checks).map(([name, check]) => [name, check()] as const).filter(([, reason]) => reason !== undefined);
    if (failed.length === 0) return { status: 200, type: 'text/plain', body: 'ok\n' };
    return { status: 500, type: 'text/plain', body: failed.map(([name, reason]) => `[-]${name} failed: ${reason}`).join('\n') + '\n' };
  };
}

/** Serves `routes` on `address`; resolves with the server once it listens. */
export async function serve(address: ListenAddress, routes: Record<string, Route>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const route = routes[path];
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    route().then(
      ({ status, type, body }) => response.writeHead(status, { 'content-type': type }).end(body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}
