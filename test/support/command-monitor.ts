import { connect, type Socket } from 'node:net';

/** One command that Redis reported through MONITOR. */
export interface MonitoredCommand {
  /** Command name and arguments, unquoted. */
  args: string[];
  /** True when a script ran the command; false when a client sent it. */
  fromScript: boolean;
}

/**
 * Records every command a Redis server runs, through MONITOR on a plain
 * socket. ioredis' own monitor mode can fail with "Command queue state
 * error" when lines arrive right after the MONITOR reply, so it is not used.
 */
export class CommandMonitor {
  readonly commands: MonitoredCommand[] = [];
  private readonly socket: Socket;
  private buffer = '';
  private started = false;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Connects to `url` (redis://host:port) and waits until MONITOR is on. */
  static async start(url: string): Promise<CommandMonitor> {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port) });
    const monitor = new CommandMonitor(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        if (monitor.read(chunk)) resolve();
      });
      socket.write('MONITOR\r\n');
    });
    return monitor;
  }

  stop(): void {
    this.socket.destroy();
  }

  // Returns true once the +OK reply to MONITOR has been read.
  private read(chunk: string): boolean {
    this.buffer += chunk;
    let end = this.buffer.indexOf('\r\n');
    while (end >= 0) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      if (line === '+OK') this.started = true;
      else if (line.startsWith('+')) this.commands.push(parseLine(line));
      end = this.buffer.indexOf('\r\n');
    }
    return this.started;
  }
}

// A line looks like: +1796426387.757777 [0 127.0.0.1:46796] "hgetall" "key",
// with "lua" in place of the address for a command a script ran.
function parseLine(line: string): MonitoredCommand {
  const source = /\[\d+ ([^\]]+)\]/.exec(line)?.[1] ?? '';
  const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1].replace(/\\(.)/g, '$1'));
  return { args, fromScript: source === 'lua' };
}
