import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildAgent, type AgentBundle } from '../../scripts/build-agent.ts';
import { REPO_ROOT, runCli, startCli, type CliOptions, type CliProcess, type CliResult } from './cli.ts';

/** The install paths of docs/agent-install.md and the unit file, which tests map into a folder of their own. */
export const INSTALL_PATHS = [
  '/opt/failover-agent',
  '/etc/failover-agent',
  '/var/lib/failover-agent',
  '/usr/local/bin/failover-switch',
] as const;

/** An empty folder standing for the site box's root: outside the repository, no node_modules in or above it. */
export interface InstallRoot {
  readonly root: string;
  /** `path` (one of {@link INSTALL_PATHS} or below) inside the root; /usr/bin/node is this test's Node.js. */
  at(path: string): string;
  /** `text` with every install path replaced by its place inside the root. */
  map(text: string): string;
  /** The bundle, built from the sources now and copied to /opt/failover-agent/failover-agent.mjs. */
  readonly bundle: AgentBundle & { readonly installed: string };
  /** An environment as bare as systemd's: PATH, LANG and HOME only (no NODE_PATH, no NODE_OPTIONS). */
  readonly env: Record<string, string>;
  remove(): Promise<void>;
}

/** Builds the bundle and installs it into a new {@link InstallRoot} under the system's temporary folder. */
export async function installBundle(name: string): Promise<InstallRoot> {
  const root = await mkdtemp(join(tmpdir(), `failover-agent-${name}-`));
  // Like /: others may pass through (the agent may run as a user of its own).
  await chmod(root, 0o755);
  for (let dir = root; ; dir = dirname(dir)) {
    if (await stat(join(dir, 'node_modules')).catch(() => undefined))
      throw new Error(`${dir}/node_modules exists: the bundle could load packages from it`);
    if (dirname(dir) === dir) break;
  }
  if (root.startsWith(REPO_ROOT)) throw new Error(`${root} is inside the repository`);
  const at = (path: string) => (path === '/usr/bin/node' ? process.execPath : join(root, path));
  const map = (text: string) =>
    INSTALL_PATHS.reduce((t, p) => t.replace(new RegExp(`(?<![\\w/.-])${p}(?![\\w.-])`, 'g'), at(p)), text);
  const built = await buildAgent(join(root, 'build', 'failover-agent.mjs'));
  const installed = at('/opt/failover-agent/failover-agent.mjs');
  await mkdir(dirname(installed), { recursive: true });
  await copyFile(built.file, installed);
  await rm(join(root, 'build'), { recursive: true });
  return {
    root,
    at,
    map,
    bundle: { ...built, installed },
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: root },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** Options to run a command of the installed bundle: the bare environment, the root as working directory. */
export function bundleOptions(box: InstallRoot, opts: CliOptions = {}): CliOptions {
  return { baseEnv: box.env, cwd: box.root, command: [process.execPath, box.bundle.installed], ...opts };
}

/** `node failover-agent.mjs ...args` from the install root, to completion. */
export function runBundle(box: InstallRoot, args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return runCli(args, bundleOptions(box, opts));
}

/** `node failover-agent.mjs ...args` from the install root, running. */
export function startBundle(box: InstallRoot, args: readonly string[], opts: CliOptions = {}): CliProcess {
  return startCli(args, bundleOptions(box, opts));
}

/** The unit file's `KEY=value` lines of a section, in order (repeated keys kept). */
export async function unitFile(): Promise<{ text: string; get(section: string, key: string): string[] }> {
  const text = await readFile(join(REPO_ROOT, 'packaging/systemd/failover-agent.service'), 'utf8');
  const entries: { section: string; key: string; value: string }[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) section = header[1]!;
    const entry = /^(\w+)=(.*)$/.exec(line);
    if (entry) entries.push({ section, key: entry[1]!, value: entry[2]! });
  }
  return {
    text,
    get: (s, k) => entries.filter((e) => e.section === s && e.key === k).map((e) => e.value),
  };
}

/** The fenced code blocks of a doc (docs/NAME.md), with their info string. */
export async function docBlocks(name: string): Promise<{ lang: string; text: string }[]> {
  const doc = await readFile(join(REPO_ROOT, 'docs', name), 'utf8');
  const blocks: { lang: string; text: string }[] = [];
  // Blocks inside list items are indented; their lines lose that indentation here.
  const fence = /^( *)```(\w*)\n([\s\S]*?)\n\1```$/gm;
  for (const m of doc.matchAll(fence)) {
    const indent = m[1]!.length;
    blocks.push({ lang: m[2]!, text: m[3]!.replace(new RegExp(`^ {0,${indent}}`, 'gm'), '') });
  }
  return blocks;
}

/** docs/agent-install.md's shell line running the bundle's `subcommand`, as its arguments (before any pipe), mapped. */
export async function docCommand(box: InstallRoot, subcommand: string): Promise<string[]> {
  const lines = (await docBlocks('agent-install.md')).flatMap((b) => b.text.split('\n'));
  const pattern = new RegExp(`^(sudo )?node /opt/failover-agent/failover-agent\\.mjs ${subcommand}( |$)`);
  const line = lines.find((l) => pattern.test(l));
  if (!line)
    throw new Error(`docs/agent-install.md runs no \`node /opt/failover-agent/failover-agent.mjs ${subcommand}\``);
  const argv = line.split('|')[0]!.trim().split(/\s+/);
  return argv.slice(argv.indexOf('node') + 2).map((a) => box.map(a));
}
