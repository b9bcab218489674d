// fatal: a byte sequence that is not UTF-8 is refused, never read as U+FFFD; ignoreBOM keeps a BOM as sent, so that a
// signature over the bytes is checked over what was signed.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What API Gateway (payload format 2.0) and the local server hand a function as the request body. */
export interface EventBody {
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

/**
 * The body of a request as text, or null when it is not valid UTF-8: the one place request bodies are decoded (API,
 * inbound hooks, agent polling). Bytes passed base64-encoded must be UTF-8; a body passed as text must have no
 * unpaired surrogate (what invalid bytes turn into on the way). No body is the empty string.
 */
export function utf8Body(event: EventBody): string | null {
  if (event.body === undefined || event.body === null) return '';
  if (!event.isBase64Encoded) return LONE_SURROGATE.test(event.body) ? null : event.body;
  try {
    return UTF8.decode(Buffer.from(event.body, 'base64'));
  } catch {
    return null;
  }
}
