const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA time zone name this runtime knows (e.g. Europe/Paris, UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Offset of `timeZone` from UTC at the instant `epochMs`, in milliseconds. */
function offsetAt(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(epochMs))) parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - Math.floor(epochMs / 1000) * 1000;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

const DAY_MS = 86_400_000;

/**
 * Epoch milliseconds of an ISO date-time. A value with an offset (`Z`, `+02:00`) is absolute; a local one
 * (`2026-12-01T22:00`) is read as wall-clock time in `timeZone`. A wall time that happens twice (clocks going back)
 * is its first occurrence; one that never happens (clocks going forward) moves forward by the gap, so 02:30 on the
 * night summer time starts is 03:30. (Temporal's `disambiguation: 'compatible'`.)
 */
export function zonedTimeToEpoch(value: string, timeZone: string): number {
  const m = LOCAL.exec(value);
  if (!m) return Date.parse(value);
  const [, y, mo, d, h, mi, s, ms] = m;
  const wall = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, s ? +s : 0, ms ? +ms.padEnd(3, '0') : 0);
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  // The instants this wall time may be, with the offset in force a day before or a day after; a real one keeps its
  // offset. None: the wall time is in a gap.
  const valid = [...new Set([before, after])].filter((offset) => offsetAt(wall - offset, timeZone) === offset);
  return valid.length > 0 ? Math.min(...valid.map((offset) => wall - offset)) : wall - before;
}
