/** How bad a log line is. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The agent's log: an event name, a sentence for a person, and fields for machines. */
export interface AgentLogger {
  log(level: LogLevel, event: string, message: string, fields?: Record<string, unknown>): void;
}

/**
 * Log lines on `write` (default stdout): `2026-05-01T10:00:00.000Z INFO  connected: ...` for people, or one JSON
 * object per line (`{"time","level","event","message",...fields}`) with `json`. Debug lines only when `debug`.
 */
export function createLogger(options: {
  readonly json?: boolean;
  readonly debug?: boolean;
  readonly write?: (line: string) => void;
}): AgentLogger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  return {
    log(level, event, message, fields = {}) {
      if (level === 'debug' && !options.debug) return;
      const time = new Date().toISOString();
      if (options.json) write(JSON.stringify({ time, level, event, message, ...fields }));
      else write(`${time} ${level.toUpperCase().padEnd(5)} ${message}`);
    },
  };
}
