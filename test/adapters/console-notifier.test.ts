import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { AlertLogError, ConsoleNotifier, jsonlWriteError } from '../../shared/adapters/local/console-notifier.ts';
import { alertIdOf } from '../../shared/domain/alert-id.ts';
import type { AlertAction } from '../../shared/domain/model.ts';
import { TransientError, type FailoverError } from '../../shared/errors.ts';
import { DEGRADED_ALERT, FAILOVER_ALERT } from '../support/alerts.ts';

const SENT_AT = Date.UTC(2026, 0, 1, 0, 2, 14, 0);
const clock = { now: () => SENT_AT };
let dirs = 0;

/** A fresh directory under the run's scratch directory (which the global teardown removes). */
async function scratch(): Promise<string> {
  const dir = join(inject('scratchDir'), `console-notifier-${process.pid}-${++dirs}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function capture() {
  const lines: string[] = [];
  return { lines, out: (line: string) => void lines.push(line) };
}

async function readRecords(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('ConsoleNotifier', () => {
  it('prints one readable line per alert: time, severity, site, subject', async () => {
    const { lines, out } = capture();
    const notifier = new ConsoleNotifier({ out, clock });
    expect(await notifier.notify(FAILOVER_ALERT)).toEqual({ detail: 'printed' });
    await notifier.notify(DEGRADED_ALERT);
    await notifier.notify({ ...DEGRADED_ALERT, id: 'demo:4:1', severity: 'info', suppressed: true });

    expect(lines).toHaveLength(3);
    const time = (at: number) => new Date(at).toTimeString().slice(0, 8);
    expect(lines[0]).toBe(`${time(FAILOVER_ALERT.at)} CRITICAL demo  ${FAILOVER_ALERT.subject}`);
    expect(lines[1]).toBe(`${time(DEGRADED_ALERT.at)} WARNING  demo  ${DEGRADED_ALERT.subject}`);
    expect(lines[2]).toMatch(/^\d\d:\d\d:\d\d INFO {5}demo {2}\[DEGRADED\] .* \(suppressed: recorded only\)$/);
  });

  it('colours the severity when asked, and prints the whole story when verbose', async () => {
    const { lines, out } = capture();
    await new ConsoleNotifier({ out, color: true, verbose: true }).notify(FAILOVER_ALERT);
    expect(lines[0]).toContain('\x1b[1;31mCRITICAL\x1b[0m demo');
    expect(lines.slice(1)).toEqual(FAILOVER_ALERT.body.split('\n').map((line) => `    ${line}`));
  });

  it('keeps a subject with line breaks on one line', async () => {
    const { lines, out } = capture();
    await new ConsoleNotifier({ out }).notify({ ...FAILOVER_ALERT, subject: '[FAILOVER] hq:\nfailover\r\nnow' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ \[FAILOVER\] hq: failover now$/);
  });

  it('appends one JSON object per alert with every field of the alert, its id and sentAt, creating the directory', async () => {
    const path = join(await scratch(), 'deep', 'er', 'alerts.jsonl');
    const { out } = capture();
    const notifier = new ConsoleNotifier({ out, jsonlPath: path, clock });
    expect(await notifier.notify(FAILOVER_ALERT)).toEqual({ detail: `printed and appended to ${path}` });
    await notifier.notify(DEGRADED_ALERT);

    const records = await readRecords(path);
    expect(records).toEqual([
      { ...FAILOVER_ALERT, alertId: 'demo:1:5@2026-01-01T00:02:13.333Z', sentAt: '2026-01-01T00:02:14.000Z' },
      { ...DEGRADED_ALERT, alertId: alertIdOf(DEGRADED_ALERT), sentAt: '2026-01-01T00:02:14.000Z' },
    ]);
    for (const key of Object.keys(FAILOVER_ALERT)) expect(records[0]).toHaveProperty(key);
  });

  it('accumulates in the same file across instances', async () => {
    const path = join(await scratch(), 'alerts.jsonl');
    const { out } = capture();
    await new ConsoleNotifier({ out, jsonlPath: path, clock }).notify(FAILOVER_ALERT);
    await new ConsoleNotifier({ out, jsonlPath: path, clock }).notify(DEGRADED_ALERT);
    await new ConsoleNotifier({ out, jsonlPath: path, clock }).notify({
      ...FAILOVER_ALERT,
      id: 'demo:2:1',
      dedupKey: 'demo:2',
    });
    expect((await readRecords(path)).map((r) => r.dedupKey)).toEqual(['demo:1', 'demo:3', 'demo:2']);
  });

  it('sends an alert once per id: a notifier started again on the file (a restart) neither prints nor writes it', async () => {
    const path = join(await scratch(), 'alerts.jsonl');
    const first = capture();
    await new ConsoleNotifier({ out: first.out, jsonlPath: path, clock }).notify(FAILOVER_ALERT);
    // The dispatcher died before it marked the alert sent: the next one sends it again.
    const second = capture();
    const again = new ConsoleNotifier({ out: second.out, jsonlPath: path, clock });
    expect(await again.notify(FAILOVER_ALERT)).toEqual({
      detail: `alert ${alertIdOf(FAILOVER_ALERT)} was sent before (in ${path}): not again`,
    });
    expect(await again.notify(FAILOVER_ALERT)).toMatchObject({ detail: expect.stringMatching(/not again$/) });
    expect(second.lines).toEqual([]);
    // The same transition of a state that started over (same action id, another time) is another alert.
    await again.notify({ ...FAILOVER_ALERT, at: FAILOVER_ALERT.at + 60_000 });
    expect(second.lines).toHaveLength(1);
    expect((await readRecords(path)).map((r) => r.alertId)).toEqual([
      alertIdOf(FAILOVER_ALERT),
      alertIdOf({ ...FAILOVER_ALERT, at: FAILOVER_ALERT.at + 60_000 }),
    ]);
  });

  it('sees what another writer appended since, and records from before alert ids (id and at)', async () => {
    const path = join(await scratch(), 'alerts.jsonl');
    const { out, lines } = capture();
    const mine = new ConsoleNotifier({ out, jsonlPath: path, clock });
    await mine.notify(DEGRADED_ALERT);
    const { alertId: _, ...old } = { ...FAILOVER_ALERT, alertId: '', sentAt: '2026-01-01T00:02:14.000Z' };
    await writeFile(path, `${JSON.stringify(old)}\n`, { flag: 'a' });
    expect(await mine.notify(FAILOVER_ALERT)).toMatchObject({ detail: expect.stringMatching(/not again$/) });
    expect(lines).toHaveLength(1);
  });

  it('starts on a new line after a line cut short, which counts as no alert', async () => {
    const path = join(await scratch(), 'alerts.jsonl');
    await writeFile(path, `${JSON.stringify({ ...DEGRADED_ALERT, alertId: alertIdOf(DEGRADED_ALERT) })}\n{"kind":"al`);
    const { lines, out } = capture();
    const notifier = new ConsoleNotifier({ out, jsonlPath: path, clock });
    await notifier.notify(DEGRADED_ALERT);
    await notifier.notify(FAILOVER_ALERT);
    await notifier.notify(FAILOVER_ALERT);
    expect(lines).toHaveLength(1);
    const text = await readFile(path, 'utf8');
    expect(text.split('\n').map((l) => l.slice(0, 11))).toEqual(['{"kind":"al', '{"kind":"al', '{"kind":"al', '']);
    expect(JSON.parse(text.split('\n')[2]!)).toMatchObject({ alertId: alertIdOf(FAILOVER_ALERT) });
  });

  it('makes the directory again when it was removed while the notifier ran', async () => {
    const dir = join(await scratch(), 'logs');
    const path = join(dir, 'alerts.jsonl');
    const notifier = new ConsoleNotifier({ out: capture().out, jsonlPath: path, clock });
    await notifier.notify(FAILOVER_ALERT);
    await rm(dir, { recursive: true });
    await notifier.notify(DEGRADED_ALERT);
    expect((await readRecords(path)).map((r) => r.dedupKey)).toEqual(['demo:3']);
  });

  it('never interleaves lines of concurrent writers, even for large alerts', async () => {
    const path = join(await scratch(), 'alerts.jsonl');
    const { out } = capture();
    const writers = [1, 2, 3].map(() => new ConsoleNotifier({ out, jsonlPath: path, clock }));
    const big = (w: number, i: number): AlertAction => ({
      ...FAILOVER_ALERT,
      id: `w${w}:${i}:1`,
      dedupKey: `w${w}:${i}`,
      body: `${String(w).repeat(40_000)}\n${'ü→'.repeat(5_000)}`,
    });
    await Promise.all(writers.flatMap((writer, w) => Array.from({ length: 20 }, (_, i) => writer.notify(big(w, i)))));

    const records = await readRecords(path);
    expect(records).toHaveLength(60);
    expect(new Set(records.map((r) => r.dedupKey)).size).toBe(60);
    for (const record of records) {
      const [w, i] = String(record.dedupKey).slice(1).split(':').map(Number);
      expect(record.body).toBe(big(w!, i!).body);
    }
  });

  it('fails with a permanent error naming the path when the file cannot be written', async () => {
    const dir = await scratch();
    const { lines, out } = capture();
    const onDirectory = await new ConsoleNotifier({ out, jsonlPath: dir }).notify(FAILOVER_ALERT).then(
      () => null,
      (e: unknown) => e,
    );
    expect(onDirectory).toBeInstanceOf(AlertLogError);
    expect(onDirectory).not.toBeInstanceOf(TransientError);
    expect((onDirectory as FailoverError).code).toBe('ALERT_LOG_FAILED');
    expect((onDirectory as Error).message).toBe(
      `cannot record alert demo:1 in ${dir}: EISDIR: the path is a directory`,
    );
    // The person still saw the alert on the console.
    expect(lines).toHaveLength(1);

    const file = join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const underFile = await new ConsoleNotifier({ out, jsonlPath: join(file, 'alerts.jsonl') })
      .notify(FAILOVER_ALERT)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(underFile).toBeInstanceOf(AlertLogError);
    expect((underFile as Error).message).toMatch(
      new RegExp(`^cannot record alert demo:1 in ${file}/alerts\\.jsonl: (ENOTDIR|EEXIST): `),
    );
    expect((underFile as Error).cause).toBeInstanceOf(Error);
    expect(lines).toHaveLength(2); // printed each time, though not recorded
  });

  it.each([
    ['EBUSY', TransientError],
    ['EAGAIN', TransientError],
    ['EMFILE', TransientError],
    ['EACCES', AlertLogError],
    ['ENOSPC', AlertLogError],
    ['EROFS', AlertLogError],
  ])('maps a write error %s to %O', (code, type) => {
    const cause = Object.assign(new Error(`${code}: failed, open '/var/x.jsonl'`), { code });
    const error = jsonlWriteError(cause, '/var/x.jsonl', 'hq:7');
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(new RegExp(`^cannot record alert hq:7 in /var/x\\.jsonl: ${code}`));
    expect(error.cause).toBe(cause);
  });
});
