import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfig } from '../../shared/config/load.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'failover-app-entry-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs infra/app.ts as the CDK CLI would (context through CDK_CONTEXT_JSON); never rejects. */
async function runApp(configFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const outdir = mkdtempSync(join(dir, 'out-'));
  const env = { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: configFile }), CDK_OUTDIR: outdir };
  try {
    const { stdout, stderr } = await run('node_modules/.bin/tsx', ['infra/app.ts'], { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('infra/app.ts', () => {
  it('refuses an invalid configuration: every diagnostic on stderr, exit 1, no stack trace, nothing synthesized', async () => {
    const file = join(dir, 'bad.yaml');
    const text = `version: 1
regions: { probe: [eu-west-1, eu-west-1], control: mars-1 }
sites:
  - id: hq
    links: [{ id: fiber, role: primary, address: 192.0.2.1 }]
`;
    writeFileSync(file, text);
    const { diagnostics } = parseConfig(text);
    expect(diagnostics.length).toBeGreaterThanOrEqual(3);

    const result = await runApp(file);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}: ${diagnostics.length} problem(s)`);
    for (const d of diagnostics) expect(result.stderr).toContain(formatDiagnostic(d));
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(readdirSync(dir).flatMap((d) => (d.startsWith('out-') ? readdirSync(join(dir, d)) : []))).toEqual([]);
  });

  it('names a configuration file that cannot be read', async () => {
    const result = await runApp(join(dir, 'missing.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot read ${join(dir, 'missing.yaml')}: no such file`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
