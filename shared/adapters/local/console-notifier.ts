import { appendFile, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { alertIdOf } from '../../domain/alert-id.ts';
import type { AlertAction, Severity } from '../../domain/model.ts';
import { FailoverError, TransientError } from '../../errors.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { Notifier } from '../../ports/notifier.ts';

/** The alert log file cannot be written for a reason a retry will not fix (a directory in the way, permissions). */
export class AlertLogError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALERT_LOG_FAILED', message, options);
    this.name = 'AlertLogError';
  }
}

export interface ConsoleNotifierOptions {
  /** Where readable lines go. @default console.log */
  readonly out?: (line: string) => void;
  /** Append every alert as one JSON object per line here (the directory is created if missing). @default none */
  readonly jsonlPath?: string;
  /** ANSI colours by severity. @default true when printing to a terminal through console.log and NO_COLOR is unset */
  readonly color?: boolean;
  /** Print the whole story under each line, indented. @default false */
  readonly verbose?: boolean;
  /** Stamps `sentAt` in the JSONL record. @default the system clock */
  readonly clock?: Clock;
}

/** One line of the JSONL file: every field of the alert, its id (alertIdOf), and when it was handed to this notifier. */
export type AlertRecord = AlertAction & { readonly alertId: string; readonly sentAt: string };

const COLORS: Record<Severity, string> = { critical: '\x1b[1;31m', warning: '\x1b[33m', info: '\x1b[36m' };
const RESET = '\x1b[0m';

/**
 * The local runtime's Notifier: one readable console line per alert (`18:04:12 CRITICAL hq  [FAILOVER] ...`), the
 * full story underneath when verbose, and an append-only JSONL file of every alert. Each record is appended with a
 * single write on a file opened for appending, so several writers (instances or processes) never interleave lines.
 *
 * Exactly once per alert id (alertIdOf): an alert whose id is in the file already (a dispatcher that ran again after
 * a crash between sending and marking it sent) is neither printed nor written again. The file is read once, then
 * only what was appended since; a file that cannot be read back (a FIFO, a device) and the console alone are
 * deduplicated within this process only.
 */
export class ConsoleNotifier implements Notifier {
  readonly #out: (line: string) => void;
  readonly #jsonlPath: string | undefined;
  readonly #color: boolean;
  readonly #verbose: boolean;
  readonly #clock: Clock;
  #directoryReady: Promise<unknown> | undefined;
  /** Ids of the alerts in the file (as far as read) and those this instance sent or is sending. */
  readonly #known = new Set<string>();
  /** Bytes of the file read so far: up to the end of its last complete line. */
  #scanned = 0;
  /**
   * The file ended in a line cut short (power lost mid-write) before this instance wrote to it: its first record
   * starts on a new line. Later, a line seen unfinished is another writer's append in progress.
   */
  #unterminated = false;
  #appended = false;
  #checking: Promise<unknown> = Promise.resolve();

  constructor(options: ConsoleNotifierOptions = {}) {
    this.#out = options.out ?? ((line) => console.log(line));
    this.#jsonlPath = options.jsonlPath;
    this.#color =
      options.color ?? (options.out === undefined && process.stdout.isTTY === true && !process.env.NO_COLOR);
    this.#verbose = options.verbose ?? false;
    this.#clock = options.clock ?? systemClock;
  }

