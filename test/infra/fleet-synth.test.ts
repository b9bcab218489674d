import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Construct } from 'constructs';
import { readBundledConfig, sliceSite } from '../../shared/config/bundled.ts';
import { CONFIG_FILE, CONFIG_VARIABLE } from '../../infra/constructs/lambda-bundling.ts';
import { fleetConfigYaml } from '../support/fleet-config.ts';
import { removeDirs, synthesizeApp, type Synthesized } from '../support/synth-app.ts';

/**
 * A fleet too large for the configuration to travel on the esbuild command line (a define of it is one argument
 * of several hundred KB; Linux allows 128 KiB): the real app synthesizes, every function carries the compact file
 * beside its bundle, and the probe bundle, imported cold as Lambda would, reads it.
 */

const SITES = 200;
const dirs: string[] = [];
let fleet: Synthesized;

const ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_SERVICE_NAME: 'failover-probe',
  OBSERVATIONS_QUEUE_URL: 'https://sqs.us-east-2.amazonaws.com/123456789012/failover-observations.fifo',
  ROUNDS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/failover-rounds',
};

/** Imports `bundle` in a fresh `node --enable-source-maps`, as Lambda does; resolves its exit code and stderr. */
function importCold(bundle: string, env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const script = `await import(${JSON.stringify(pathToFileURL(bundle).href)});`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--enable-source-maps', '--input-type=module', '-e', script],
      { env: { ...ENV, ...env }, timeout: 60_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'failover-fleet-'));
  dirs.push(dir);
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, fleetConfigYaml({ sites: SITES }));
  fleet = synthesizeApp(file, dirs, 'failover-cdk-fleet-');
}, 120_000);

afterAll(() => removeDirs(dirs));

const assetDirOf = (fn: { Properties: { Code: { S3Key: string } } }) =>
  join(fleet.assembly.directory, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);

describe(`the app of a ${SITES}-site fleet`, () => {
  it('synthesizes with the configuration in a file beside every bundle, not in the bundle', () => {
    expect(fleet.config.sites).toHaveLength(SITES);
    const stacks = [fleet.stacks.control, ...fleet.stacks.probes.values()];
    const functions = stacks.flatMap((s) =>
      Object.values(Template.fromStack(s).findResources('AWS::Lambda::Function')),
    );
    const probes = new Set([...fleet.stacks.probes.values()].map((s) => assetDirOf(functionOf(s, s.probe.function))));
    let carrying = 0;
    for (const fn of functions as { Properties: { Code: { S3Key: string } } }[]) {
      const dir = assetDirOf(fn);
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.length).toBeLessThan(600 * 1024);
      expect(bundle).not.toContain('store-00200');
      expect(bundle).not.toContain(CONFIG_VARIABLE);
      let text: string;
      try {
        text = readFileSync(join(dir, CONFIG_FILE), 'utf8');
      } catch {
        continue;
      }
      carrying++;
      // The probe functions carry their slice (every site's checks and data-plane records); the others everything.
      const slice = probes.has(dir) ? 'probe' : 'all';
      expect((JSON.parse(text) as { index: { slice: string } }).index.slice).toBe(slice);
      expect(readBundledConfig(text, { slice })).toEqual({
        config: { ...fleet.config, sites: fleet.config.sites.map((s) => sliceSite(s, slice)) },
      });
    }
    // All but the webhook worker's and the web pages', which read no configuration.
    expect(carrying).toBe(functions.length - 2);
    // One asset for the probe functions of every region (the same bundle and slice), read by each.
    expect(functions.filter((fn) => probes.has(assetDirOf(fn as never)))).toHaveLength(
      fleet.config.regions.probe.length,
    );
    // What the old define would have put on the command line: far over Linux's 128 KiB for one argument.
    const decider = functionOf(fleet.stacks.control, fleet.stacks.control.decider.function);
    const file = join(assetDirOf(decider), CONFIG_FILE);
    expect(statSync(file).size).toBeGreaterThan(128 * 1024);
  });

  it('imports the probe bundle cold, reading its configuration file, and fails naming the file when it is not there', async () => {
    const dir = assetDirOf(firstProbe());
    expect(await importCold(join(dir, 'index.mjs'))).toEqual({ code: 0, stderr: '' });
    // The decider reads its sites when first used: its cold start reads the index and checks the file.
    const control = fleet.stacks.control;
    const decide = join(assetDirOf(functionOf(control, control.decider.function)), 'index.mjs');
    expect(await importCold(decide, { STATE_TABLE_NAME: 'failover-state' })).toEqual({ code: 0, stderr: '' });

    const bare = mkdtempSync(join(tmpdir(), 'failover-bare-bundle-'));
    dirs.push(bare);
    for (const name of ['index.mjs', 'index.mjs.map']) copyFileSync(join(dir, name), join(bare, name));
    const missing = await importCold(join(bare, 'index.mjs'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`cannot read the bundled configuration ${join(bare, CONFIG_FILE)}`);
  });
});

function firstProbe(): { Properties: { Code: { S3Key: string } } } {
  const stack = fleet.stacks.probes.get('us-east-1')!;
  return functionOf(stack, stack.probe.function);
}

function functionOf(stack: Stack, fn: Construct): { Properties: { Code: { S3Key: string } } } {
  const id = stack.getLogicalId(fn.node.defaultChild as CfnResource);
  return Template.fromStack(stack).findResources('AWS::Lambda::Function')[id] as never;
}
