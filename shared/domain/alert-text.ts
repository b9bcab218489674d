import type { AlertAction } from './model.ts';

/** SNS wants a subject of less than 100 characters. */
export const SUBJECT_MAX_CHARS = 99;
/** One SMS of 8-bit text holds 140 characters; staying under it keeps an alert to one message. */
export const SMS_MAX_CHARS = 139;

/** Characters with a readable ASCII spelling that Unicode compatibility decomposition (NFKD) does not give. */
const ASCII_SPELLING: Record<string, string> = {
  '→': '->',
  '⟶': '->',
  '⇒': '=>',
  '←': '<-',
  '⇐': '<=',
  '↔': '<->',
  '⇔': '<=>',
  '↑': 'up',
  '↓': 'down',
  '‐': '-',
  '‑': '-',
  '‒': '-',
  '–': '-',
  '—': '-',
  '―': '-',
  '−': '-',
  '‘': "'",
  '’': "'",
  '‚': "'",
  '‛': "'",
  '′': "'",
  '“': '"',
  '”': '"',
  '„': '"',
  '″': '"',
  '«': '"',
  '»': '"',
  '‹': "'",
  '›': "'",
  '•': '*',
  '·': '.',
  '×': 'x',
  '÷': '/',
  '⁄': '/',
  '≤': '<=',
  '≥': '>=',
  '≠': '!=',
  '≈': '~',
  '±': '+/-',
  '°': ' deg',
  '€': 'EUR',
  '£': 'GBP',
  '¥': 'JPY',
  '©': '(c)',
  '®': '(R)',
  '§': 'S',
  '¶': 'P',
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  ł: 'l',
  Ł: 'L',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
  '¡': '!',
  '¿': '?',
};

/**
 * Printable ASCII (plus tab and newline): accents dropped (é -> e), common symbols spelled out (→ -> "->", smart
 * quotes, dashes, ß -> ss), invisible format characters removed, other controls turned into spaces, and each run of
 * anything else (CJK, emoji) replaced by one '?'.
 */
export function toAscii(text: string): string {
  let out = '';
  let replacing = false;
  for (const char of text) {
    const mapped = asciiOf(char);
    if (mapped === null) {
      if (!replacing) out += '?';
      replacing = true;
      continue;
    }
    out += mapped;
    if (mapped !== '') replacing = false;
  }
  return out;
}

function asciiOf(char: string): string | null {
  const code = char.codePointAt(0)!;
  if (code === 0x09 || code === 0x0a || (code >= 0x20 && code < 0x7f)) return char;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return ' ';
  const spelled = ASCII_SPELLING[char];
  if (spelled !== undefined) return spelled;
  if (/\p{Cf}/u.test(char)) return '';
  if (/\p{Zs}/u.test(char)) return ' ';
  const folded = char.normalize('NFKD').replace(/\p{M}/gu, '');
  if (folded !== char && folded !== '' && [...folded].every((c) => asciiOf(c) !== null)) return toAscii(folded);
  return null;
}

/**
 * At most `max` characters (code points: a surrogate pair is never split), ending in `ellipsis` when cut. The cut
 * falls on a word boundary when one is close to the end, so a word is not left half-written.
 */
export function clipText(text: string, max: number, ellipsis = '...'): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const room = Math.max(0, max - [...ellipsis].length);
  let cut = chars.slice(0, room).join('');
  const space = cut.lastIndexOf(' ');
  if (space > 0 && space >= cut.length - 15) cut = cut.slice(0, space);
  return `${cut.replace(/[\s,;:(-]+$/, '')}${ellipsis}`;
}

/** One line: every run of whitespace (newlines included) becomes one space, and the ends are trimmed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * An email subject SNS accepts everywhere: one line of printable ASCII, starting with a letter, a digit or a
 * punctuation mark, at most SUBJECT_MAX_CHARS long. `fallback` is used when nothing printable is left.
 */
