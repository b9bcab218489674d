import { describe, expect, it } from 'vitest';
import { alertTexts, clipText, isGsm7Basic, smsText, toAscii } from '../../shared/domain/alert-text.ts';
import { FAILOVER_ALERT } from '../support/alerts.ts';

describe('alert text helpers', () => {
  it.each([
    ['Zürich Süd → Genève', 'Zurich Sud -> Geneve'],
    ['“quoted” ‘single’ – em—dash … ½ ﬁ ™', '"quoted" \'single\' - em-dash ... 1/2 fi TM'],
    ['Straße Ærø Łódź', 'Strasse AEro Lodz'],
    ['a\u00a0b\u200bc\u202ed', 'a bcd'],
    ['tab\tand\nnewline\u0007bell', 'tab\tand\nnewline bell'],
    ['東京 office 🔥🔥 up', '? office ? up'],
  ])('toAscii(%j) = %j', (input, expected) => {
    expect(toAscii(input)).toBe(expected);
  });

  it('clipText counts code points and never splits a surrogate pair', () => {
    const emoji = '🚨'.repeat(50);
    const clipped = clipText(emoji, 10);
    expect([...clipped]).toHaveLength(10);
    expect(clipped).toBe(`${'🚨'.repeat(7)}...`);
    expect(clipText('short', 10)).toBe('short');
  });

  it('smsText is GSM-7 basic and keeps the closing time when it must cut', () => {
    const sms = smsText(`hq FAILOVER: ${'fiber → lte, '.repeat(20)}(03:12Z)`);
    expect(sms.length).toBeLessThanOrEqual(139);
    expect(sms).toMatch(/^hq FAILOVER: fiber -> lte, .*\.\.\. \(03:12Z\)$/);
    expect(isGsm7Basic(sms)).toBe(true);
    expect(isGsm7Basic('plain text @ $5 _under_')).toBe(true);
    expect(isGsm7Basic('back`tick')).toBe(false);
    expect(isGsm7Basic('arrow →')).toBe(false);
  });

  it('alertTexts renders the four texts of a real alert', () => {
    const texts = alertTexts(FAILOVER_ALERT);
    expect(texts.subject).toBe(FAILOVER_ALERT.subject);
    expect(texts.sms).toBe(FAILOVER_ALERT.short);
    expect(texts.default.split('\n')).toEqual([
      FAILOVER_ALERT.short,
      'Failing over from fiber (primary) to lte (backup): fiber (primary) is down; lte (backup) is up.',
    ]);
    expect(texts.email.split('\n').slice(0, 3)).toEqual([
      'CRITICAL | failover | site demo | 2026-01-01T00:02:13.333Z',
      '',
      'Demo office (demo) at 2026-01-01T00:02:13.333Z',
    ]);
  });
});
