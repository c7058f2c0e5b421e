// A loopback TCP proxy that tests put between a client and a server (the
// apiserver, Redis) to cut, stall, reset or refuse connections on purpose.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Options for {@link TcpProxy.start}. */
export interface TcpProxyOptions {
  /** Port of the target on 127.0.0.1. */
  targetPort: number;
  /** Host of the target. Only loopback targets are allowed. @default '127.0.0.1' */
  targetHost?: string;
  /** Port to listen on. A free one when omitted. */
  port?: number;
}

/** One client connection and the matching connection to the target. */
interface Link {
  client: Socket;
  upstream: Socket;
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Forwards every connection on 127.0.0.1:port to the target. A new
 * connection made while the proxy is stalled is stalled too.
 */
export class TcpProxy {
  readonly targetHost: string;
  readonly targetPort: number;
  private server: Server;
  private listeningPort = 0;
  private readonly links = new Set<Link>();
  private stalled = false;
  private refuseTimer?: NodeJS.Timeout;

  private constructor(options: TcpProxyOptions) {
    this.targetHost = options.targetHost ?? '127.0.0.1';
    this.targetPort = options.targetPort;
    this.server = this.createListener();
  }

  /** Starts listening on 127.0.0.1 and resolves once the port is open. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const host = options.targetHost ?? '127.0.0.1';
    if (!loopbackHosts.has(host) && !host.startsWith('127.')) {
      throw new Error(`invalid tcp proxy target ${host}: tests only proxy to loopback addresses such as 127.0.0.1`);
    }
    const proxy = new TcpProxy(options);
    await proxy.listen(options.port ?? 0);
    return proxy;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** `host:port` of the proxy, for clients that take an address. */
  get address(): string {
    return `127.0.0.1:${this.listeningPort}`;
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.links.size;
  }

  /** Closes every current connection on both sides with a normal close. New connections still work. */
  cut(): void {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    this.links.clear();
  }

  /** Aborts every current connection with a TCP RST on both sides. New connections still work. */
  reset(): void {
    for (const link of this.links) {
      link.client.resetAndDestroy();
      link.upstream.resetAndDestroy();
    }
    this.links.clear();
  }

  /**
   * Stops forwarding bytes in both directions without closing anything, as
   * a dead network path does. Bytes sent meanwhile wait in socket buffers.
   */
  stall(): void {
    this.stalled = true;
    for (const link of this.links) {
      link.client.pause();
      link.upstream.pause();
    }
  }

  /** Forwards bytes again after {@link stall}, including the ones that waited. */
  resume(): void {
    this.stalled = false;
    for (const link of this.links) {
      link.client.resume();
      link.upstream.resume();
    }
  }

  /**
   * Closes the listening socket so new connections get ECONNREFUSED, and
   * listens again on the same port after `durationMs`, or on
   * {@link acceptAgain}. Current connections stay open.
   */
  async refuse(durationMs?: number): Promise<void> {
    clearTimeout(this.refuseTimer);
    // close() stops accepting at once; its callback waits for open
    // connections to end, which is not what refusing means here.
    if (this.server.listening) this.server.close();
    await new Promise((resolve) => setImmediate(resolve));
    if (durationMs !== undefined) {
      this.refuseTimer = setTimeout(() => { void this.acceptAgain(); }, durationMs);
    }
  }

  /** Listens again on the same port after {@link refuse}. */
  async acceptAgain(): Promise<void> {
    clearTimeout(this.refuseTimer);
    if (this.server.listening) return;
    this.server = this.createListener();
    await this.listen(this.listeningPort);
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    clearTimeout(this.refuseTimer);
    this.cut();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private createListener(): Server {
    return createServer({ pauseOnConnect: true }, (client) => this.onConnection(client));
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.listeningPort = typeof address === 'object' && address !== null ? address.port : port;
        resolve();
      });
    });
  }

  private onConnection(client: Socket): void {
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    upstream.pause();
    const link: Link = { client, upstream };
    this.links.add(link);

    const close = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);

    forward(client, upstream, () => this.stalled);
    forward(upstream, client, () => this.stalled);
    upstream.once('connect', () => {
      if (!this.stalled) {
        client.resume();
        upstream.resume();
      }
    });
  }
}

/**
 * Copies bytes from `from` to `to` with backpressure, and passes a half
 * close (FIN) on. Kept by hand instead of pipe() so stall() controls reading.
 */
function forward(from: Socket, to: Socket, isStalled: () => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (!isStalled()) from.resume();
  });
  from.on('end', () => to.end());
}