  async notify(alert: AlertAction): Promise<{ detail: string }> {
    const alertId = alertIdOf(alert);
    if (!(await this.#reserve(alertId)))
      return {
        detail: `alert ${alertId} was sent before${this.#jsonlPath ? ` (in ${this.#jsonlPath})` : ''}: not again`,
      };
    // Printed first: a person sees the alert even when the file cannot take it (a retry may print it again).
    this.#out(this.#line(alert));
    if (this.#verbose) for (const line of alert.body.split('\n')) this.#out(`    ${line}`);
    if (this.#jsonlPath === undefined) return { detail: 'printed' };
    const record: AlertRecord = { ...alert, alertId, sentAt: new Date(this.#clock.now()).toISOString() };
    try {
      await this.#append(this.#jsonlPath, alert, `${JSON.stringify(record)}\n`);
      this.#appended = true;
      this.#unterminated = false;
    } catch (error) {
      this.#known.delete(alertId); // not recorded: a retry must send it
      throw error;
    }
    return { detail: `printed and appended to ${this.#jsonlPath}` };
  }

  /** Claims `alertId` for sending: false when it is in the file or was sent by this instance already. */
  #reserve(alertId: string): Promise<boolean> {
    const check = this.#checking.then(async () => {
      if (this.#jsonlPath !== undefined) await this.#readNewRecords(this.#jsonlPath);
      if (this.#known.has(alertId)) return false;
      this.#known.add(alertId);
      return true;
    });
    this.#checking = check.catch(() => undefined);
    return check;
  }

  /**
   * Adds the ids of the records appended to the file since the last read (by any writer). A file that cannot be read
   * is left to the append, which names the problem (and the person has seen the alert printed by then).
   */
  async #readNewRecords(path: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    // Missing, or a FIFO or a device: nothing to read back (reading a FIFO would take what others wait for).
    if (!info?.isFile()) {
      this.#scanned = 0;
      return;
    }
    const size = info.size;
    if (size < this.#scanned) this.#scanned = 0; // replaced by a shorter file: read it all
    if (size === this.#scanned) return;
    const handle = await open(path, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const bytes = Buffer.alloc(size - this.#scanned);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, this.#scanned);
      const text = bytes.subarray(0, bytesRead);
      const end = text.lastIndexOf(0x0a) + 1;
      for (const line of text.subarray(0, end).toString('utf8').split('\n')) {
        const id = recordId(line);
        if (id) this.#known.add(id);
      }
      this.#scanned += end;
      if (!this.#appended) this.#unterminated = end < bytesRead;
    } finally {
      await handle.close();
    }
  }

  #line(alert: AlertAction): string {
    const time = new Date(alert.at).toTimeString().slice(0, 8);
    const severity = alert.severity.toUpperCase().padEnd(8);
    const shown = this.#color ? `${COLORS[alert.severity]}${severity}${RESET}` : severity;
    const note = alert.suppressed ? ' (suppressed: recorded only)' : '';
    return `${time} ${shown} ${alert.site.padEnd(4)}  ${alert.subject.replace(/\s+/g, ' ')}${note}`;
  }

  async #append(path: string, alert: AlertAction, line: string): Promise<void> {
    const data = Buffer.from(this.#unterminated ? `\n${line}` : line, 'utf8');
    try {
      this.#directoryReady ??= mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await this.#directoryReady;
      await appendFile(path, data, { flag: 'a', mode: 0o600 }).catch(async (error: unknown) => {
        // The directory was removed since it was made: make it again, once.
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await appendFile(path, data, { flag: 'a', mode: 0o600 });
      });
    } catch (error) {
      this.#directoryReady = undefined;
      throw jsonlWriteError(error, path, alert.dedupKey);
    }
  }
}

/** The alert id of one line of the file; older records have no `alertId` and get theirs from `id` and `at`. */
function recordId(line: string): string | undefined {
  if (!line.trim()) return undefined;
  try {
    const record = JSON.parse(line) as { alertId?: unknown; id?: unknown; at?: unknown };
    if (typeof record.alertId === 'string') return record.alertId;
    if (typeof record.id === 'string' && typeof record.at === 'number')
      return alertIdOf({ id: record.id, at: record.at });
  } catch {
    // A line cut short by a crash: no alert was recorded by it.
  }
  return undefined;
}

/** errno codes of a file write that may pass when tried again. */
const RETRY_LATER = new Set(['EBUSY', 'EAGAIN', 'EWOULDBLOCK', 'EINTR', 'EMFILE', 'ENFILE']);
const EXPLAINED: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'the path is a directory',
  ENOTDIR: 'a parent of the path is not a directory',
  EEXIST: 'a parent of the path is a file',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
};

/**
 * The notifier error for a failed write of the JSONL file: TransientError for errors that may pass (EBUSY, EAGAIN,
 * too many open files), AlertLogError with the path and the reason otherwise.
 */
export function jsonlWriteError(error: unknown, path: string, dedupKey: string): FailoverError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? `${code}: ${EXPLAINED[code] ?? String(error)}` : String(error);
  const message = `cannot record alert ${dedupKey} in ${path}: ${reason}`;
  return typeof code === 'string' && RETRY_LATER.has(code)
    ? new TransientError(message, { cause: error })
    : new AlertLogError(message, { cause: error });
}
