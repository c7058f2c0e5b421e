import winston from 'winston';
import Transport from 'winston-transport';

/** A logger that keeps entries in memory, for tests that assert on logs. */
export class MemoryTransport extends Transport {
  readonly entries: Array<Record<string, unknown>> = [];

  override log(info: Record<string, unknown>, next: () => void): void {
    this.entries.push(info);
    next();
  }
}

/** A logger that prints only errors unless HOTMESH_TEST_LOG_LEVEL says otherwise. */
export function quietLogger(memory?: MemoryTransport): winston.Logger {
  const transports: winston.transport[] = [new winston.transports.Console({ level: process.env.HOTMESH_TEST_LOG_LEVEL ?? 'error', stderrLevels: ['error', 'warn', 'info', 'debug'] })];
  if (memory) transports.push(memory);
  return winston.createLogger({ level: 'debug', format: winston.format.json(), transports });
}
