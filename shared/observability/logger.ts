import { pino, type DestinationStream, type Logger } from 'pino';
import type { AgentLogger, LogLevel } from '../agent/log.ts';

/** A JSON line logger: `{"level":"info","time":"<ISO>","component":"...",...fields,"message":"..."}` per line. */
export type JsonLogger = Logger<never>;

export interface JsonLoggerOptions {
  /** What the lines come from (`runtime`, `agent`, ...); children override it. */
  readonly component: string;
  /** @default 'info' */
  readonly level?: LogLevel;
  /** Where the lines go. @default stdout, written synchronously (no line lost at exit) */
  readonly destination?: DestinationStream;
}

// Field names the line's own keys use: a field by one of these names is kept under `field.<name>` instead.
const RESERVED = new Set(['level', 'time', 'component', 'message', 'msg', 'pid', 'hostname']);

/** The one logger of the long-running processes (`failover local --json-logs`, the agent): pino, one JSON line each. */
export function createJsonLogger(options: JsonLoggerOptions): JsonLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  ) as JsonLogger;
}

/** `fields` with any key the line itself uses renamed (`level` becomes `field.level`), so that no key is written twice. */
export function safeFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[RESERVED.has(key) ? `field.${key}` : key] = value;
  return out;
}

/** Logs `event` with `fields` and `message` at `level`. */
export function logEvent(
  logger: JsonLogger,
  level: LogLevel,
  event: string,
  message: string,
  fields: Readonly<Record<string, unknown>> = {},
): void {
  logger[level]({ event, ...safeFields(fields) }, message);
}

/** The agent's logger interface over a JSON logger: each line carries the agent's event name. */
export function agentLoggerOf(logger: JsonLogger): AgentLogger {
  return { log: (level, event, message, fields) => logEvent(logger, level, event, message, fields) };
}
