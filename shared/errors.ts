/** Base of every error the system raises on purpose: a stable `code` for callers, `cause` kept for logs. */
export class FailoverError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FailoverError';
    this.code = code;
  }
}

/** One problem in a configuration document, located by its path and, where known, its line and column. */
export interface Diagnostic {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** A configuration that cannot be used; `diagnostics` lists every problem found, not only the first. */
export class ConfigError extends FailoverError {
  readonly diagnostics: readonly Diagnostic[];
  readonly file: string | undefined;

  constructor(diagnostics: readonly Diagnostic[], file?: string) {
    super('CONFIG_INVALID', `${file ?? 'configuration'}: ${diagnostics.length} problem(s)`);
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
    this.file = file;
  }
}

/**
 * A failure that may pass if the same request is made again later: throttling, a 5xx, a network error, a change
 * still in progress. Adapters raise it (or a subclass: StoreUnavailableError for a table) so that callers retry with
 * backoff, and the HTTP edges answer 503 with Retry-After; anything else is permanent.
 */
export class TransientError extends FailoverError {
  constructor(message: string, options?: { cause?: unknown }, code = 'TRANSIENT') {
    super(code, message, options);
    this.name = 'TransientError';
  }
}

/** A diagnostic's path as written in the document: `sites[1].checks[0].http.url`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((p, i) =>
      typeof p === 'number'
        ? `[${p}]`
        : /^[A-Za-z_][\w-]*$/.test(p)
          ? `${i === 0 ? '' : '.'}${p}`
          : `[${JSON.stringify(p)}]`,
    )
    .join('');
}

/** `sites[1].checks[0].http.url (line 42:14): expected a URL` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line !== undefined ? `(line ${d.line}:${d.column ?? 1})` : '';
  const head = [formatPath(d.path), where].filter(Boolean).join(' ');
  return head ? `${head}: ${d.message}` : d.message;
}