export function emailSubject(text: string, fallback = 'Failover alert'): string {
  const subject = oneLine(toAscii(text)).replace(/^[?\s]+(?=\S)/, '');
  return clipText(subject.length > 0 && subject !== '?' ? subject : oneLine(toAscii(fallback)), SUBJECT_MAX_CHARS);
}

/** ASCII characters outside the GSM 03.38 basic set (` is in no GSM table; the rest need an escape) and a stand-in. */
const GSM_STAND_IN: Record<string, string> = {
  '`': "'",
  '[': '(',
  ']': ')',
  '{': '(',
  '}': ')',
  '\\': '/',
  '|': '/',
  '~': '-',
  '^': "'",
};

/** The GSM 03.38 basic character set: text made only of these goes out as GSM-7, 160 to a message. */
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);

/** Whether every character of `text` is in the GSM 03.38 basic set (no UCS-2, no escapes). */
export function isGsm7Basic(text: string): boolean {
  return [...text].every((c) => GSM7_BASIC.has(c));
}

/**
 * SMS text: one line of ASCII that is also GSM-7 basic (so no character forces UCS-2 and its 70-character limit), at
 * most `max` characters. A trailing time such as "(03:12Z)" survives truncation: the middle is cut instead.
 */
export function smsText(text: string, max = SMS_MAX_CHARS): string {
  const sms = oneLine(toAscii(text).replace(/[`[\]{}\\|~^]/g, (c) => GSM_STAND_IN[c]!));
  if (sms.length <= max) return sms;
  const tail = / \(\d{2}:\d{2}Z\)$/.exec(sms)?.[0] ?? '';
  if (tail && max >= tail.length + 20) return clipText(sms.slice(0, -tail.length), max - tail.length) + tail;
  return clipText(sms, max);
}

/** The explanation's summary: the first line after the body's header paragraph, or '' when there is none. */
export function summaryOf(alert: Pick<AlertAction, 'body'>): string {
  const paragraphs = alert.body.split(/\n\s*\n/);
  return oneLine(paragraphs[1]?.split('\n')[0] ?? '');
}

/** What each kind of subscriber receives for one alert. */
export interface AlertTexts {
  /** Email subject line (SUBJECT_MAX_CHARS at most, printable ASCII). */
  readonly subject: string;
  /** For any subscriber without a text of its own (HTTPS, SQS, Lambda): the SMS line and the summary, no links. */
  readonly default: string;
  /** Plain text: a header line, the whole story, a footer naming the dedup key and the incident. */
  readonly email: string;
  /** One GSM-7 line under 140 characters. */
  readonly sms: string;
}

/**
 * Renders one alert for email, SMS and other subscribers. Pure; `smsMaxLength` lets a caller leave room for what
 * the channel prefixes (SNS puts "DISPLAYNAME> " before the SMS text of a topic that has a display name).
 */
export function alertTexts(alert: AlertAction, options: { smsMaxLength?: number } = {}): AlertTexts {
  const fallback = `${alert.severity} alert ${alert.dedupKey}`;
  const sms = smsText(oneLine(alert.short) || fallback, options.smsMaxLength ?? SMS_MAX_CHARS);
  const summary = summaryOf(alert);
  return {
    subject: emailSubject(alert.subject, fallback),
    default: summary && summary !== oneLine(alert.short) ? `${oneLine(alert.short)}\n${summary}` : oneLine(alert.short),
    email: [emailHeader(alert), '', alert.body.trimEnd(), '', emailFooter(alert)].join('\n'),
    sms,
  };
}

/** The email's first line: severity, event, site and time. */
export function emailHeader(alert: AlertAction): string {
  return `${alert.severity.toUpperCase()} | ${alert.event} | site ${alert.site} | ${new Date(alert.at).toISOString()}`;
}

/** The email's last lines: the dedup key (a repeat is the same alert delivered twice) and the incident. */
export function emailFooter(alert: AlertAction): string {
  return [
    '--',
    `Dedup key: ${alert.dedupKey} (an email with the same key is a repeat of this alert, not a new event)`,
    `Incident: ${alert.incidentId ?? 'none'}`,
  ].join('\n');
}
