import { build } from 'esbuild';
import { esbuildOptionsOf, LAMBDA_BUNDLING } from '../../infra/constructs/lambda-bundling.ts';
const [name, ...mods] = process.argv.slice(2);
const src = mods.map((m) => `export * as m${mods.indexOf(m)} from '${m}';`).join('\n');
const r = await build({ ...esbuildOptionsOf(LAMBDA_BUNDLING), absWorkingDir: process.cwd(), stdin: { contents: src, resolveDir: process.cwd(), loader: 'ts' }, outfile: `/tmp/i15/${name}.mjs`, metafile: true, logLevel: 'error' });
console.log(name, Object.values(r.metafile!.outputs).find((o) => o.entryPoint || o.bytes > 1000)!.bytes);
