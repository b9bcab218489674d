import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where `npm run build:agent` (and `npm install`, through `prepare`) writes the bundle. */
export const AGENT_BUNDLE = join(REPO_ROOT, 'dist/failover-agent.mjs');
/** The oldest Node.js major the bundle runs on; it refuses to start on an older one. */
export const AGENT_NODE_MAJOR = 20;

/** A package inside the bundle, as its package.json names it. */
export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
}

/** What {@link buildAgent} wrote. */
export interface AgentBundle {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly version: string;
  readonly packages: readonly BundledPackage[];
  /** What the bundle imports at run time (each a Node.js built-in module, or the build fails). */
  readonly runtimeImports: readonly string[];
}

/**
 * Bundles the site agent (cli/agent-main.ts: `run`, `keygen`, `--version`) and its dependencies into one ES module
 * that needs nothing but Node.js. The same sources give the same bytes: no paths, times or hashes of the build
 * machine go in.
 */
export async function buildAgent(outfile: string = AGENT_BUNDLE): Promise<AgentBundle> {
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ['cli/agent-main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${AGENT_NODE_MAJOR}`,
    // Whitespace and syntax only: names stay readable in the stack trace of a bug report.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    charset: 'utf8',
    define: {
      FAILOVER_VERSION: JSON.stringify(version),
      // ws's optional native add-ons: never looked for, so nothing outside the file is ever loaded.
      'process.env.WS_NO_BUFFER_UTIL': '"1"',
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    },
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  const runtimeImports = [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))].sort();
  const foreign = runtimeImports.filter((path) => !isBuiltin(path));
  if (foreign.length > 0) throw new Error(`the agent bundle would load ${foreign.join(', ')} from disk at run time`);
  const packages = await bundledPackages(Object.keys(result.metafile.inputs));
  const bytes = Buffer.concat([Buffer.from(`${banner(version, packages)}\n`), result.outputFiles[0]!.contents]);
  await mkdir(dirname(outfile), { recursive: true });
  await writeFile(outfile, bytes);
  return {
    file: outfile,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    version,
    packages,
    runtimeImports,
  };
}

function banner(version: string, packages: readonly BundledPackage[]): string {
  const list = packages.map((p) => `${p.name} ${p.version} (${p.license})`).join(', ');
  return [
    '#!/usr/bin/env node',
    `// failover-agent ${version}: the failover site agent in one file (docs/agent-install.md). Node.js >= ${AGENT_NODE_MAJOR}.`,
    `// Bundled packages: ${list}.`,
    // The CommonJS packages inside (ws) require Node's built-ins; an ES module has no require of its own.
    "import { createRequire as __failoverCreateRequire } from 'node:module';",
    'const require = __failoverCreateRequire(import.meta.url);',
    `if (Number(process.versions.node.split('.')[0]) < ${AGENT_NODE_MAJOR}) {`,
    `  console.error(\`failover-agent needs Node.js ${AGENT_NODE_MAJOR} or later; \${process.execPath} is \${process.version}\`);`,
    '  process.exit(2);',
    '}',
  ].join('\n');
}

/** The packages (name, version, license) whose files are among esbuild's inputs, sorted by name. */
async function bundledPackages(inputs: readonly string[]): Promise<BundledPackage[]> {
  const roots = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) roots.add(match[1]!);
  }
  const packages = await Promise.all(
    [...roots].map(async (root) => {
      const pkg = JSON.parse(await readFile(join(REPO_ROOT, root, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
        license?: string;
      };
      return { name: pkg.name, version: pkg.version, license: pkg.license ?? 'see its package' };
    }),
  );
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outfile = process.argv[2] ?? AGENT_BUNDLE;
  const bundle = await buildAgent(outfile);
  console.log(
    `${relative(process.cwd(), bundle.file) || bundle.file}: ${(bundle.bytes / 1024).toFixed(0)} KiB (${bundle.bytes} bytes), sha256 ${bundle.sha256}`,
  );
  console.log(`  failover-agent ${bundle.version}; bundled: ${bundle.packages.map((p) => p.name).join(', ')}`);
}
