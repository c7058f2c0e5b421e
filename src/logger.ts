import winston from 'winston';

/** Log levels, most severe first (winston's npm levels). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

/**
 * Creates the product's logger: JSON lines on stderr, level from
 * `HOTMESH_LOG_LEVEL` (or `LOG_LEVEL`), `info` by default. Set
 * `HOTMESH_LOG_FORMAT=text` for a human-readable format. Messages are
 * constant strings; variable data goes in fields.
 */
export function createLogger(fields: Record<string, unknown> = {}, level?: string): winston.Logger {
  const chosen = level ?? process.env.HOTMESH_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const silent = chosen === 'silent';
  const text = process.env.HOTMESH_LOG_FORMAT === 'text';
  return winston.createLogger({
    level: silent ? 'error' : (LOG_LEVELS as readonly string[]).includes(chosen) ? chosen : 'info',
    silent,
    defaultMeta: fields,
    format: text
      ? winston.format.combine(winston.format.timestamp(), winston.format.printf(({ timestamp, level: lvl, message, ...rest }) => {
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
        return `${timestamp} ${lvl} ${message}${extra}`;
      }))
      : winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] })],
  });
}
