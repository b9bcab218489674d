import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../shared/config/load.ts';
import type { FailoverConfig } from '../../shared/config/model.ts';
import { REPO_ROOT } from './cli.ts';
import { freePorts } from './ports.ts';

/** A copy of examples/demo.yaml whose demo targets (and the checks aimed at them) use free loopback ports. */
export interface DemoConfig {
  /** The YAML text. */
  readonly text: string;
  /** The validated configuration. */
  readonly config: FailoverConfig;
  /** New port of each demo target, by target id (control, primary, backup, pbx, voice). */
  readonly ports: Readonly<Record<string, number>>;
}

/** Changes to the demo copy. */
export interface DemoConfigOptions {
  /**
   * The HTTP checks' latency budget instead of the demo's 500 ms, for tests that expect `up` on a loaded machine,
   * where a first request can take longer and read as `degraded`.
   */
  readonly latencyBudgetMs?: number;
}

/**
 * examples/demo.yaml with every demo target port replaced by a free one, everywhere it appears (the targets, the
 * checks' URLs and ports, the control check), so that tests run beside each other and beside a running demo.
 */
export async function demoConfigOnFreePorts(options: DemoConfigOptions = {}): Promise<DemoConfig> {
  let original = await readFile(join(REPO_ROOT, 'examples/demo.yaml'), 'utf8');
  if (options.latencyBudgetMs !== undefined) {
    original = original.replaceAll('latencyBudgetMs: 500', `latencyBudgetMs: ${options.latencyBudgetMs}`);
  }
  const parsed = parseConfig(original).config;
  if (!parsed) throw new Error('examples/demo.yaml is not valid');
  const targets = parsed.local.demoTargets;
  const fresh = await freePorts(targets.length);
  let text = original;
  const ports: Record<string, number> = {};
  targets.forEach((t, i) => {
    ports[t.id] = fresh[i]!;
    text = text.replace(new RegExp(`(?<![\\d.])${t.port}(?!\\d)`, 'g'), String(fresh[i]));
  });
  const config = parseConfig(text).config;
  if (!config) throw new Error('the demo copy is not valid');
  return { text, config, ports };
}

/** Writes {@link demoConfigOnFreePorts} to `dir/demo.yaml`; resolves the file and the config. */
export async function writeDemoConfig(
  dir: string,
  options: DemoConfigOptions = {},
): Promise<DemoConfig & { readonly file: string }> {
  const demo = await demoConfigOnFreePorts(options);
  const file = join(dir, 'demo.yaml');
  await writeFile(file, demo.text);
  return { ...demo, file };
}
