/** What one POST came to. */
export interface PostResult {
  /** The HTTP status, or null when there was no answer. */
  readonly status: number | null;
  readonly durationMs: number;
  /** Why there was no answer: `timeout after 15000 ms`, `ECONNREFUSED`... */
  readonly error: string | null;
  /** The first bytes of the answer's body. */
  readonly response: string | null;
}

/** Bytes of a receiver's answer kept for the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 256;

/**
 * POSTs `body` to `url` and never throws: the answer must be complete (headers and body) within `timeoutMs`, else
 * the result is a timeout. Redirects are not followed (a 3xx is an answer like any other non-2xx), so that a
 * receiver cannot bounce a signed request elsewhere.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<PostResult> {
  const started = now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: controller.signal });
    const text = await readExcerpt(res);
    return { status: res.status, durationMs: now() - started, error: null, response: text };
  } catch (error) {
    const message = controller.signal.aborted ? `timeout after ${timeoutMs} ms` : describeFetchError(error);
    return { status: null, durationMs: now() - started, error: message, response: null };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the start of the body; a longer body is not downloaded (leaving the loop cancels the stream). */
async function readExcerpt(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of res.body) {
    const bytes = Buffer.from(chunk as Uint8Array);
    chunks.push(bytes);
    kept += bytes.length;
    if (kept >= RESPONSE_EXCERPT_BYTES) break;
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
  return text.length > 0 ? text : null;
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
