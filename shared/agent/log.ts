import { agentLoggerOf, createJsonLogger } from '../observability/logger.ts';

/** How bad a log line is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The agent's log: an event name, a sentence for a person, and fields for machines. */
export interface AgentLogger {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
}

/**
 * The agent's log through the one JSON logger (pino, component `agent`): one JSON object per line with `json`
 * (`{"level","time","component","event",...fields,"message"}`), or the same lines rendered for people
 * (`2026-05-01T10:00:00.000Z INFO  connected: ...`). Debug lines only when `debug`. Lines go to `write` (default
 * stdout).
 */
export function createLogger(options: {
  readonly json?: boolean;
  readonly debug?: boolean;
  readonly write?: (line: string) => void;
}): AgentLogger {
  const write = options.write;
  const readable = (line: string) => {
    const o = JSON.parse(line) as { time: string; level: string; message: string };
    return `${o.time} ${o.level.toUpperCase().padEnd(5)} ${o.message}`;
  };
  const destination =
    write || !options.json
      ? {
          write: (chunk: string) => {
            for (const line of chunk.split('\n').filter(Boolean)) {
              const text = options.json ? line : readable(line);
              if (write) write(text);
              else process.stdout.write(`${text}\n`);
            }
          },
        }
      : undefined;
  const logger = createJsonLogger({
    component: 'agent',
    level: options.debug ? 'debug' : 'info',
    ...(destination ? { destination } : {}),
  });
  return agentLoggerOf(logger);
}
