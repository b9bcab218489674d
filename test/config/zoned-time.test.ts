import { describe, expect, it } from 'vitest';
import { isTimeZone, zonedTimeToEpoch } from '../../shared/config/zoned-time.ts';

const at = (iso: string) => Date.parse(iso);

describe('zonedTimeToEpoch', () => {
  it.each([
    // [wall time, zone, instant]
    ['2026-12-01T22:00', 'Europe/Paris', '2026-12-01T21:00:00Z'], // CET, +1
    ['2026-07-01T22:00', 'Europe/Paris', '2026-07-01T20:00:00Z'], // CEST, +2
    ['2026-07-01T22:00', 'America/New_York', '2026-07-02T02:00:00Z'], // EDT, -4
    ['2026-12-01T22:00:30.5', 'Asia/Kolkata', '2026-12-01T16:30:30.500Z'], // +5:30, seconds and milliseconds
    ['2026-12-01T22:00', 'UTC', '2026-12-01T22:00:00Z'],
    // Clocks go forward: the wall time never happens and moves forward by the gap (02:30 is 03:30).
    ['2026-03-29T02:30', 'Europe/Paris', '2026-03-29T01:30:00Z'], // 03:30 CEST
    ['2026-03-08T02:30', 'America/New_York', '2026-03-08T07:30:00Z'], // 03:30 EDT
    ['2026-10-04T02:30', 'Australia/Sydney', '2026-10-03T16:30:00Z'], // 03:30 AEDT
    // Clocks go back: the wall time happens twice, and its first occurrence is meant.
    ['2026-10-25T02:30', 'Europe/Paris', '2026-10-25T00:30:00Z'], // 02:30 CEST, not CET
    ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00Z'], // 01:30 EDT, not EST
    // Just around the transitions: one instant each.
    ['2026-03-29T01:59', 'Europe/Paris', '2026-03-29T00:59:00Z'],
    ['2026-03-29T03:00', 'Europe/Paris', '2026-03-29T01:00:00Z'],
    ['2026-10-25T03:00', 'Europe/Paris', '2026-10-25T02:00:00Z'],
  ])('%s in %s is %s', (wall, zone, instant) => {
    expect(zonedTimeToEpoch(wall, zone)).toBe(at(instant));
  });

  it('reads a value with an offset as absolute, whatever the zone', () => {
    expect(zonedTimeToEpoch('2026-12-01T22:00:00+02:00', 'America/New_York')).toBe(at('2026-12-01T20:00:00Z'));
    expect(zonedTimeToEpoch('2026-12-01T22:00:00Z', 'Europe/Paris')).toBe(at('2026-12-01T22:00:00Z'));
  });

  it('knows the IANA names and no others', () => {
    expect(['Europe/Paris', 'UTC', 'America/New_York'].map(isTimeZone)).toEqual([true, true, true]);
    expect(['Mars/Olympus', 'CEST+2', ''].map(isTimeZone)).toEqual([false, false, false]);
  });
});
