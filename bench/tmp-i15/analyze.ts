import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { configDefine, esbuildOptionsOf, LAMBDA_BUNDLING, LAMBDA_ENTRIES } from '../../infra/constructs/lambda-bundling.ts';
import { DEFAULT_CONFIG_FILE } from '../../infra/config.ts';
import { configJsonOf } from '../../shared/config/load.ts';
const REPO = process.cwd() + '/';
const yaml = await readFile(REPO + DEFAULT_CONFIG_FILE, 'utf8');
const which = (process.argv[2] ?? 'dispatch') as keyof typeof LAMBDA_ENTRIES;
await build({ ...esbuildOptionsOf({ ...LAMBDA_BUNDLING, define: configDefine(configJsonOf(yaml).json) }), absWorkingDir: REPO, entryPoints: [REPO + LAMBDA_ENTRIES[which]], outfile: '/tmp/i15/' + which + '.mjs', logLevel: 'error' });
